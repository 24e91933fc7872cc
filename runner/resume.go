package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/journal"
)

// This file is --resume: a stopped run goes on from its journal. The journal's first event
// holds the hashes of everything the run read; a resumed run refuses to go on when any of
// them changed (unless forced), restores the registered values and facts of the tasks that
// finished and the notifications their handlers had not answered yet, and starts each host at
// its own first unfinished task.

// resumeState is what a stopped run's journal says the resumed run goes on from.
type resumeState struct {
	journal string
	// start is, per host, the task it starts at: at (the task at pos runs again) or after it.
	start map[string]resumePoint
	// facts are the registered values and facts to restore, per host.
	facts map[string]map[string]any
	// notified are, per host, the handlers (by name) notified and not run yet.
	notified map[string][]string
}

// resumePoint is where one host goes on: the task at pos, or the one after it.
type resumePoint struct {
	pos   string
	after bool
}

// inputHashes hashes what the run reads: the playbook and every file its plays read, roles
// (whole directories: templates and files too), vars files, templates, the inventories
// (with group_vars/ and host_vars/ beside them and beside the playbook) and the extra vars.
func (p *plan) inputHashes() map[string]string {
	files := map[string]bool{}
	add := func(path string) {
		if path == "" {
			return
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		files[path] = true
	}
	addTree := func(dir string) {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				add(path)
			}
			return nil
		})
	}
	add(p.pb.File)
	for _, pp := range p.plays {
		walkTasks(pp.tasks, func(tp *taskPlan) { add(tp.t.Pos.File) })
		walkTasks(pp.handlers, func(tp *taskPlan) { add(tp.t.Pos.File) })
		for _, role := range pp.play.Roles {
			addTree(role.Path)
		}
		for path := range pp.varsFiles {
			add(path)
		}
	}
	p.templateTexts.Range(func(k, _ any) bool { add(k.(string)); return true })
	dirs := []string{p.baseDir}
	for _, inv := range p.opts.Inventories {
		if st, err := os.Stat(inv); err == nil && st.IsDir() {
			addTree(inv)
			continue
		}
		add(inv)
		dirs = append(dirs, filepath.Dir(inv))
	}
	for _, d := range dirs {
		addTree(filepath.Join(d, "group_vars"))
		addTree(filepath.Join(d, "host_vars"))
	}
	out := make(map[string]string, len(files)+1)
	for path := range files {
		out[path] = fileHash(path)
	}
	// The extra vars with their secrets masked: the journal must not hold a hash a weak
	// password could be guessed back from (a secret changed since does not stop a resume).
	masked := make([]string, len(p.opts.ExtraVars))
	for i, e := range p.opts.ExtraVars {
		masked[i] = p.secrets.Mask(e)
	}
	sum := sha256.Sum256([]byte(strings.Join(masked, "\x00")))
	out["-e"] = hex.EncodeToString(sum[:])
	return out
}

// fileHash is a file's sha256, or what keeps it from being read.
func fileHash(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable: " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// walkTasks calls f for every module task, blocks and included files walked into.
func walkTasks(tps []*taskPlan, f func(*taskPlan)) {
	for _, tp := range tps {
		if tp.t.IsBlock() {
			walkTasks(tp.block, f)
			walkTasks(tp.rescue, f)
			walkTasks(tp.always, f)
			continue
		}
		f(tp)
	}
}

// inputChanges lists how now differs from the recorded hashes, "" when it does not.
func inputChanges(recorded, now map[string]string) string {
	var out []string
	for path, h := range recorded {
		switch nh, ok := now[path]; {
		case !ok:
			out = append(out, path+" is no longer read")
		case nh != h:
			if path == "-e" {
				out = append(out, "the extra vars (-e) differ")
			} else {
				out = append(out, path+" changed")
			}
		}
	}
	for path := range now {
		if _, ok := recorded[path]; !ok {
			out = append(out, path+" is read now and was not then")
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// loadResume reads the journal a resume names and checks the run may go on from it.
func (p *plan) loadResume() error {
	dir := p.opts.JournalDir
	if dir == "" {
		dir = journal.DefaultDir(p.opts.Playbook)
	}
	path, err := journal.Find(dir, p.opts.Playbook, p.opts.Resume)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	defer f.Close()
	evs, err := journal.ReadEvents(f)
	if err != nil {
		return fmt.Errorf("--resume %s: %w", path, err)
	}
	if len(evs) == 0 || evs[0].Kind != events.RunStart || evs[0].Inputs == nil {
		return fmt.Errorf("--resume %s: the journal does not start with the run's inputs (a journal of an older omsbook cannot be resumed: use --start-at-task)", path)
	}
	if diff := inputChanges(evs[0].Inputs, p.inputHashes()); diff != "" {
		if !p.opts.Force {
			return fmt.Errorf("--resume %s: what the run read has changed since: %s (rerun the whole playbook, or add --force to go on anyway)", path, diff)
		}
		p.warnings = append(p.warnings, "--force: resuming although what the run read has changed since: "+diff)
	}
	p.resume = p.resumeFrom(path, evs)
	return nil
}

// resumeFrom works out, from a stopped run's events, where each host goes on and what it
// had: the last task a host has a result of runs again unless it finished there, registered
// values and facts come back, and so do notifications no handler answered yet.
func (p *plan) resumeFrom(path string, evs []events.Event) *resumeState {
	byPos := map[string]*taskPlan{}
	for _, pp := range p.plays {
		walkTasks(pp.tasks, func(tp *taskPlan) { byPos[tp.t.Pos.String()] = tp })
	}
	st := &resumeState{journal: path, start: map[string]resumePoint{}, facts: map[string]map[string]any{}, notified: map[string][]string{}}
	items := map[string][]any{} // host + pos -> a loop's item results
	handler := false
	set := func(host, k string, v any) {
		if st.facts[host] == nil {
			st.facts[host] = map[string]any{}
		}
		st.facts[host][k] = v
	}
	for _, e := range evs {
		switch e.Kind {
		case events.TaskStart:
			handler = e.Handler
		case events.HostResult:
			if e.Host == "" || e.Status == events.Included {
				continue
			}
			if handler {
				st.notified[e.Host] = without(st.notified[e.Host], handlerName(e.Task))
				continue
			}
			tp := byPos[e.Pos]
			done := e.Item == nil && (e.Status == events.OK || e.Status == events.Changed || e.Status == events.Skipped || e.Status == events.Ignored)
			st.start[e.Host] = resumePoint{pos: e.Pos, after: done}
			if tp == nil {
				continue
			}
			if e.Item != nil {
				items[e.Host+"\x00"+e.Pos] = append(items[e.Host+"\x00"+e.Pos], e.Result)
			}
			reg := e.Result
			if e.Item == nil && items[e.Host+"\x00"+e.Pos] != nil {
				reg = map[string]any{"changed": e.Status == events.Changed, "failed": e.Status == events.Failed, "skipped": false, "msg": e.Msg, "results": items[e.Host+"\x00"+e.Pos]}
			}
			if tp.t.Register != "" && reg != nil {
				set(e.Host, tp.t.Register, reg)
			}
			if facts, ok := e.Result["ansible_facts"].(map[string]any); ok && e.Item == nil {
				for k, v := range facts {
					set(e.Host, k, v)
				}
			}
			if e.Status == events.Changed {
				for _, h := range tp.notify {
					if !contains(st.notified[e.Host], h.t.Name) {
						st.notified[e.Host] = append(st.notified[e.Host], h.t.Name)
					}
				}
			}
		}
	}
	// A loop whose last item finished but had no summary finished as a whole.
	for host, pt := range st.start {
		if loopItemsAllGood(evs, host, pt.pos) {
			st.start[host] = resumePoint{pos: pt.pos, after: true}
		}
	}
	return st
}

// loopItemsAllGood reports whether a host's results of the task at pos are all items, none
// failed, and the run went on to another task after them (so the loop ended).
func loopItemsAllGood(evs []events.Event, host, pos string) bool {
	seen, later := false, false
	for _, e := range evs {
		if e.Kind != events.HostResult || e.Host != host {
			continue
		}
		if e.Pos != pos {
			if seen {
				later = true
			}
			continue
		}
		if e.Item == nil || e.Status == events.Failed || e.Status == events.Unreachable {
			return false
		}
		seen = true
	}
	return seen && later
}

// handlerName is a handler's name from its shown title.
func handlerName(title string) string {
	if i := strings.LastIndex(title, " : "); i >= 0 {
		return title[i+3:]
	}
	return title
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, e := range list {
		if e != s {
			out = append(out, e)
		}
	}
	return out
}

// resumeHosts filters the hosts a task runs on in a resumed run: a host runs nothing before
// the task it goes on from. Handlers and the fact gathering always run. r.mu is held.
func (r *run) resumeHosts(tp *taskPlan, hosts []*hostRun) []*hostRun {
	rs := r.p.resume
	if rs == nil || tp.handler || tp.t.Implicit {
		return hosts
	}
	pos := tp.t.Pos.String()
	var out []*hostRun
	for _, hr := range hosts {
		pt, stopped := rs.start[hr.name]
		switch {
		case !stopped || r.reached[hr.name]:
			out = append(out, hr)
		case pt.pos == pos:
			// The host is back where it stopped: the handlers its tasks had notified are
			// owed again, at the end of this section.
			r.reached[hr.name] = true
			r.restoreNotified(r.currentPlay, hr)
			if !pt.after {
				out = append(out, hr)
			}
		}
	}
	return out
}

// restoreResumed gives the hosts what the stopped run had left them: registered values,
// facts and pending notifications.
func (r *run) restoreResumed() {
	rs := r.p.resume
	if rs == nil {
		return
	}
	for host, facts := range rs.facts {
		f := r.facts[host]
		if f == nil {
			f = map[string]any{}
			r.facts[host] = f
		}
		for k, v := range facts {
			f[k] = v
			if hv, ok := r.hostvars[host].(map[string]any); ok {
				hv[k] = v
			}
		}
	}
}

// restoreNotified marks the handlers a host's stopped run had notified and not run.
func (r *run) restoreNotified(pp *playPlan, hr *hostRun) {
	rs := r.p.resume
	if rs == nil {
		return
	}
	for _, name := range rs.notified[hr.name] {
		for _, h := range handlersFor(pp.handlers, name) {
			if hr.notified == nil {
				hr.notified = map[*taskPlan]bool{}
			}
			hr.notified[h] = true
		}
	}
}
