package runner

import (
	"sync"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/secret"
)

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
