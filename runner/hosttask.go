package runner

import (
	"fmt"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/tmpl"
)

// This file is one task on one host: the host's variables for the task, the loop over its
// items (each an invocation, see invoke.go), and the loop's results taken together.

// runHost runs a task on one host (all loop items) and emits its results.
func (r *run) runHost(pc *playCtx, tp *taskPlan, hr *hostRun) *result {
	start := r.p.opts.Now()
	base := events.Event{Kind: events.HostResult, Play: pc.pp.title, Task: pc.taskTitle, Pos: tp.t.Pos.String(), Host: hr.name}
	done := func(res *result, item any, since time.Time) *result {
		res.dur = r.p.opts.Now().Sub(since)
		r.emitResult(base, tp, res, item)
		return res
	}
	vars, err := r.taskVars(tp, hr)
	if err != nil {
		return done(failure(&tp.set, err.Error()), nil, start)
	}
	loop, ok := tp.set.loopValue()
	if !ok {
		return done(r.runItem(pc, tp, hr, vars, nil), nil, start)
	}
	items, err := loopItems(loop, vars)
	if err != nil {
		return done(failure(&tp.set, err.Error()), nil, start)
	}
	agg := &loopResult{allSkipped: true}
	for i, item := range items {
		if r.ctx.Err() != nil || (i > 0 && !sleepCtx(r.ctx, tp.t.LoopPause)) {
			break
		}
		ivars := copyMap(vars, 3)
		for k, v := range tp.itemVars(items, i) {
			ivars[k] = v
		}
		itemStart := r.p.opts.Now()
		res := done(r.runItem(pc, tp, hr, ivars, item), tp.itemLabel(item, ivars), itemStart)
		if !agg.add(tp, res, item, i) {
			break
		}
	}
	res := agg.result(&tp.set)
	res.dur = r.p.opts.Now().Sub(start)
	if st := res.status(); st == events.Failed || st == events.Ignored || st == events.Unreachable {
		// Items were shown one by one; the summary line says the task as a whole failed.
		r.emitResult(base, tp, res, nil)
	}
	return res
}

// taskVars are the host's variables for the task: its play variables, the play variables
// that wait for run-time names rendered now, then the task's own vars (with its blocks').
func (r *run) taskVars(tp *taskPlan, hr *hostRun) (map[string]any, error) {
	own, magic := tp.set.valuesOf("vars"), tp.set.roleVars()
	if len(hr.lazy) == 0 && len(own) == 0 && magic == nil && len(hr.scopes) == 0 {
		return hr.vars, nil
	}
	vars := copyMap(hr.vars, len(hr.lazy)+len(own)+len(magic)+4)
	for k, v := range magic {
		vars[k] = v
	}
	for _, scope := range hr.scopes {
		for k, v := range scope {
			vars[k] = v
		}
	}
	for _, lv := range hr.lazy {
		// A variable that still cannot be rendered stays undefined: a template that uses it
		// says so.
		if v, err := tmpl.RenderDeep(lv.raw, vars); err == nil {
			vars[lv.name] = v
		}
	}
	for _, v := range own {
		if _, isExtra := r.p.extra[v.key]; isExtra {
			continue // -e wins over every other variable, task and role vars too
		}
		rv, err := tmpl.RenderDeep(v.val.V, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: vars %q: %v", v.val.Pos, v.key, err)
		}
		vars[v.key] = rv
	}
	return vars, nil
}

// loopResult gathers a loop's item results into the task's one result.
type loopResult struct {
	items                             []any
	allSkipped                        bool
	anyChanged, anyFailed, anyUnknown bool
	anyCheck                          bool
	unreachable                       bool
	unreachableMsg, delegate          string
	facts                             map[string]any
}

// add takes one item's result; it returns false when the loop must stop (the host is gone).
func (l *loopResult) add(tp *taskPlan, res *result, item any, index int) bool {
	reg := res.registered()
	reg[tp.loopVar] = item
	reg["ansible_loop_var"] = tp.loopVar
	if tp.loopVar != "item" {
		reg["item"] = item
	}
	if iv := tp.t.LoopIndexVar; iv != "" {
		reg[iv], reg["ansible_index_var"] = index, iv
	}
	l.items = append(l.items, reg)
	for k, v := range res.facts {
		if l.facts == nil {
			l.facts = map[string]any{}
		}
		l.facts[k] = v
	}
	l.anyChanged = l.anyChanged || res.status() == events.Changed
	l.anyFailed = l.anyFailed || res.failed
	l.anyUnknown = l.anyUnknown || res.unknown
	l.anyCheck = l.anyCheck || res.check
	l.allSkipped = l.allSkipped && res.status() == events.Skipped
	if l.delegate == "" {
		l.delegate = res.delegate
	}
	if res.unreachable {
		l.unreachable, l.unreachableMsg = true, res.msg
		return false
	}
	return true
}

// result is the loop's result: failed when an item failed (ignored when the task ignores
// errors), changed when one changed, skipped when every item was.
func (l *loopResult) result(set *settings) *result {
	res := &result{
		items:    l.items,
		failed:   l.anyFailed,
		ignored:  set.ignoreErrors,
		skipped:  l.allSkipped,
		unknown:  l.anyUnknown,
		check:    l.anyCheck,
		delegate: l.delegate,
		facts:    l.facts,
	}
	if res.items == nil {
		res.items = []any{}
	}
	res.changed = l.anyChanged
	if len(l.items) == 0 && !l.unreachable {
		// As Ansible: a loop over nothing skips the task.
		res.skipReason = "No items in the list"
	}
	switch {
	case l.unreachable:
		res.unreachable, res.msg = true, l.unreachableMsg
	case l.anyFailed:
		res.msg = "one or more items failed"
	}
	return res
}
