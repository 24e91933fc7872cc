package runner

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/transport"
)

// This file is the run as a whole: it starts and ends the run, and decides the exit code, the
// end message and the resume hint. strategy.go runs plays, batches and tasks; hosttask.go one
// task on one host; invoke.go one module call; record.go what a result leaves behind.

// run is one execution of a plan.
type run struct {
	p          *plan
	ctx        context.Context
	em         *emitter
	conns      *connPool
	controller transport.Conn
	held       heldResources // what modules hold until the run ends (modules.Host.AtRunEnd)

	// mu guards what follows, written between tasks by the coordinating goroutine, or with
	// strategy free by each host's.
	mu          sync.Mutex
	free        bool                      // the play running has strategy free
	facts       map[string]map[string]any // per host, kept across plays
	hostvars    map[string]any            // the `hostvars` variable: inventory vars + facts
	stats       map[string]*events.Stats
	statOrder   []string
	failed      map[string]bool // hosts that ended a play failed
	unreachable map[string]bool
	abort       atomic.Bool // any_errors_fatal or max_fail_percentage
	started     bool        // --start-at-task reached
	stopTask    string
	lastTask    string
	rollback    string    // the rollback_hint of the play where the run first failed
	currentPlay *playPlan // the play running, or the last one run

	// reached marks the hosts of a resumed run that got to the task they go on from.
	reached map[string]bool

	confirmMu sync.Mutex
	stdin     *bufio.Reader // guarded by confirmMu
}

// hostRun is one host's state within a play.
type hostRun struct {
	h           *inventory.Host
	name        string
	vars        map[string]any
	lazy        []lazyVar // play vars rendered before each task: they use run-time names
	failed      bool
	unreachable bool
	// notified are the handlers a task notified on this host since the last flush.
	notified map[*taskPlan]bool
	// ended: meta end_host ended the play for the host (no failure).
	ended bool
	// scopes are the variables of the includes the host is in (the loop variable), innermost
	// last.
	scopes []map[string]any
}

func (p *plan) stop() { p.stopping.Store(true) }

func (p *plan) run(ctx context.Context, sink events.Sink) int {
	// Transfers name their temporary files for the run (see transport.TempBase).
	ctx = transport.WithRun(ctx, transport.RunInfo{ID: p.runID(), Start: time.Now()})
	r := &run{
		p:           p,
		ctx:         ctx,
		em:          &emitter{sink: sink, secrets: p.secrets, now: p.opts.Now},
		conns:       newConnPool(p),
		controller:  transport.NewLocal("localhost"),
		facts:       map[string]map[string]any{},
		hostvars:    map[string]any{},
		stats:       map[string]*events.Stats{},
		failed:      map[string]bool{},
		unreachable: map[string]bool{},
		started:     p.opts.StartAtTask == "",
		reached:     map[string]bool{},
	}
	if p.opts.Verbosity >= 1 {
		r.conns.notify = func(host, msg string) {
			r.em.emit(events.Event{Kind: events.Warning, Host: host, Msg: "host " + host + ": " + msg})
		}
	}
	for name, vars := range p.baseVars {
		r.hostvars[name] = copyMap(vars, 4)
	}
	// On cancellation the connections and what modules hold for the run close at once.
	stopClosing := context.AfterFunc(ctx, func() { r.held.closeAll(); r.conns.closeAll() })
	defer stopClosing()

	r.restoreResumed()
	start := events.Event{Kind: events.RunStart, Playbook: p.pb.File, Check: p.opts.Check, Hosts: p.allHostNames(), Inputs: p.inputHashes()}
	start.Command, start.User, start.Controller, start.Dir = p.whoAndWhere()
	if p.resume != nil {
		start.Resume = p.resume.journal
	}
	r.em.emit(start)
	for _, w := range p.warnings {
		r.em.emit(events.Event{Kind: events.Warning, Msg: w})
	}
	for _, pp := range p.plays {
		if r.shouldStop() {
			r.noteStopBefore(pp.tasks)
			break
		}
		r.runPlay(pp)
	}
	r.held.closeAll()
	r.conns.closeAll()

	code := r.exitCode()
	stats := make(map[string]*events.Stats, len(r.stats))
	for k, v := range r.stats {
		c := *v
		stats[k] = &c
	}
	r.em.emit(events.Event{Kind: events.Recap, Stats: stats})
	r.em.emit(events.Event{Kind: events.RunEnd, ExitCode: code, Msg: r.endMessage(code)})
	return code
}

// allHostNames lists every host some play runs on, in first-seen order.
func (p *plan) allHostNames() []string {
	var all []string
	seen := map[string]bool{}
	for _, pp := range p.plays {
		for _, h := range pp.hosts {
			if !seen[h.Name] {
				seen[h.Name] = true
				all = append(all, h.Name)
			}
		}
	}
	return all
}

func (r *run) interrupted() bool { return r.p.stopping.Load() || r.ctx.Err() != nil }

func (r *run) shouldStop() bool { return r.abort.Load() || r.interrupted() }

func (r *run) exitCode() int {
	switch {
	case r.interrupted():
		return ExitInterrupted
	case len(r.unreachable) > 0:
		return ExitUnreachable
	case len(r.failed) > 0:
		return ExitFailed
	}
	return ExitOK
}

// noteStopBefore records, after an interrupt, the first task of tasks that would have run
// next: the resume hint starts there, not at the task that had just finished everywhere.
func (r *run) noteStopBefore(tasks []*taskPlan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.interrupted() || r.stopTask != "" || !r.started {
		return
	}
	for _, tp := range tasks {
		if name := firstTaskName(tp); name != "" {
			r.stopTask = name
			return
		}
	}
}

// firstTaskName names the first task tp runs: itself, or the first selected task of its block.
func firstTaskName(tp *taskPlan) string {
	if !tp.t.IsBlock() {
		if tp.selected && !tp.t.Implicit {
			return tp.name
		}
		return ""
	}
	for _, c := range tp.block {
		if name := firstTaskName(c); name != "" {
			return name
		}
	}
	return ""
}

// endMessage tells the operator how to go on after a run that did not finish well.
func (r *run) endMessage(code int) string {
	if code == ExitOK {
		return ""
	}
	var b strings.Builder
	switch code {
	case ExitInterrupted:
		b.WriteString("interrupted")
	case ExitUnreachable:
		b.WriteString("some hosts were unreachable")
	default:
		b.WriteString("some tasks failed")
	}
	task := r.stopTask
	if task == "" {
		task = r.lastTask
	}
	how := "after fixing the cause, resume with"
	if code == ExitInterrupted {
		how = "to go on from where it stopped, run"
	}
	switch {
	case r.p.journal != nil && !r.p.opts.Check:
		// Each host goes on from its own first unfinished task, with what it had registered.
		fmt.Fprintf(&b, "; %s:\n  %s", how, r.resumeJournalCommand(code))
		if task != "" {
			fmt.Fprintf(&b, "\n(or start at that task on every host: %s)", r.resumeCommand(task))
		}
	case task != "":
		fmt.Fprintf(&b, "; %s:\n  %s", how, r.resumeCommand(task))
	}
	hint := r.rollback
	if hint == "" && r.currentPlay != nil {
		hint = r.currentPlay.rollbackHint
	}
	if hint != "" {
		fmt.Fprintf(&b, "\nto roll back instead: %s", hint)
	}
	return b.String()
}

// resumeJournalCommand is the command line that resumes this run from its journal, limited to
// the hosts that did not finish when the others did.
func (r *run) resumeJournalCommand(code int) string {
	words := r.commandWords()
	words = append(words, "--resume", r.p.runID())
	if code != ExitInterrupted {
		var left []string
		for _, h := range r.p.allHostNames() {
			if r.failed[h] || r.unreachable[h] {
				left = append(left, h)
			}
		}
		if len(left) > 0 && len(left) < len(r.p.allHostNames()) {
			words = append(words, "--limit", strings.Join(left, ":"))
		} else if r.p.opts.Limit != "" {
			words = append(words, "--limit", r.p.opts.Limit)
		}
	} else if r.p.opts.Limit != "" {
		words = append(words, "--limit", r.p.opts.Limit)
	}
	for i, w := range words {
		words[i] = shellquote.QuoteIfNeeded(w)
	}
	return strings.Join(words, " ")
}

// resumeCommand is the command line that reruns the playbook from task.
func (r *run) resumeCommand(task string) string {
	o := r.p.opts
	args := r.commandWords()
	if o.Limit != "" {
		args = append(args, "--limit", o.Limit)
	}
	args = append(args, "--start-at-task", task)
	for i, a := range args {
		args[i] = shellquote.QuoteIfNeeded(a)
	}
	return strings.Join(args, " ")
}

// commandWords are the run's command line but for --limit and where to start.
func (r *run) commandWords() []string {
	o := r.p.opts
	args := []string{"omsbook", "run", o.Playbook}
	for _, inv := range o.Inventories {
		args = append(args, "-i", inv)
	}
	for _, e := range o.ExtraVars {
		args = append(args, "-e", e)
	}
	if len(o.Tags) > 0 {
		args = append(args, "--tags", strings.Join(o.Tags, ","))
	}
	if len(o.SkipTags) > 0 {
		args = append(args, "--skip-tags", strings.Join(o.SkipTags, ","))
	}
	if o.Check {
		args = append(args, "--check")
	}
	if o.JournalDir != "" {
		args = append(args, "--journal-dir", o.JournalDir)
	}
	return args
}
