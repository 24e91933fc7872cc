package runner

import (
	"sync"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/secret"
)

// noLogMsg replaces the result of a no_log task everywhere it would be shown.
const noLogMsg = "the output has been hidden due to no_log"

// emitter masks every event and hands it to the sink, one at a time.
type emitter struct {
	mu      sync.Mutex
	sink    events.Sink
	secrets *secret.Set
	now     func() time.Time
}

func (e *emitter) emit(ev events.Event) {
	if e.sink == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	s := e.secrets
	ev.Play = s.Mask(ev.Play)
	ev.Task = s.Mask(ev.Task)
	ev.Msg = s.Mask(ev.Msg)
	ev.Line = s.Mask(ev.Line)
	ev.Command = s.Mask(ev.Command)
	if ev.Item != nil {
		ev.Item = s.MaskValue(ev.Item)
	}
	if ev.Result != nil {
		ev.Result, _ = s.MaskValue(ev.Result).(map[string]any)
	}
	if ev.Diff != nil {
		d := *ev.Diff
		d.Before, d.After = s.Mask(d.Before), s.Mask(d.After)
		d.BeforeLabel, d.AfterLabel = s.Mask(d.BeforeLabel), s.Mask(d.AfterLabel)
		ev.Diff = &d
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sink.Emit(ev)
}

// emitResult sends a HostResult event for a result, hiding what a no_log task did.
func (r *run) emitResult(base events.Event, tp *taskPlan, res *result, item any) {
	ev := base
	ev.Status, ev.Msg, ev.Unknown, ev.Check, ev.Delegate, ev.Duration = res.status(), res.msg, res.unknown, res.check, res.delegate, res.dur
	if ev.Msg == "" {
		ev.Msg = res.skipReason
	}
	ev.Item = item
	ev.Result = res.registered()
	if res.diff != nil && r.p.opts.Diff {
		d := res.diff
		ev.Diff = &events.Diff{Before: d.Before, After: d.After, BeforeLabel: d.BeforeLabel, AfterLabel: d.AfterLabel}
	}
	if tp.set.noLog {
		ev.Result = map[string]any{"censored": noLogMsg}
		ev.Msg = noLogMsg
		ev.Diff = nil
		if item != nil {
			ev.Item = "(hidden)"
		}
	}
	r.em.emit(ev)
}
