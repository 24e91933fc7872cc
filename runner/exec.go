package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
	"github.com/omsbook/omsbook/transport"
)

// noLogMsg replaces the result of a no_log task everywhere it would be shown.
const noLogMsg = "the output has been hidden due to no_log"

// run is one execution of a plan.
type run struct {
	p          *plan
	ctx        context.Context
	em         *emitter
	conns      *connPool
	controller transport.Conn

	// Written only by the coordinating goroutine, between tasks.
	facts       map[string]map[string]any // per host, kept across plays
	hostvars    map[string]any            // the `hostvars` variable: inventory vars + facts
	stats       map[string]*events.Stats
	statOrder   []string
	failed      map[string]bool // hosts that ended a play failed
	unreachable map[string]bool
	abort       bool // any_errors_fatal or max_fail_percentage
	started     bool // --start-at-task reached
	stopTask    string
	lastTask    string
	rollback    string    // the rollback_hint of the play where the run first failed
	currentPlay *playPlan // the play running, or the last one run

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
}

// playCtx is what tasks of one batch share.
type playCtx struct {
	pp    *playPlan
	batch []*hostRun
	// taskTitle is the running task's name as shown: rendered for the batch (see shownName).
	taskTitle string
}

// blockCtx says whether a failure will be rescued by an enclosing block.
type blockCtx struct {
	rescuable bool
}

// outcome is what one task did on one host.
type outcome struct {
	status   events.Status
	reg      map[string]any
	facts    map[string]any
	msg      string
	unknown  bool
	check    bool
	diff     *modules.Diff
	delegate string
	dur      time.Duration
}

func (o *outcome) isFailed() bool { return o.status == events.Failed }

func (p *plan) stop() { p.stopping.Store(true) }

func (p *plan) run(ctx context.Context, sink events.Sink) int {
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
	}
	for name, vars := range p.baseVars {
		r.hostvars[name] = copyMap(vars, 4)
	}
	stopClosing := context.AfterFunc(ctx, r.conns.closeAll)
	defer stopClosing()

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
	r.em.emit(events.Event{Kind: events.RunStart, Playbook: p.pb.File, Check: p.opts.Check, Hosts: all})
	for _, pp := range p.plays {
		if r.shouldStop() {
			r.noteStopBefore(pp.tasks)
			break
		}
		r.runPlay(pp)
	}
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

func (r *run) interrupted() bool { return r.p.stopping.Load() || r.ctx.Err() != nil }

func (r *run) shouldStop() bool { return r.abort || r.interrupted() }

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
		if tp.selected {
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
	if task != "" {
		how := "after fixing the cause, resume with"
		if code == ExitInterrupted {
			how = "to go on from where it stopped, run"
		}
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

// resumeCommand is the command line that reruns the playbook from task.
func (r *run) resumeCommand(task string) string {
	o := r.p.opts
	args := []string{"omsbook", "run", o.Playbook}
	for _, inv := range o.Inventories {
		args = append(args, "-i", inv)
	}
	for _, e := range o.ExtraVars {
		args = append(args, "-e", e)
	}
	if o.Limit != "" {
		args = append(args, "--limit", o.Limit)
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
	args = append(args, "--start-at-task", task)
	for i, a := range args {
		args[i] = shellquote.QuoteIfNeeded(a)
	}
	return strings.Join(args, " ")
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

// runPlay runs one play batch by batch.
func (r *run) runPlay(pp *playPlan) {
	pl := pp.play
	pp.title = r.playShownName(pl)
	var hosts []*hostRun
	for _, h := range pp.hosts {
		if r.failed[h.Name] || r.unreachable[h.Name] {
			continue
		}
		hosts = append(hosts, &hostRun{h: h, name: h.Name})
	}
	names := make([]string, len(hosts))
	for i, hr := range hosts {
		names[i] = hr.name
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
		if hint, ok := vars["rollback_hint"].(string); ok && pl.Vars["rollback_hint"].V != nil {
			pp.rollbackHint = hint
		}
		ready = append(ready, hr)
	}
	r.currentPlay = pp
	for _, batch := range splitBatches(ready, pl.Serial) {
		if r.shouldStop() {
			// The next batch has run none of the play's tasks yet.
			r.noteStopBefore(pp.tasks)
			return
		}
		// play_hosts is the current batch, as in Ansible (where it is ansible_play_batch):
		// with serial, a task sees the hosts it runs with, not those of later batches.
		if len(pl.Serial) > 0 {
			batchNames := make([]any, len(batch))
			for i, hr := range batch {
				batchNames[i] = hr.name
			}
			for _, hr := range batch {
				hr.vars["play_hosts"] = batchNames
			}
		}
		pc := &playCtx{pp: pp, batch: batch}
		r.runList(pc, pp.tasks, batch, blockCtx{})
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
		// As ansible-playbook: when every host of a batch failed, nothing is left to go on
		// with, and the run stops: later batches and plays would otherwise carry a rolling
		// change to hosts after the ones it broke.
		if bad == len(batch) && !r.shouldStop() {
			r.abort = true
			what := "play"
			if len(pl.Serial) > 0 {
				what = "batch"
			}
			r.em.emit(events.Event{Kind: events.Warning, Play: pp.title,
				Msg: fmt.Sprintf("every host of the %s failed or was unreachable (%d of %d): no more hosts left, stopping the run", what, bad, len(batch))})
			return
		}
	}
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
		if n < 1 {
			n = 1
		}
		if n > len(rest) {
			n = len(rest)
		}
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

func alive(hosts []*hostRun) []*hostRun {
	out := make([]*hostRun, 0, len(hosts))
	for _, h := range hosts {
		if !h.failed && !h.unreachable {
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
		active := alive(hosts)
		if len(active) == 0 {
			return
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
			for _, hr := range failed {
				hr.failed = false
				r.stat(hr.name).Rescued++
			}
			// A rescue task that fails is an ordinary failure (or rescued further out).
			r.runList(pc, tp.rescue, failed, bc)
		}
	}
	if len(tp.always) > 0 && !r.interrupted() {
		var targets []*hostRun
		saved := map[*hostRun]bool{}
		for _, hr := range hosts {
			if !hr.unreachable {
				targets = append(targets, hr)
				saved[hr] = hr.failed
				hr.failed = false
			}
		}
		r.runList(pc, tp.always, targets, bc)
		for hr, was := range saved {
			hr.failed = hr.failed || was
		}
	}
}

// runTask runs one task on every active host of the batch, at most forks at a time.
func (r *run) runTask(pc *playCtx, tp *taskPlan, hosts []*hostRun, bc blockCtx) {
	if !tp.selected {
		return
	}
	if !r.started {
		if tp.name != r.p.opts.StartAtTask && tp.t.Name != r.p.opts.StartAtTask {
			return
		}
		r.started = true
	}
	t := tp.t
	r.lastTask = tp.name
	pc.taskTitle = shownName(tp.name, hosts)
	r.em.emit(events.Event{Kind: events.TaskStart, Play: pc.pp.title, Task: pc.taskTitle, Pos: t.Pos.String()})

	// run_once picks the first host of the batch, or of each region in it.
	groups := [][]*hostRun{}
	switch t.RunOnce {
	case "true":
		groups = append(groups, hosts)
	case "region":
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

	outcomes := make([]*outcome, len(groups))
	sem := make(chan struct{}, r.p.opts.Forks)
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
			outcomes[i] = r.runHost(pc, tp, hr)
		}(i, g[0])
	}
	wg.Wait()

	newlyFailed := false
	for i, g := range groups {
		o := outcomes[i]
		if o == nil {
			continue
		}
		for j, hr := range g {
			r.apply(tp, hr, o, bc, j == 0)
			// An unreachable host is fatal too: the play cannot finish on it.
			if (o.isFailed() && !bc.rescuable) || o.status == events.Unreachable {
				newlyFailed = true
			}
			if (o.isFailed() && !bc.rescuable) || o.status == events.Unreachable {
				if r.stopTask == "" {
					r.stopTask, r.rollback = tp.name, pc.pp.rollbackHint
				}
			}
		}
	}
	if newlyFailed && pc.pp.play.AnyErrorsFatal {
		r.abort = true
		r.em.emit(events.Event{Kind: events.Warning, Play: pc.pp.title, Task: pc.taskTitle,
			Msg: fmt.Sprintf("any_errors_fatal: task %q failed or a host was unreachable, stopping the run", pc.taskTitle)})
		return
	}
	if mfp := pc.pp.play.MaxFailPercentage; mfp != nil && len(pc.batch) > 0 {
		bad := 0
		for _, hr := range pc.batch {
			if hr.failed || hr.unreachable {
				bad++
			}
		}
		if pct := float64(bad) * 100 / float64(len(pc.batch)); pct > *mfp {
			r.abort = true
			r.em.emit(events.Event{Kind: events.Warning, Play: pc.pp.title, Task: pc.taskTitle,
				Msg: fmt.Sprintf("max_fail_percentage %g%% exceeded: %d of %d hosts of the batch failed, stopping the run", *mfp, bad, len(pc.batch))})
		}
	}
}

// apply records an outcome on a host: stats, register, facts, failed/unreachable. ran is
// false for the hosts a run_once result is copied to.
func (r *run) apply(tp *taskPlan, hr *hostRun, o *outcome, bc blockCtx, ran bool) {
	st := r.stat(hr.name)
	if ran || o.isFailed() {
		switch o.status {
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
	if reg := tp.t.Register; reg != "" && o.reg != nil {
		r.setFact(hr, reg, o.reg)
	}
	for k, v := range o.facts {
		r.setFact(hr, k, v)
	}
	switch o.status {
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

// runHost runs a task on one host (all loop items) and emits its results.
func (r *run) runHost(pc *playCtx, tp *taskPlan, hr *hostRun) *outcome {
	t := tp.t
	start := r.p.opts.Now()
	vars := hr.vars
	base := events.Event{Kind: events.HostResult, Play: pc.pp.title, Task: pc.taskTitle, Pos: t.Pos.String(), Host: hr.name}
	fail := func(msg string) *outcome {
		o := &outcome{status: events.Failed, msg: msg, reg: map[string]any{"changed": false, "failed": true, "skipped": false, "msg": msg}}
		if t.IgnoreErrors {
			o.status = events.Ignored
		}
		o.dur = r.p.opts.Now().Sub(start)
		r.emitOutcome(base, tp, o, nil)
		return o
	}
	if len(hr.lazy) > 0 {
		vars = copyMap(hr.vars, len(hr.lazy)+len(tp.vars)+1)
		for _, lv := range hr.lazy {
			// A variable that still cannot be rendered stays undefined: a template that uses
			// it says so.
			if v, err := tmpl.RenderDeep(lv.raw, vars); err == nil {
				vars[lv.name] = v
			}
		}
	}
	if len(tp.vars) > 0 {
		if len(hr.lazy) == 0 {
			vars = copyMap(hr.vars, len(tp.vars)+1)
		}
		for _, k := range tp.varOrder {
			v, err := tmpl.RenderDeep(tp.vars[k].V, vars)
			if err != nil {
				return fail(fmt.Sprintf("%s: vars %q: %v", tp.vars[k].Pos, k, err))
			}
			vars[k] = v
		}
	}
	if t.Loop == nil {
		o := r.runItem(pc, tp, hr, vars, nil)
		o.dur = r.p.opts.Now().Sub(start)
		r.emitOutcome(base, tp, o, nil)
		return o
	}

	var items []any
	if s, ok := t.Loop.V.(string); ok {
		v, err := tmpl.Render(s, vars)
		if err != nil {
			return fail(fmt.Sprintf("%s: loop: %v", t.Loop.Pos, err))
		}
		l, ok := toList(v)
		if !ok {
			return fail(fmt.Sprintf("%s: loop: %q gives a %T, not a list", t.Loop.Pos, s, v))
		}
		items = l
	} else {
		v, err := tmpl.RenderDeep(t.Loop.V, vars)
		if err != nil {
			return fail(fmt.Sprintf("%s: loop: %v", t.Loop.Pos, err))
		}
		l, ok := toList(v)
		if !ok {
			return fail(fmt.Sprintf("%s: loop must be a list, not a %T", t.Loop.Pos, v))
		}
		items = l
	}

	agg := &outcome{status: events.OK}
	results := make([]any, 0, len(items))
	allSkipped := len(items) > 0
	anyChanged, anyFailed, anyIgnored := false, false, false
	for _, item := range items {
		if r.ctx.Err() != nil {
			break
		}
		ivars := copyMap(vars, 1)
		ivars[tp.loopVar] = item
		itemStart := r.p.opts.Now()
		o := r.runItem(pc, tp, hr, ivars, item)
		o.dur = r.p.opts.Now().Sub(itemStart)
		r.emitOutcome(base, tp, o, item)
		reg := copyMap(o.reg, 2)
		reg[tp.loopVar] = item
		if tp.loopVar != "item" {
			reg["item"] = item
		}
		results = append(results, reg)
		for k, v := range o.facts {
			if agg.facts == nil {
				agg.facts = map[string]any{}
			}
			agg.facts[k] = v
		}
		switch o.status {
		case events.Unreachable:
			agg.status, agg.msg = events.Unreachable, o.msg
		case events.Failed:
			anyFailed = true
		case events.Ignored:
			anyIgnored = true
		case events.Changed:
			anyChanged = true
		}
		if o.status != events.Skipped {
			allSkipped = false
		}
		if o.unknown {
			agg.unknown = true
		}
		agg.check = agg.check || o.check
		if agg.delegate == "" {
			agg.delegate = o.delegate
		}
		if o.status == events.Unreachable {
			break
		}
	}
	agg.dur = r.p.opts.Now().Sub(start)
	// An ignored failure is still a failure in the registered value (as a single task's is):
	// ignore_errors only lets the play go on.
	agg.reg = map[string]any{"changed": anyChanged, "failed": anyFailed || anyIgnored, "skipped": allSkipped, "msg": "", "results": results}
	switch {
	case agg.status == events.Unreachable:
	case anyFailed:
		agg.status, agg.msg = events.Failed, "one or more items failed"
	case anyIgnored:
		agg.status, agg.msg = events.Ignored, "one or more items failed"
	case allSkipped:
		agg.status = events.Skipped
	case anyChanged:
		agg.status = events.Changed
	}
	agg.reg["msg"] = agg.msg
	if agg.status == events.Failed || agg.status == events.Ignored || agg.status == events.Unreachable {
		// Items were shown one by one; the summary line says the task as a whole failed.
		r.emitOutcome(base, tp, agg, nil)
	}
	return agg
}

// emitOutcome sends a HostResult event, hiding the result of a no_log task.
func (r *run) emitOutcome(base events.Event, tp *taskPlan, o *outcome, item any) {
	ev := base
	ev.Status, ev.Msg, ev.Unknown, ev.Check, ev.Delegate, ev.Duration = o.status, o.msg, o.unknown, o.check, o.delegate, o.dur
	ev.Item = item
	if o.reg != nil {
		ev.Result = o.reg
	}
	if o.diff != nil && r.p.opts.Diff {
		ev.Diff = &events.Diff{Before: o.diff.Before, After: o.diff.After, BeforeLabel: o.diff.BeforeLabel, AfterLabel: o.diff.AfterLabel}
	}
	if tp.t.NoLog {
		ev.Result = map[string]any{"censored": noLogMsg}
		ev.Msg = noLogMsg
		ev.Diff = nil
		if item != nil {
			ev.Item = "(hidden)"
		}
	}
	r.em.emit(ev)
}

// runItem runs the task once on a host (one loop item, or the task without loop): when,
// arguments, the module with until/retries, failed_when and changed_when.
func (r *run) runItem(pc *playCtx, tp *taskPlan, hr *hostRun, vars map[string]any, item any) *outcome {
	t := tp.t
	p := r.p
	failed := func(format string, a ...any) *outcome {
		msg := fmt.Sprintf(format, a...)
		o := &outcome{status: events.Failed, msg: msg, reg: map[string]any{"changed": false, "failed": true, "skipped": false, "msg": msg}}
		if t.IgnoreErrors {
			o.status = events.Ignored
		}
		return o
	}
	for i, prog := range tp.when {
		ok, err := tmpl.Truth(prog, vars)
		if err != nil {
			return failed("%s: when: %v", t.When[i].Pos, err)
		}
		if !ok {
			return &outcome{status: events.Skipped, msg: "condition false: " + prog.Source,
				reg: map[string]any{"changed": false, "skipped": true, "failed": false, "msg": "", "skip_reason": "condition false: " + prog.Source}}
		}
	}

	raw := make(map[string]any, len(t.Args))
	for name, v := range t.Args {
		rv, err := tmpl.RenderDeep(v.V, vars)
		if err != nil {
			return failed("%s: argument %q: %v", v.Pos, name, err)
		}
		raw[name] = rv
	}
	for _, a := range tp.spec.Args {
		if a.Secret {
			p.secrets.AddAll(raw[a.Name])
		}
	}
	args, err := tp.spec.Coerce(raw, nil)
	if err != nil {
		return failed("%s: module %s: %v", t.ModulePos, t.Module, err)
	}

	o := &outcome{}
	execHost := hr.name
	if t.DelegateTo != nil {
		name, err := renderHostName(t.DelegateTo.V, vars)
		if err != nil {
			return failed("%s: delegate_to: %v", t.DelegateTo.Pos, err)
		}
		if _, ok := p.hostByName[name]; !ok {
			return failed("%s: delegate_to %q: no such host in the inventory", t.DelegateTo.Pos, name)
		}
		execHost, o.delegate = name, name
	}
	check := p.opts.Check
	if pc.pp.play.CheckMode != nil {
		check = *pc.pp.play.CheckMode
	}
	if t.CheckMode != nil {
		check = *t.CheckMode
	}
	o.check = check

	var conn transport.Conn
	if tp.spec.Controller {
		conn = r.controller
	} else {
		c, err := r.conns.get(r.ctx, execHost)
		if err != nil {
			if r.ctx.Err() != nil {
				return failed("interrupted before %s could be reached", execHost)
			}
			msg := err.Error()
			return &outcome{status: events.Unreachable, msg: msg, delegate: o.delegate,
				reg: map[string]any{"changed": false, "failed": false, "unreachable": true, "skipped": false, "msg": msg}}
		}
		conn = c
	}

	env := map[string]string{}
	for _, m := range []map[string]playbook.Value{pc.pp.play.Environment, t.Environment} {
		for k, v := range m {
			rv, err := tmpl.RenderString(fmt.Sprint(v.V), vars)
			if err != nil {
				return failed("%s: environment %q: %v", v.Pos, k, err)
			}
			env[k] = rv
		}
	}
	become, becomeUser, becomePassword := hr.h.Become, hr.h.BecomeUser, p.becomePasswords[hr.name]
	if pc.pp.play.Become != nil {
		become = *pc.pp.play.Become
	}
	if pc.pp.play.BecomeUser != "" {
		becomeUser = pc.pp.play.BecomeUser
	}
	if t.Become != nil {
		become = *t.Become
	}
	if t.BecomeUser != "" {
		becomeUser = t.BecomeUser
	}
	if bp, ok := vars["become_password"].(string); ok && bp != "" {
		becomePassword = bp
	}
	p.secrets.Add(becomePassword)

	host := &modules.Host{
		Name:           hr.name,
		Conn:           conn,
		Controller:     r.controller,
		Vars:           vars,
		CheckMode:      check,
		Diff:           p.opts.Diff,
		Become:         become,
		BecomeUser:     becomeUser,
		BecomePassword: becomePassword,
		Environment:    env,
		Render:         func(s string) (any, error) { return tmpl.Render(s, vars) },
		Eval: func(src string) (any, error) {
			prog, err := tmpl.CompileValue(src, nil)
			if err != nil {
				return nil, err
			}
			return tmpl.Eval(prog, vars)
		},
		Output:    r.outputFunc(pc, tp, hr.name),
		Confirm:   r.confirm,
		AddSecret: p.secrets.Add,
		Mask:      p.secrets.Mask,
	}

	attempts := 1
	if tp.until != nil {
		retries := t.Retries
		if retries <= 0 {
			retries = 3
		}
		attempts = retries + 1
	}
	var res *outcome
	for attempt := 1; attempt <= attempts; attempt++ {
		res = r.callModule(tp, host, args, check)
		res.delegate, res.check = o.delegate, check
		if res.status == events.Unreachable || r.ctx.Err() != nil {
			break
		}
		if err := r.applyResultConds(tp, vars, res); err != nil {
			res = failed("%v", err)
			break
		}
		if tp.until == nil {
			break
		}
		res.reg["attempts"] = attempt
		if check && res.unknown {
			// A probe that cannot tell cannot say whether waiting would end either.
			break
		}
		uv := copyMap(vars, 2)
		uv["result"] = res.reg
		if t.Register != "" {
			uv[t.Register] = res.reg
		}
		ok, err := tmpl.Truth(tp.until, uv)
		if err != nil {
			res = failed("%s: until: %v", t.Until.Pos, err)
			break
		}
		if ok {
			break
		}
		if check && res.status != events.Failed {
			// A dry run does not wait: say what a real run would wait for.
			res.unknown = true
			res.reg["unknown"] = true
			res.msg = strings.TrimSpace(fmt.Sprintf("would wait until %s (not true now). %s", tp.until.Source, res.msg))
			res.reg["msg"] = res.msg
			break
		}
		if attempt == attempts {
			res.status = events.Failed
			res.reg["failed"] = true
			res.msg = strings.TrimSpace(fmt.Sprintf("until %q still false after %d attempts. %s", tp.until.Source, attempts, res.msg))
			res.reg["msg"] = res.msg
			break
		}
		// Say why nothing seems to happen: until loops often wait minutes.
		r.em.emit(events.Event{Kind: events.HostOutput, Play: pc.pp.title, Task: pc.taskTitle, Host: hr.name, Stream: "retry",
			Line: fmt.Sprintf("FAILED - RETRYING: %s (%d retries left)", pc.taskTitle, attempts-attempt)})
		if !sleepCtx(r.ctx, t.Delay) {
			break
		}
	}
	if res.status == events.Failed && t.IgnoreErrors {
		res.status = events.Ignored
	}
	return res
}

// callModule runs Check or Apply with the task's timeout and turns what came back into an
// outcome with its registered value.
func (r *run) callModule(tp *taskPlan, host *modules.Host, args modules.Args, check bool) *outcome {
	t := tp.t
	ctx := r.ctx
	var cancel context.CancelFunc
	if t.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	res, err := safeCall(ctx, tp, host, args, check)
	if err != nil {
		if transport.IsUnreachable(err) {
			return &outcome{status: events.Unreachable, msg: err.Error(),
				reg: map[string]any{"changed": false, "failed": false, "unreachable": true, "skipped": false, "msg": err.Error()}}
		}
		msg := err.Error()
		switch {
		case t.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil:
			msg = fmt.Sprintf("task timed out after %s (its timeout): the command was killed", t.Timeout)
		case r.ctx.Err() != nil:
			msg = "interrupted: " + msg
		}
		res = modules.Result{Failed: true, Msg: msg, Data: res.Data}
	} else if t.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil {
		// The module reported the cut-off itself; still say it was the task's timeout.
		res.Failed = true
		res.Msg = strings.TrimSuffix(fmt.Sprintf("task timed out after %s (its timeout): %s", t.Timeout, res.Msg), ": ")
	}
	reg := make(map[string]any, len(res.Data)+5)
	for k, v := range res.Data {
		reg[k] = v
	}
	reg["changed"], reg["failed"], reg["skipped"], reg["msg"] = res.Changed, res.Failed, res.Skipped, res.Msg
	if res.Unknown {
		reg["unknown"] = true
	}
	o := &outcome{reg: reg, msg: res.Msg, unknown: res.Unknown, diff: res.Diff, facts: res.Facts}
	switch {
	case res.Failed:
		o.status = events.Failed
	case res.Skipped:
		o.status = events.Skipped
	case res.Changed:
		o.status = events.Changed
	default:
		o.status = events.OK
	}
	return o
}

// safeCall runs the module, turning a panic into an error: one broken module must not take
// the other hosts' runs down with it.
func safeCall(ctx context.Context, tp *taskPlan, host *modules.Host, args modules.Args, check bool) (res modules.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("module %s crashed: %v (this is a bug in the module: please report it)", tp.t.Module, v)
		}
	}()
	if check {
		return tp.mod.Check(ctx, host, args)
	}
	return tp.mod.Apply(ctx, host, args)
}

// applyResultConds applies failed_when and changed_when to a module's result.
func (r *run) applyResultConds(tp *taskPlan, vars map[string]any, o *outcome) error {
	if len(tp.failedWhen) == 0 && len(tp.changedWhen) == 0 {
		return nil
	}
	if o.status == events.Skipped || o.unknown || (o.check && o.status == events.Changed) {
		// A check that could not tell what would happen, or that says what it would do, has
		// no outcome (rc, stdout) to judge: failed_when and changed_when speak of a real
		// run's result, so a dry run reports the check as it is.
		return nil
	}
	cv := copyMap(vars, 2)
	cv["result"] = o.reg
	if tp.t.Register != "" {
		cv[tp.t.Register] = o.reg
	}
	all := func(progs []*tmpl.Program, vals []playbook.Value, what string) (bool, error) {
		for i, prog := range progs {
			ok, err := tmpl.Truth(prog, cv)
			if err != nil {
				return false, fmt.Errorf("%s: %s: %w", vals[i].Pos, what, err)
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}
	if len(tp.changedWhen) > 0 {
		changed, err := all(tp.changedWhen, tp.t.ChangedWhen, "changed_when")
		if err != nil {
			return err
		}
		o.reg["changed"] = changed
		if o.status == events.Changed || o.status == events.OK {
			o.status = events.OK
			if changed {
				o.status = events.Changed
			}
		}
	}
	if len(tp.failedWhen) > 0 {
		failed, err := all(tp.failedWhen, tp.t.FailedWhen, "failed_when")
		if err != nil {
			return err
		}
		o.reg["failed"] = failed
		switch {
		case failed:
			o.status = events.Failed
			if o.msg == "" {
				o.msg = "failed_when held: " + tp.failedWhen[0].Source
				o.reg["msg"] = o.msg
			}
		case o.status == events.Failed:
			o.status = events.OK
			if c, _ := o.reg["changed"].(bool); c {
				o.status = events.Changed
			}
		}
	}
	return nil
}

// outputFunc gives a module the live output sink for one host.
func (r *run) outputFunc(pc *playCtx, tp *taskPlan, host string) func(stream, line string) {
	if r.p.opts.Verbosity < 1 || tp.t.NoLog {
		return func(string, string) {}
	}
	return func(stream, line string) {
		r.em.emit(events.Event{Kind: events.HostOutput, Play: pc.pp.title, Task: pc.taskTitle, Host: host, Stream: stream, Line: line})
	}
}

// confirm asks the operator a yes/no question, one at a time.
func (r *run) confirm(ctx context.Context, prompt string) (bool, error) {
	o := r.p.opts
	if o.Yes {
		return true, nil
	}
	if !o.Terminal || o.Stdin == nil {
		return false, errors.New("cannot ask for confirmation: no terminal (rerun with --yes or from a terminal)")
	}
	r.confirmMu.Lock()
	defer r.confirmMu.Unlock()
	if o.Prompt != nil {
		fmt.Fprintf(o.Prompt, "%s [y/N]: ", r.p.secrets.Mask(prompt))
	}
	if r.stdin == nil {
		// One reader for the whole run: answers piped in together must not be lost.
		r.stdin = bufio.NewReader(o.Stdin)
	}
	in := r.stdin
	answer := make(chan string, 1)
	go func() {
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			close(answer)
			return
		}
		answer <- line
	}()
	select {
	case line, ok := <-answer:
		if !ok {
			return false, errors.New("no answer: standard input closed")
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// sleepCtx waits d or until ctx ends; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// hosts lists, per play, the hosts it would run on.
func (p *plan) hosts() map[string][]HostInfo {
	out := map[string][]HostInfo{}
	for _, pp := range p.plays {
		infos := make([]HostInfo, 0, len(pp.hosts))
		for _, h := range pp.hosts {
			infos = append(infos, HostInfo{Name: h.Name, Region: h.Region, Vars: p.maskedVars(p.baseVars[h.Name])})
		}
		out[pp.play.Name] = infos
	}
	return out
}

// maskedVars copies vars without the magic variables that hold every host, secrets masked.
func (p *plan) maskedVars(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		if k == "hostvars" || k == "groups" {
			continue
		}
		out[k] = p.secrets.MaskValue(v)
	}
	return out
}

// tasks lists the selected tasks in order.
func (p *plan) tasks() []TaskInfo {
	var out []TaskInfo
	var walk func(pl *playbook.Play, ts []*taskPlan)
	walk = func(pl *playbook.Play, ts []*taskPlan) {
		for _, tp := range ts {
			if tp.t.IsBlock() {
				walk(pl, tp.block)
				walk(pl, tp.rescue)
				walk(pl, tp.always)
				continue
			}
			if !tp.selected {
				continue
			}
			tags := append([]string(nil), tp.tags...)
			sort.Strings(tags)
			out = append(out, TaskInfo{Play: pl.Name, Name: tp.name, Pos: tp.t.Pos.String(), Tags: tags})
		}
	}
	for _, pp := range p.plays {
		walk(pp.play, pp.tasks)
	}
	return out
}

// playTitle is how output names a play: its name, or for a play without one its hosts pattern,
// as ansible-playbook shows "PLAY [all]".
func playTitle(pl *playbook.Play) string {
	if pl.Name != "" {
		return pl.Name
	}
	return pl.Hosts
}

// playShownName is the play's title with a template in it rendered against the play's vars
// and the extra vars, as ansible-playbook renders "PLAY [upgrade to {{ version }}]"; one that
// does not render (it names host variables) stays as written.
func (r *run) playShownName(pl *playbook.Play) string {
	title := playTitle(pl)
	if !tmpl.IsTemplate(title) {
		return title
	}
	vars := make(map[string]any, len(pl.Vars)+len(r.p.extra))
	for k, v := range pl.Vars {
		vars[k] = normalize(v.V)
	}
	for k, v := range r.p.extra {
		vars[k] = v
	}
	out, err := tmpl.RenderString(title, vars)
	if err != nil {
		return title
	}
	return out
}

// shownName is a task's name with a template in it rendered against the variables of the
// first host it runs on, as ansible-playbook titles "TASK [stop {{ name }}]"; a name that does
// not render (it uses the loop variable, or a name set later) stays as written. Only output
// shows it: --start-at-task and the resume hint use the name as written.
func shownName(name string, hosts []*hostRun) string {
	if !tmpl.IsTemplate(name) || len(hosts) == 0 {
		return name
	}
	out, err := tmpl.RenderString(name, hosts[0].vars)
	if err != nil {
		return name
	}
	return out
}
