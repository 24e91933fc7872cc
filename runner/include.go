package runner

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

// This file is include_tasks, as Ansible runs it: the include is a task of its own, whose
// when is evaluated once per host (its tasks do not inherit it) and whose tags select the
// include only; a loop runs the file once per item, with the loop variable set for its tasks;
// the file's name may be a template, rendered per host and item. A file whose name is known
// at load is read and checked then, for every host; one known only at run time is read,
// planned and checked when first met.

// includePlan is what an include_tasks task runs.
type includePlan struct {
	pl    *playbook.Play
	pp    *playPlan
	chain []*playbook.Task // for the included tasks: the enclosing blocks, the include, apply
	tags  []string         // the included tasks inherit these (not the include's own)
	dir   string           // a relative file name is relative to this

	mu    sync.Mutex
	files map[string]*includedFile // by path
}

// includedFile is one file an include ran or will run, planned once.
type includedFile struct {
	tasks []*taskPlan
	err   error
}

// planInclude plans an include_tasks task: its own settings (when, loop, vars) and, when its
// file is named without a template, the file's tasks.
func (p *plan) planInclude(pl *playbook.Play, tp *taskPlan, inherited []string, chain []*playbook.Task) error {
	t := tp.t
	var err error
	if tp.set, err = resolveSettings(pl, chain, t); err != nil {
		return err
	}
	tp.selected = tagSelected(tp.tags, p.opts.Tags, p.opts.SkipTags)
	// The included tasks see the include's vars and other keywords, but neither its when
	// (evaluated once, here) nor its tags, loop or name.
	own := *t
	own.When, own.Tags, own.Loop, own.Name = nil, nil, nil, ""
	inner := append(append([]*playbook.Task(nil), chain...), &own)
	tags := inherited
	if a := t.Include.Apply; a != nil {
		inner = append(inner, a)
		tags = mergeTags(tags, a.Tags)
	}
	tp.include = &includePlan{pl: pl, pp: p.planning[pl], chain: inner, tags: tags, dir: t.Include.Dir, files: map[string]*includedFile{}}
	if t.IncludeTasks != "" {
		f := &includedFile{}
		f.tasks, f.err = p.planTasks(pl, t.Block, tags, inner)
		if f.err != nil {
			return f.err
		}
		tp.include.files[t.IncludeTasks] = f
		tp.block = f.tasks
	}
	return nil
}

// includePath renders the include's file name for a host (and item) to a path.
func (ip *includePlan) includePath(name any, vars map[string]any) (string, error) {
	s, err := tmpl.RenderString(fmt.Sprint(name), vars)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("the file name renders empty")
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(ip.dir, s)
	}
	return filepath.Clean(s), nil
}

// fileTasks gives the planned tasks of one included file, reading and planning it the first
// time; check, when not nil, checks them for the host it is called for.
func (p *plan) fileTasks(tp *taskPlan, path string) *includedFile {
	ip := tp.include
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if f, ok := ip.files[path]; ok {
		return f
	}
	f := &includedFile{}
	ts, err := playbook.LoadTaskFile(tp.t.Include.File.Pos, path, p.playbookOptions())
	if err == nil {
		f.tasks, err = p.planTasks(ip.pl, ts, ip.tags, ip.chain)
	}
	if err == nil {
		err = resolveNotifyIn(ip.pp, f.tasks)
	}
	f.err = err
	ip.files[path] = f
	return f
}

// inclusion is what an include runs on one host: a file's tasks with the item's variables.
type inclusion struct {
	file  *includedFile
	path  string
	scope map[string]any // the loop variable (and index) for the file's tasks
}

// runInclude runs an include_tasks task on hosts: its when once per host, then each item's
// file on the hosts that include it, item after item.
func (r *run) runInclude(pc *playCtx, tp *taskPlan, hosts []*hostRun, bc blockCtx) {
	if !tp.selected {
		return
	}
	pc.taskTitle = shownName(tp.name, hosts)
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started {
		r.em.emit(events.Event{Kind: events.TaskStart, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String()})
	}
	per := map[*hostRun][]inclusion{}
	most := 0
	for _, hr := range hosts {
		incs, res := r.inclusions(tp, hr)
		if res != nil {
			if started || res.failed {
				r.emitResult(events.Event{Kind: events.HostResult, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String(), Host: hr.name}, tp, res, nil)
				r.record(tp, hr, res, bc, true)
			}
			continue
		}
		for _, inc := range incs {
			if started {
				r.em.emit(events.Event{Kind: events.HostResult, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String(), Host: hr.name, Status: events.Included, Msg: inc.path})
			}
		}
		per[hr] = incs
		most = max(most, len(incs))
	}
	for i := 0; i < most && !r.shouldStop(); i++ {
		r.runIteration(pc, hosts, per, i, bc)
	}
}

// runIteration runs item i of the include on every host that has one, the hosts that include
// the same file together, in the order the files first come.
func (r *run) runIteration(pc *playCtx, hosts []*hostRun, per map[*hostRun][]inclusion, i int, bc blockCtx) {
	var order []string
	groups := map[string][]*hostRun{}
	files := map[string]*includedFile{}
	for _, hr := range hosts {
		incs := per[hr]
		if i >= len(incs) || hr.failed || hr.unreachable {
			continue
		}
		inc := incs[i]
		if _, ok := groups[inc.path]; !ok {
			order = append(order, inc.path)
		}
		groups[inc.path] = append(groups[inc.path], hr)
		files[inc.path] = inc.file
		hr.scopes = append(hr.scopes, inc.scope)
	}
	for _, path := range order {
		r.runList(pc, files[path].tasks, groups[path], bc)
	}
	for _, path := range order {
		for _, hr := range groups[path] {
			hr.scopes = hr.scopes[:len(hr.scopes)-1]
		}
	}
}

// inclusions works out what the include runs on one host: nothing when its when is false
// (a skipped result), else one file per item. A result that is not nil is the include's
// result on the host (skipped, or failed: a name that does not render, a file that does not
// load).
func (r *run) inclusions(tp *taskPlan, hr *hostRun) ([]inclusion, *result) {
	vars, err := r.taskVars(tp, hr)
	if err != nil {
		return nil, failure(&tp.set, err.Error())
	}
	for _, v := range tp.set.valuesOf("when") {
		ok, err := tmpl.Truth(v.prog, vars)
		if err != nil {
			return nil, failure(&tp.set, fmt.Sprintf("%s: when: %v", v.val.Pos, err))
		}
		if !ok {
			return nil, &result{skipped: true, skipReason: "condition false: " + v.prog.Source}
		}
	}
	items := []any{nil}
	loop, looped := tp.set.loopValue()
	if looped {
		if items, err = loopItems(loop, vars); err != nil {
			return nil, failure(&tp.set, err.Error())
		}
	}
	var out []inclusion
	for i := range items {
		scope := map[string]any{}
		ivars := vars
		if looped {
			scope = tp.itemVars(items, i)
			ivars = copyMap(vars, len(scope))
			for k, v := range scope {
				ivars[k] = v
			}
		}
		path, err := tp.include.includePath(tp.t.Include.File.V, ivars)
		if err != nil {
			return nil, failure(&tp.set, fmt.Sprintf("%s: %s: %v", tp.t.Include.File.Pos, tp.t.Include.Keyword, err))
		}
		f := r.p.fileTasks(tp, path)
		if f.err != nil {
			return nil, failure(&tp.set, f.err.Error())
		}
		out = append(out, inclusion{file: f, path: path, scope: scope})
	}
	return out, nil
}

// checkInclude checks an include_tasks task for one host before the first connection: its
// own keywords, then the tasks of every file it would include there, with the loop variable
// known at run time only. A file name that needs run-time values is read when the task runs.
func (p *plan) checkInclude(tp *taskPlan, hc *hostCheck) error {
	if !tp.selected {
		return nil
	}
	if err := p.checkTask(tp, hc); err != nil {
		return err
	}
	inner := &hostCheck{h: hc.h, vars: hc.vars, lazy: hc.lazy}
	_, looped := tp.set.loopValue()
	if looped {
		inner.lazy = copyBoolMap(hc.lazy)
		inner.lazy[tp.loopVar] = true
	}
	if tp.t.IncludeTasks != "" {
		return p.checkTasks(tp.block, inner)
	}
	c := &checker{p: p, tp: tp, host: hc.h.Name, vars: hc.vars, lazy: hc.lazy}
	name := tp.t.Include.File
	deferred, err := c.classifyValue(name.V, looped)
	if err != nil {
		return c.taskError(name.Pos, hc.h.Name, tp.t.Include.Keyword+": "+err.Error(), fixFor(err), err)
	}
	if deferred {
		return nil // the name needs run-time values: read and checked when the task runs
	}
	path, err := tp.include.includePath(name.V, hc.vars)
	if err != nil {
		return c.taskError(name.Pos, hc.h.Name, tp.t.Include.Keyword+": "+err.Error(), fixFor(err), err)
	}
	f := p.fileTasks(tp, path)
	if f.err != nil {
		return f.err
	}
	return p.checkTasks(f.tasks, inner)
}
