package runner

import (
	"sort"

	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

// This file is what listings and output titles show: the hosts and tasks of the plan
// (list-hosts, list-tasks, inventory) and the rendered names of plays and tasks.

// hosts lists, per play, the hosts it would run on.
func (p *plan) hosts() map[string][]HostInfo {
	out := map[string][]HostInfo{}
	for _, pp := range p.plays {
		infos := make([]HostInfo, 0, len(pp.hosts))
		for _, h := range pp.hosts {
			infos = append(infos, HostInfo{Name: h.Name, Region: h.Region, Vars: p.maskedVars(p.baseVars[h.Name])})
		}
		out[pp.play.Name] = infos
	}
	return out
}

// maskedVars copies vars without the magic variables that hold every host, secrets masked.
func (p *plan) maskedVars(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		if k == "hostvars" || k == "groups" {
			continue
		}
		out[k] = p.secrets.MaskValue(v)
	}
	return out
}

// tasks lists the selected tasks in order.
func (p *plan) tasks() []TaskInfo {
	var out []TaskInfo
	var walk func(pl *playbook.Play, ts []*taskPlan)
	walk = func(pl *playbook.Play, ts []*taskPlan) {
		for _, tp := range ts {
			if tp.t.IsBlock() {
				walk(pl, tp.block)
				walk(pl, tp.rescue)
				walk(pl, tp.always)
				continue
			}
			if !tp.selected || tp.t.Implicit {
				continue
			}
			tags := append([]string(nil), tp.tags...)
			sort.Strings(tags)
			out = append(out, TaskInfo{Play: pl.Name, Name: tp.name, Pos: tp.t.Pos.String(), Tags: tags})
		}
	}
	for _, pp := range p.plays {
		walk(pp.play, pp.tasks)
	}
	return out
}

// playTitle is how output names a play: its name, or for a play without one its hosts pattern,
// as ansible-playbook shows "PLAY [all]".
func playTitle(pl *playbook.Play) string {
	if pl.Name != "" {
		return pl.Name
	}
	return pl.Hosts
}

// playShownName is the play's title with a template in it rendered against the play's vars
// and the extra vars, as ansible-playbook renders "PLAY [upgrade to {{ version }}]"; one that
// does not render (it names host variables) stays as written.
func (r *run) playShownName(pl *playbook.Play) string {
	title := playTitle(pl)
	if !tmpl.IsTemplate(title) {
		return title
	}
	vars := make(map[string]any, len(pl.Vars)+len(r.p.extra))
	for k, v := range pl.Vars {
		vars[k] = normalize(v.V)
	}
	for k, v := range r.p.extra {
		vars[k] = v
	}
	out, err := tmpl.RenderString(title, vars)
	if err != nil {
		return title
	}
	return out
}

// shownName is a task's name with a template in it rendered against the variables of the
// first host it runs on, as ansible-playbook titles "TASK [stop {{ name }}]"; a name that does
// not render (it uses the loop variable, or a name set later) stays as written. Only output
// shows it: --start-at-task and the resume hint use the name as written.
func shownName(name string, hosts []*hostRun) string {
	if !tmpl.IsTemplate(name) || len(hosts) == 0 {
		return name
	}
	out, err := tmpl.RenderString(name, hosts[0].vars)
	if err != nil {
		return name
	}
	return out
}

// taskTitle is a task's name as output shows it: rendered against the first host's variables
// for the task (an include's loop variable and vars, the task's own vars among them).
func (r *run) taskTitle(tp *taskPlan, hosts []*hostRun) string {
	if !tmpl.IsTemplate(tp.name) || len(hosts) == 0 {
		return tp.name
	}
	vars, err := r.taskVars(tp, hosts[0])
	if err != nil {
		vars = hosts[0].vars
	}
	out, err := tmpl.RenderString(tp.name, vars)
	if err != nil {
		return tp.name
	}
	return out
}
