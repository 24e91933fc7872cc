package runner

import (
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/modules"
)

// This file is what a result leaves behind: the result itself and its registered value (built
// in one place, registered), the recap's counts, register and facts.

// result is what a task did on one host: one module call, or a loop's items together.
type result struct {
	changed, failed, skipped, unreachable bool
	// ignored: the task has ignore_errors, so a failure lets the play go on (it is still a
	// failure in the registered value).
	ignored bool
	// unknown: a check could not tell what a real run would do; msg says why.
	unknown    bool
	msg        string
	skipReason string         // why when: skipped the task
	data       map[string]any // the module's own fields (rc, stdout, ...)
	attempts   int            // with until: how many times it ran
	items      []any          // a loop's per-item registered values; nil without a loop

	// What the output shows that register does not hold.
	check    bool
	diff     *modules.Diff
	delegate string
	facts    map[string]any
	dur      time.Duration
}

// failure is a failed result with a message (ignored when the task ignores errors).
func failure(set *settings, msg string) *result {
	return &result{failed: true, msg: msg, ignored: set.ignoreErrors}
}

// unreachableResult says the host (or the delegate) could not be reached.
func unreachableResult(msg, delegate string) *result {
	return &result{unreachable: true, msg: msg, delegate: delegate}
}

// status is how output and the recap count the result.
func (res *result) status() events.Status {
	switch {
	case res.unreachable:
		return events.Unreachable
	case res.failed && res.ignored:
		return events.Ignored
	case res.failed:
		return events.Failed
	case res.skipped:
		return events.Skipped
	case res.changed:
		return events.Changed
	}
	return events.OK
}

// registered is the value register, until and the conditions on a result see: the module's
// fields, then changed, failed, skipped and msg, and what else applies (unknown, unreachable,
// skip_reason, attempts, results).
func (res *result) registered() map[string]any {
	reg := make(map[string]any, len(res.data)+6)
	for k, v := range res.data {
		reg[k] = v
	}
	reg["changed"], reg["failed"], reg["skipped"], reg["msg"] = res.changed, res.failed, res.skipped, res.msg
	if res.unknown {
		reg["unknown"] = true
	}
	if res.unreachable {
		reg["unreachable"] = true
	}
	if res.skipReason != "" {
		reg["skip_reason"] = res.skipReason
	}
	if res.attempts > 0 {
		reg["attempts"] = res.attempts
	}
	if res.items != nil {
		reg["results"] = res.items
	}
	return reg
}

func (r *run) stat(host string) *events.Stats {
	s, ok := r.stats[host]
	if !ok {
		s = &events.Stats{}
		r.stats[host] = s
		r.statOrder = append(r.statOrder, host)
	}
	return s
}

// record keeps a result on a host: the recap's counts, register, facts, failed/unreachable.
// ran is false for the hosts a run_once result is copied to: they count only a failure.
func (r *run) record(tp *taskPlan, hr *hostRun, res *result, bc blockCtx, ran bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recordLocked(tp, hr, res, bc, ran)
}

// recordLocked is record with r.mu held.
func (r *run) recordLocked(tp *taskPlan, hr *hostRun, res *result, bc blockCtx, ran bool) {
	st := r.stat(hr.name)
	status := res.status()
	if ran && res.unknown {
		st.Unknown++
	}
	if ran || status == events.Failed {
		switch status {
		case events.OK:
			st.OK++
		case events.Changed:
			st.OK++
			st.Changed++
		case events.Skipped:
			st.Skipped++
		case events.Ignored:
			st.OK++
			st.Ignored++
		case events.Unreachable:
			st.Unreachable++
		case events.Failed:
			if !bc.rescuable {
				st.Failed++
			}
		}
	}
	if reg := tp.t.Register; reg != "" {
		r.setFact(hr, reg, res.registered())
	}
	for k, v := range res.facts {
		r.setFact(hr, k, v)
	}
	notifyHandlers(tp, hr, res)
	switch status {
	case events.Failed:
		hr.failed = true
	case events.Unreachable:
		hr.unreachable = true
	}
}

// setFact sets a run-time variable for a host; -e values keep winning.
func (r *run) setFact(hr *hostRun, name string, v any) {
	f := r.facts[hr.name]
	if f == nil {
		f = map[string]any{}
		r.facts[hr.name] = f
	}
	f[name] = v
	if hv, ok := r.hostvars[hr.name].(map[string]any); ok {
		if r.free {
			// Other hosts render templates over hostvars meanwhile: replace, never write,
			// what they may be reading (they see the new one from their next task on).
			hv = copyMap(hv, 1)
			outer := copyMap(r.hostvars, 0)
			outer[hr.name] = hv
			r.hostvars = outer
			if hr.vars != nil {
				hr.vars["hostvars"] = outer
			}
		}
		hv[name] = v
	}
	if _, isExtra := r.p.extra[name]; !isExtra && hr.vars != nil {
		hr.vars[name] = v
		// A fact outranks a play var of the same name that was waiting to be rendered.
		for i, lv := range hr.lazy {
			if lv.name == name {
				hr.lazy = append(hr.lazy[:i:i], hr.lazy[i+1:]...)
				break
			}
		}
	}
}
