package runner

import (
	"sync"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/modules"
)

// This file is the run's progress for a terminal's status line: which hosts are on a task
// and how far a module has got. Nothing of it is emitted unless Options.Progress asks.

// progressEvery is how often a module's progress is passed on at most, per host: a status
// line redraws about ten times a second, and the events are not kept.
const progressEvery = 100 * time.Millisecond

// hostProgress says that a host starts a task or is done with it (status says how).
func (r *run) hostProgress(pc *playCtx, host, phase string, status events.Status) {
	if !r.p.opts.Progress {
		return
	}
	r.em.emit(events.Event{Kind: events.Progress, Play: pc.pp.title, Task: pc.taskTitle, Host: host, Status: status,
		Progress: &events.TaskProgress{Phase: phase}})
}

// progressFunc passes a module's progress reports on one host on as Progress events, the
// first, the last (done == total) and at most one every progressEvery in between.
func (r *run) progressFunc(pc *playCtx, host string) modules.ProgressFunc {
	if !r.p.opts.Progress {
		return nil
	}
	play, task := pc.pp.title, pc.taskTitle
	var mu sync.Mutex
	var last time.Time
	return func(done, total int64, unit string) {
		now := time.Now()
		mu.Lock()
		if !last.IsZero() && now.Sub(last) < progressEvery && (total == 0 || done != total) {
			mu.Unlock()
			return
		}
		last = now
		mu.Unlock()
		r.em.emit(events.Event{Kind: events.Progress, Play: play, Task: task, Host: host,
			Progress: &events.TaskProgress{Phase: events.PhaseModule, Done: done, Total: total, Unit: unit}})
	}
}

// promptProgress says that a prompt opens or closes (phase), so that a status line makes room.
func (r *run) promptProgress(phase string) {
	if r.p.opts.Progress {
		r.em.emit(events.Event{Kind: events.Progress, Progress: &events.TaskProgress{Phase: phase}})
	}
}
