package runner

import (
	"fmt"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/tmpl"
)

// This file is meta: the actions on the run itself (flush the handlers, end the play, the
// batch or a host), carried out here rather than on a host.

// runMeta carries out a meta task for the hosts where its when holds.
func (r *run) runMeta(pc *playCtx, tp *taskPlan, action string, hosts []*hostRun, bc blockCtx) {
	if !tp.selected {
		return
	}
	if hosts = r.startTask(tp, hosts); len(hosts) == 0 {
		return
	}
	var holds []*hostRun
	for _, hr := range hosts {
		ok, res := r.whenHolds(tp, hr)
		if res != nil {
			// A when that cannot be evaluated fails the task on that host.
			pc.taskTitle = r.taskTitle(tp, hosts)
			r.emitResult(events.Event{Kind: events.HostResult, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String(), Host: hr.name}, tp, res, nil)
			r.record(tp, hr, res, bc, true)
			continue
		}
		if ok {
			holds = append(holds, hr)
		}
	}
	if len(holds) == 0 {
		return
	}
	switch action {
	case "flush_handlers":
		r.flushHandlers(pc)
	case "end_play":
		pc.pp.ended.Store(true)
	case "end_batch":
		pc.ended = true
	case "end_host":
		r.mu.Lock()
		for _, hr := range holds {
			hr.ended = true
		}
		r.mu.Unlock()
	case "clear_host_errors":
		r.mu.Lock()
		for _, hr := range pc.batch {
			hr.failed = false
		}
		r.mu.Unlock()
	}
}

// whenHolds evaluates a task's when for one host; a result comes back when it cannot be.
func (r *run) whenHolds(tp *taskPlan, hr *hostRun) (bool, *result) {
	vars, err := r.taskVars(tp, hr)
	if err != nil {
		return false, failure(&tp.set, err.Error())
	}
	for _, v := range tp.set.valuesOf("when") {
		ok, err := tmpl.Truth(v.prog, vars)
		if err != nil {
			return false, failure(&tp.set, fmt.Sprintf("%s: when: %v", v.val.Pos, err))
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// metaAction is the action of a meta task, "" for any other task.
func (tp *taskPlan) metaAction() string {
	m, ok := tp.mod.(modules.MetaAction)
	if !ok {
		return ""
	}
	raw := map[string]any{}
	for k, v := range tp.t.Args {
		raw[k] = v.V
	}
	args, err := tp.spec.Coerce(raw, nil)
	if err != nil {
		return ""
	}
	return m.MetaAction(args)
}
