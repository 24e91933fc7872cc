package runner

import (
	"fmt"
	"math"
	"sync"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/playbook"
)

// This file is the strategy: plays one after the other, each in serial batches, each batch
// running its tasks in order (linear: a task ends on every host before the next starts), a
// task on at most forks hosts at a time, run_once on the first host of a batch or region.

// playCtx is what tasks of one batch share.
type playCtx struct {
	pp *playPlan
	// batch are the hosts the tasks run for (with strategy free, one), all the whole batch.
	batch, all []*hostRun
	// ended: meta end_batch ended the batch.
	ended bool
	// taskTitle is the running task's name as shown: rendered for the batch (see shownName).
	taskTitle string
}

// blockCtx says whether a failure will be rescued by an enclosing block.
type blockCtx struct {
	rescuable bool
}

// runPlay runs one play batch by batch.
func (r *run) runPlay(pp *playPlan) {
	pl := pp.play
	pp.title = r.playShownName(pl)
	ready := r.startPlay(pp)
	r.currentPlay = pp
	for _, batch := range splitBatches(ready, pl.Serial) {
		if pp.ended.Load() {
			return // meta: end_play
		}
		if r.shouldStop() {
			// The next batch has run none of the play's tasks yet.
			r.noteStopBefore(pp.tasks)
			return
		}
		if !r.runBatch(pp, batch) {
			return
		}
	}
}

// startPlay announces the play and builds each of its hosts' variables; it returns the hosts
// that can run it (not failed or unreachable earlier in the run, variables built).
func (r *run) startPlay(pp *playPlan) []*hostRun {
	var hosts []*hostRun
	var names []string
	for _, h := range pp.hosts {
		if r.failed[h.Name] || r.unreachable[h.Name] {
			continue
		}
		hosts = append(hosts, &hostRun{h: h, name: h.Name})
		names = append(names, h.Name)
	}
	r.em.emit(events.Event{Kind: events.PlayStart, Play: pp.title, Hosts: names})
	var ready []*hostRun
	for _, hr := range hosts {
		vars, lazy, err := r.p.playVars(pp, hr.h, r.facts[hr.name])
		if err != nil {
			// Checked at load; facts set since then can still break a template.
			r.em.emit(events.Event{Kind: events.HostResult, Play: pp.title, Host: hr.name, Status: events.Failed, Msg: err.Error()})
			r.stat(hr.name).Failed++
			r.failed[hr.name] = true
			continue
		}
		vars["hostvars"] = r.hostvars
		hr.vars, hr.lazy = vars, lazy

		r.stat(hr.name)
		if hint, ok := vars["rollback_hint"].(string); ok && pp.play.Vars["rollback_hint"].V != nil {
			pp.rollbackHint = hint
		}
		ready = append(ready, hr)
	}
	return ready
}

// runBatch runs the play's tasks on one batch and records which hosts failed; it returns
// false when the run must not go on to the next batch.
func (r *run) runBatch(pp *playPlan, batch []*hostRun) bool {
	pl := pp.play
	// play_hosts is the current batch, as in Ansible (where it is ansible_play_batch): with
	// serial, a task sees the hosts it runs with, not those of later batches.
	if len(pl.Serial) > 0 {
		batchNames := make([]any, len(batch))
		for i, hr := range batch {
			batchNames[i] = hr.name
		}
		for _, hr := range batch {
			hr.vars["play_hosts"], hr.vars["ansible_play_batch"] = batchNames, batchNames
		}
	}
	if pl.Strategy == "free" {
		r.runFree(pp, batch)
	} else {
		pc := &playCtx{pp: pp, batch: batch, all: batch}
		for _, section := range pp.sections {
			r.runList(pc, section, batch, blockCtx{})
			r.flushHandlers(pc)
		}
	}
	bad := 0
	for _, hr := range batch {
		if hr.failed {
			r.failed[hr.name] = true
		}
		if hr.unreachable {
			r.unreachable[hr.name] = true
		}
		if hr.failed || hr.unreachable {
			bad++
		}
	}
	// As ansible-playbook: when every host of a batch failed, nothing is left to go on with,
	// and the run stops: later batches and plays would otherwise carry a rolling change to
	// hosts after the ones it broke.
	if bad == len(batch) && !r.shouldStop() {
		r.abort.Store(true)
		what := "play"
		if len(pl.Serial) > 0 {
			what = "batch"
		}
		r.em.emit(events.Event{Kind: events.Warning, Play: pp.title,
			Msg: fmt.Sprintf("every host of the %s failed or was unreachable (%d of %d): no more hosts left, stopping the run", what, bad, len(batch))})
		return false
	}
	return true
}

// splitBatches cuts hosts into serial batches: counts or percentages, the last repeating.
func splitBatches(hosts []*hostRun, serial []playbook.Batch) [][]*hostRun {
	if len(serial) == 0 || len(hosts) == 0 {
		return [][]*hostRun{hosts}
	}
	var out [][]*hostRun
	rest := hosts
	for i := 0; len(rest) > 0; i++ {
		b := serial[len(serial)-1]
		if i < len(serial) {
			b = serial[i]
		}
		n := b.Count
		if b.Count <= 0 {
			n = int(math.Floor(float64(len(hosts)) * b.Percent / 100))
		}
		n = max(1, min(n, len(rest)))
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

func alive(hosts []*hostRun) []*hostRun {
	out := make([]*hostRun, 0, len(hosts))
	for _, h := range hosts {
		if !h.failed && !h.unreachable && !h.ended {
			out = append(out, h)
		}
	}
	return out
}

// runList runs tasks in order on hosts, linearly: a task ends on every host before the next.
func (r *run) runList(pc *playCtx, tasks []*taskPlan, hosts []*hostRun, bc blockCtx) {
	for _, tp := range tasks {
		if r.shouldStop() {
			r.noteStopBefore([]*taskPlan{tp})
			return
		}
		if pc.ended || pc.pp.ended.Load() {
			return // meta: end_batch or end_play
		}
		active := alive(hosts)
		if len(active) == 0 {
			return
		}
		if action := tp.meta; action != "" {
			r.runMeta(pc, tp, action, active, bc)
			continue
		}
		if tp.include != nil {
			r.runInclude(pc, tp, active, bc)
			continue
		}
		if tp.t.IsBlock() {
			r.runBlock(pc, tp, active, bc)
			continue
		}
		r.runTask(pc, tp, active, bc)
	}
}

// runBlock runs a block, its rescue on the hosts that failed in it, and its always on all.
func (r *run) runBlock(pc *playCtx, tp *taskPlan, hosts []*hostRun, bc blockCtx) {
	inner := blockCtx{rescuable: bc.rescuable || len(tp.rescue) > 0}
	r.runList(pc, tp.block, hosts, inner)
	if len(tp.rescue) > 0 && !r.interrupted() {
		var failed []*hostRun
		for _, hr := range hosts {
			if hr.failed && !hr.unreachable {
				failed = append(failed, hr)
			}
		}
		if len(failed) > 0 {
			r.mu.Lock()
			for _, hr := range failed {
				hr.failed = false
				r.stat(hr.name).Rescued++
			}
			r.mu.Unlock()
			// A rescue task that fails is an ordinary failure (or rescued further out).
			r.runList(pc, tp.rescue, failed, bc)
		}
	}
	if len(tp.always) > 0 && !r.interrupted() {
		var targets []*hostRun
		saved := map[*hostRun]bool{}
		r.mu.Lock()
		for _, hr := range hosts {
			if !hr.unreachable {
				targets = append(targets, hr)
				saved[hr] = hr.failed
				hr.failed = false
			}
		}
		r.mu.Unlock()
		r.runList(pc, tp.always, targets, bc)
		r.mu.Lock()
		for hr, was := range saved {
			hr.failed = hr.failed || was
		}
		r.mu.Unlock()
	}
}

// runTask runs one task on every active host of the batch, at most forks at a time, records
// the results and stops the run when the play says a failure is fatal.
func (r *run) runTask(pc *playCtx, tp *taskPlan, hosts []*hostRun, bc blockCtx) {
	if !tp.selected {
		return
	}
	if tp.t.Implicit && r.p.opts.Gathering == "smart" {
		if hosts = r.withoutFacts(hosts); len(hosts) == 0 {
			return
		}
	}
	if hosts = r.startTask(tp, hosts); len(hosts) == 0 {
		return
	}
	pc.taskTitle = r.taskTitle(tp, hosts)
	r.em.emit(events.Event{Kind: events.TaskStart, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String(), Handler: tp.handler})

	mode := tp.set.runOnce
	if r.free && mode != runOnceOff {
		r.em.emit(events.Event{Kind: events.Warning, Play: pc.pp.title, Task: pc.taskTitle,
			Msg: "run_once with the free strategy runs the task on every host, as Ansible does"})
		mode = runOnceOff
	}
	groups := runOnceGroups(mode, hosts)
	results := r.fanOut(pc, tp, groups)
	r.mu.Lock()
	defer r.mu.Unlock()
	newlyFailed := false
	for i, g := range groups {
		res := results[i]
		if res == nil {
			continue
		}
		for j, hr := range g {
			r.recordLocked(tp, hr, res, bc, j == 0)
			// An unreachable host is fatal too: the play cannot finish on it.
			if (res.status() == events.Failed && !bc.rescuable) || res.unreachable {
				newlyFailed = true
				if r.stopTask == "" && !tp.handler && !tp.t.Implicit {
					r.stopTask, r.rollback = tp.name, pc.pp.rollbackHint
				}
			}
		}
	}
	r.checkFatal(pc, newlyFailed)
}

// startTask says whether a task starts (--start-at-task reached), notes it for the resume
// hint, and with strategy free gives the hosts the hostvars as they are now.
func (r *run) startTask(tp *taskPlan, hosts []*hostRun) []*hostRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started && !tp.t.Implicit {
		// Facts are gathered before --start-at-task's task too, as ansible-playbook does.
		if tp.name != r.p.opts.StartAtTask && tp.t.Name != r.p.opts.StartAtTask {
			return nil
		}
		r.started = true
	}
	if hosts = r.resumeHosts(tp, hosts); len(hosts) == 0 {
		return nil
	}
	if !tp.handler && !tp.t.Implicit {
		// A resume starts at a task; a handler runs again when a task notifies it.
		r.lastTask = tp.name
	}
	if r.free {
		for _, hr := range hosts {
			hr.vars["hostvars"] = r.hostvars
		}
	}
	return hosts
}

// runOnceGroups groups the hosts a task runs for: each host alone, or with run_once all the
// batch (or each region of it) behind its first host, which runs the task for the group.
func runOnceGroups(mode runOnceMode, hosts []*hostRun) [][]*hostRun {
	var groups [][]*hostRun
	switch mode {
	case runOnceBatch:
		groups = append(groups, hosts)
	case runOnceRegion:
		idx := map[string]int{}
		for _, hr := range hosts {
			i, ok := idx[hr.h.Region]
			if !ok {
				i = len(groups)
				idx[hr.h.Region] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], hr)
		}
	default:
		for _, hr := range hosts {
			groups = append(groups, []*hostRun{hr})
		}
	}
	return groups
}

// fanOut runs the task for each group on the group's first host, at most forks at a time. A
// group that never started (the run was cancelled or stopped while it waited for a fork) has
// a nil result.
func (r *run) fanOut(pc *playCtx, tp *taskPlan, groups [][]*hostRun) []*result {
	results := make([]*result, len(groups))
	width := r.p.opts.Forks
	if t := tp.set.throttle; t > 0 && t < width {
		width = t
	}
	sem := make(chan struct{}, width)
	if r.p.opts.Progress {
		r.em.emit(events.Event{Kind: events.Progress, Play: pc.pp.title, Task: pc.taskTitle,
			Progress: &events.TaskProgress{Phase: events.PhaseTask, Total: int64(len(groups))}})
	}
	var wg sync.WaitGroup
	for i, g := range groups {
		waited := false
		select {
		case sem <- struct{}{}:
		default:
			waited = true
			select {
			case sem <- struct{}{}:
			case <-r.ctx.Done():
			}
		}
		if r.ctx.Err() != nil || (waited && r.p.stopping.Load()) {
			// After Stop, the hosts the task started on finish it; hosts still waiting for
			// a fork slot do not start it, so a resume must start at this task.
			r.noteStopBefore([]*taskPlan{tp})
			break
		}
		wg.Add(1)
		go func(i int, hr *hostRun) {
			defer wg.Done()
			defer func() { <-sem }()
			r.hostProgress(pc, hr.name, events.PhaseHostStart, "")
			results[i] = r.runHost(pc, tp, hr)
			r.hostProgress(pc, hr.name, events.PhaseHostEnd, results[i].status())
		}(i, g[0])
	}
	wg.Wait()
	return results
}

// checkFatal stops the run after a task when the play says so: any_errors_fatal and a new
// failure, or more of the batch failed than max_fail_percentage allows.
func (r *run) checkFatal(pc *playCtx, newlyFailed bool) {
	pl := pc.pp.play
	if newlyFailed && pl.AnyErrorsFatal {
		r.abort.Store(true)
		r.em.emit(events.Event{Kind: events.Warning, Play: pc.pp.title, Task: pc.taskTitle,
			Msg: fmt.Sprintf("any_errors_fatal: task %q failed or a host was unreachable, stopping the run", pc.taskTitle)})
		return
	}
	mfp := pl.MaxFailPercentage
	if mfp == nil || len(pc.all) == 0 {
		return
	}
	bad := 0
	for _, hr := range pc.all {
		if hr.failed || hr.unreachable {
			bad++
		}
	}
	if pct := float64(bad) * 100 / float64(len(pc.all)); pct > *mfp {
		r.abort.Store(true)
		r.em.emit(events.Event{Kind: events.Warning, Play: pc.pp.title, Task: pc.taskTitle,
			Msg: fmt.Sprintf("max_fail_percentage %g%% exceeded: %d of %d hosts of the batch failed, stopping the run", *mfp, bad, len(pc.all))})
	}
}

// runFree runs the play's sections on each host of the batch at the host's own pace
// (strategy free): a host goes on to its next task without waiting for the others, at most
// forks hosts at a time, each flushing its own handlers at the end of a section.
func (r *run) runFree(pp *playPlan, batch []*hostRun) {
	r.mu.Lock()
	r.free = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.free = false
		r.mu.Unlock()
	}()
	sem := make(chan struct{}, r.p.opts.Forks)
	var wg sync.WaitGroup
	for _, hr := range batch {
		select {
		case sem <- struct{}{}:
		case <-r.ctx.Done():
		}
		if r.ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(hr *hostRun) {
			defer wg.Done()
			defer func() { <-sem }()
			pc := &playCtx{pp: pp, batch: []*hostRun{hr}, all: batch}
			for _, section := range pp.sections {
				r.runList(pc, section, pc.batch, blockCtx{})
				r.flushHandlers(pc)
			}
		}(hr)
	}
	wg.Wait()
}

// withoutFacts are the hosts whose facts this run has not gathered yet (gathering: smart).
func (r *run) withoutFacts(hosts []*hostRun) []*hostRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*hostRun
	for _, hr := range hosts {
		if _, ok := r.facts[hr.name]["ansible_facts"]; !ok {
			out = append(out, hr)
		}
	}
	return out
}
