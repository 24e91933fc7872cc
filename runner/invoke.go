package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/tmpl"
	"github.com/omsbook/omsbook/transport"
)

// This file is one invocation: a task run once on a host (one loop item, or the task without
// a loop). It is prepared without I/O from the task's settings (when, arguments, delegate_to,
// check mode, environment, become), then the module is called, with until's attempts, and its
// result judged (failed_when, changed_when, until, ignore_errors).

// invocation is one module call on one host, everything rendered and resolved.
type invocation struct {
	vars     map[string]any
	args     modules.Args
	execHost string // the host the module runs on: the target, or the delegate
	delegate string
	check    bool
	env      map[string]string

	become                     bool
	becomeUser, becomePassword string
	// progress passes the module's progress on as events; nil when nobody asked for them.
	progress modules.ProgressFunc
}

// runItem runs the task once on a host.
func (r *run) runItem(pc *playCtx, tp *taskPlan, hr *hostRun, vars map[string]any, item any) *result {
	inv, res := r.prepare(tp, hr, vars)
	if res != nil {
		return res
	}
	conn, res := r.connFor(tp, inv)
	if res != nil {
		return res
	}
	inv.progress = r.progressFunc(pc, hr.name)
	return r.attempt(pc, tp, inv, r.moduleHost(pc, tp, hr, inv, conn))
}

// prepare renders and resolves everything the module call needs, without I/O. A result comes
// back instead when the task does not run: when: is false, or something does not render.
func (r *run) prepare(tp *taskPlan, hr *hostRun, vars map[string]any) (*invocation, *result) {
	set := &tp.set
	inv := &invocation{vars: vars, execHost: hr.name}
	for _, v := range set.valuesOf("when") {
		ok, err := tmpl.Truth(v.prog, vars)
		if err != nil {
			return nil, failure(set, fmt.Sprintf("%s: when: %v", v.val.Pos, err))
		}
		if !ok {
			return nil, &result{skipped: true, skipReason: "condition false: " + v.prog.Source}
		}
	}
	args, fail := r.renderArgs(tp, vars)
	if fail != nil {
		return nil, fail
	}
	inv.args = args
	if v, ok := set.firstOf("delegate_to"); ok {
		name, err := renderHostName(v.val.V, vars)
		if err != nil {
			return nil, failure(set, fmt.Sprintf("%s: delegate_to: %v", v.val.Pos, err))
		}
		host, ok := r.p.delegateHost(name)
		if !ok {
			return nil, failure(set, fmt.Sprintf("%s: delegate_to %q: no such host in the inventory", v.val.Pos, name))
		}
		inv.execHost, inv.delegate = host, name
	}
	inv.check = r.p.opts.Check
	if set.checkMode != nil {
		inv.check = *set.checkMode
	}
	inv.env = map[string]string{}
	for _, v := range set.valuesOf("environment") {
		rv, err := tmpl.RenderString(fmt.Sprint(v.val.V), vars)
		if err != nil {
			return nil, failure(set, fmt.Sprintf("%s: environment %q: %v", v.val.Pos, v.key, err))
		}
		inv.env[v.key] = rv
	}
	r.resolveBecome(tp, hr, inv)
	return inv, nil
}

// renderArgs renders the module arguments for the host and coerces them to the module's
// declared types; secret arguments are registered before anything can print them.
func (r *run) renderArgs(tp *taskPlan, vars map[string]any) (modules.Args, *result) {
	t := tp.t
	raw := make(map[string]any, len(t.Args))
	for name, v := range t.Args {
		rv, err := tmpl.RenderDeep(v.V, vars)
		if err != nil {
			return nil, failure(&tp.set, fmt.Sprintf("%s: argument %q: %v", v.Pos, name, err))
		}
		raw[name] = rv
	}
	for _, a := range tp.spec.Args {
		if a.Secret {
			r.p.secrets.AddAll(raw[a.Name])
		}
	}
	args, err := tp.spec.Coerce(raw, nil)
	if err != nil {
		return nil, failure(&tp.set, fmt.Sprintf("%s: module %s: %v", t.ModulePos, t.Module, err))
	}
	return args, nil
}

// resolveBecome puts the host's inventory become settings below the task's.
func (r *run) resolveBecome(tp *taskPlan, hr *hostRun, inv *invocation) {
	set := &tp.set
	inv.become, inv.becomeUser, inv.becomePassword = hr.h.Become, hr.h.BecomeUser, r.p.becomePasswords[hr.name]
	if set.become != nil {
		inv.become = *set.become
	}
	if set.becomeUser != "" {
		inv.becomeUser = set.becomeUser
	}
	if bp, ok := inv.vars["become_password"].(string); ok && bp != "" {
		inv.becomePassword = bp
	}
	r.p.secrets.Add(inv.becomePassword)
}

// connFor finds the connection the module runs over: the controller's for a module that runs
// there, else the (delegate) host's, dialed on first use.
func (r *run) connFor(tp *taskPlan, inv *invocation) (transport.Conn, *result) {
	if tp.spec.Controller {
		return r.controller, nil
	}
	c, err := r.conns.get(r.ctx, inv.execHost, tp.set.remoteUser)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, failure(&tp.set, fmt.Sprintf("interrupted before %s could be reached", inv.execHost))
		}
		return nil, unreachableResult(err.Error(), inv.delegate)
	}
	return c, nil
}

// moduleHost is what the module sees of the host it runs for.
func (r *run) moduleHost(pc *playCtx, tp *taskPlan, hr *hostRun, inv *invocation, conn transport.Conn) *modules.Host {
	p, vars := r.p, inv.vars
	return &modules.Host{
		Name:           hr.name,
		Conn:           conn,
		Controller:     r.controller,
		Vars:           vars,
		Diff:           p.opts.Diff,
		Become:         inv.become,
		BecomeUser:     inv.becomeUser,
		BecomePassword: inv.becomePassword,
		Environment:    inv.env,
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
		AtRunEnd:  r.held.add,
	}
}

// attempt calls the module, as often as until allows, and judges each result.
func (r *run) attempt(pc *playCtx, tp *taskPlan, inv *invocation, host *modules.Host) *result {
	set := &tp.set
	until, hasUntil := set.firstOf("until")
	var res *result
	for n := 1; n <= set.attempts; n++ {
		res = r.callModule(tp, host, inv)
		if res.unreachable || r.ctx.Err() != nil {
			break
		}
		if err := r.judge(tp, inv.vars, res); err != nil {
			res = failure(set, err.Error())
			break
		}
		if !hasUntil {
			break
		}
		res.attempts = n
		again, err := r.untilAgain(tp, until, inv, res, n)
		if err != nil {
			res = failure(set, err.Error())
			break
		}
		if !again {
			break
		}
		// Say why nothing seems to happen: until loops often wait minutes.
		r.em.emit(events.Event{Kind: events.HostOutput, Play: pc.pp.title, Task: pc.taskTitle, Host: host.Name, Stream: "retry",
			Line: fmt.Sprintf("FAILED - RETRYING: %s (%d retries left)", pc.taskTitle, set.attempts-n)})
		if !sleepCtx(r.ctx, set.delay) {
			break
		}
	}
	res.ignored = set.ignoreErrors
	return res
}

// untilAgain evaluates until on attempt n's result and says whether to try again. When it
// will not, res says why: a dry run does not wait (unknown), and the last attempt fails.
func (r *run) untilAgain(tp *taskPlan, until kwValue, inv *invocation, res *result, n int) (bool, error) {
	if inv.check && res.unknown {
		// A probe that cannot tell cannot say whether waiting would end either.
		return false, nil
	}
	uv := copyMap(inv.vars, 2)
	reg := res.registered()
	uv["result"] = reg
	if tp.t.Register != "" {
		uv[tp.t.Register] = reg
	}
	ok, err := tmpl.Truth(until.prog, uv)
	switch {
	case err != nil:
		return false, fmt.Errorf("%s: until: %v", until.val.Pos, err)
	case ok:
		return false, nil
	case inv.check && !res.failed:
		// A dry run does not wait: say what a real run would wait for.
		res.unknown = true
		res.msg = strings.TrimSpace(fmt.Sprintf("would wait until %s (not true now). %s", until.prog.Source, res.msg))
		return false, nil
	case n == tp.set.attempts:
		res.failed = true
		res.msg = strings.TrimSpace(fmt.Sprintf("until %q still false after %d attempts. %s", until.prog.Source, n, res.msg))
		return false, nil
	}
	return true, nil
}

// callModule runs Check or Apply with the task's timeout and turns what came back into a
// result.
func (r *run) callModule(tp *taskPlan, host *modules.Host, inv *invocation) *result {
	ctx := r.ctx
	timeout := tp.set.timeout
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx = modules.WithProgress(ctx, inv.progress)
	timedOut := func() bool {
		return timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil
	}
	mr, err := safeCall(ctx, tp, host, inv.args, inv.check)
	if err != nil {
		if transport.IsUnreachable(err) {
			return unreachableResult(err.Error(), inv.delegate)
		}
		msg := err.Error()
		switch {
		case timedOut():
			msg = fmt.Sprintf("task timed out after %s (its timeout): the command was killed", timeout)
		case r.ctx.Err() != nil:
			msg = "interrupted: " + msg
		}
		mr = modules.Result{Failed: true, Msg: msg, Data: mr.Data}
	} else if timedOut() {
		// The module reported the cut-off itself; still say it was the task's timeout.
		mr.Failed = true
		mr.Msg = strings.TrimSuffix(fmt.Sprintf("task timed out after %s (its timeout): %s", timeout, mr.Msg), ": ")
	}
	return &result{
		changed: mr.Changed, failed: mr.Failed, skipped: mr.Skipped, unknown: mr.Unknown,
		msg: mr.Msg, data: mr.Data, diff: mr.Diff, facts: mr.Facts,
		check: inv.check, delegate: inv.delegate,
	}
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

// judge applies changed_when, then failed_when (which sees changed_when's verdict), to a
// module's result.
func (r *run) judge(tp *taskPlan, vars map[string]any, res *result) error {
	changedWhen, failedWhen := tp.set.valuesOf("changed_when"), tp.set.valuesOf("failed_when")
	if len(changedWhen) == 0 && len(failedWhen) == 0 {
		return nil
	}
	if res.status() == events.Skipped || res.unknown || (res.check && res.status() == events.Changed) {
		// A check that could not tell what would happen, or that says what it would do, has
		// no outcome (rc, stdout) to judge: failed_when and changed_when speak of a real
		// run's result, so a dry run reports the check as it is.
		return nil
	}
	cv := copyMap(vars, 2)
	reg := res.registered()
	cv["result"] = reg
	if tp.t.Register != "" {
		cv[tp.t.Register] = reg
	}
	if len(changedWhen) > 0 {
		changed, err := allTrue(changedWhen, cv)
		if err != nil {
			return err
		}
		res.changed, reg["changed"] = changed, changed
	}
	if len(failedWhen) > 0 {
		failed, err := allTrue(failedWhen, cv)
		if err != nil {
			return err
		}
		res.failed = failed
		if failed && res.msg == "" {
			res.msg = "failed_when held: " + failedWhen[0].prog.Source
		}
	}
	return nil
}

// allTrue reports whether every condition holds.
func allTrue(conds []kwValue, vars map[string]any) (bool, error) {
	for _, c := range conds {
		ok, err := tmpl.Truth(c.prog, vars)
		if err != nil {
			return false, fmt.Errorf("%s: %s: %w", c.val.Pos, c.kw.Name, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// outputFunc gives a module the live output sink for one host.
func (r *run) outputFunc(pc *playCtx, tp *taskPlan, host string) func(stream, line string) {
	if r.p.opts.Verbosity < 1 || tp.set.noLog {
		return func(string, string) {}
	}
	return func(stream, line string) {
		r.em.emit(events.Event{Kind: events.HostOutput, Play: pc.pp.title, Task: pc.taskTitle, Host: host, Stream: stream, Line: line})
	}
}

// controllerNames are the names that mean the controller in delegate_to, as Ansible reads
// them, unless the inventory has a host of that name.
var controllerNames = map[string]bool{"127.0.0.1": true, "::1": true, "localhost.localdomain": true, "localhost6": true}

// delegateHost is the inventory host a delegate_to name means: a host of that name, or the
// controller for one of its usual names.
func (p *plan) delegateHost(name string) (string, bool) {
	if _, ok := p.hostByName[name]; ok {
		return name, true
	}
	if controllerNames[name] {
		return inventory.ControllerName, true
	}
	return "", false
}
