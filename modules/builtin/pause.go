package builtin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// Pause waits for a while, or for the operator's confirmation.
type Pause struct{}

func (Pause) Name() string { return "pause" }

func (Pause) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Wait for a time, or until the operator confirms",
		Description: "With `seconds` or `minutes`, waits that long (an interrupt ends the wait). " +
			"Without them, asks the operator the `prompt` as a yes/no question: yes goes on, no " +
			"fails the task. `--yes` answers yes; without a terminal and without --yes the task " +
			"fails and says to rerun with --yes or from a terminal. Runs on the controller.",
		CheckMode: "A timed pause does not wait (ok). A confirmation is still asked, as Ansible " +
			"does, since the operator is rehearsing the same stops; where no terminal can answer " +
			"and --yes was not given, the result is unknown instead of failed.",
		Args: []modules.Arg{
			{Name: "prompt", Type: modules.String, Default: "Press enter to continue", Doc: "the question or message to show"},
			{Name: "seconds", Type: modules.Duration, Doc: "how long to wait (a number of seconds, or a Go duration)"},
			{Name: "minutes", Type: modules.Int, Doc: "how long to wait, in minutes"},
		},
		Returns: []modules.Field{
			{Name: "confirmed", Type: "bool", Doc: "whether the operator said yes (confirmation pauses)"},
			{Name: "start", Type: "string", Doc: "when the pause began"},
			{Name: "stop", Type: "string", Doc: "when it ended"},
			{Name: "delta", Type: "float", Doc: "how long it lasted, in seconds"},
		},
		Controller: true,
	}
}

// Validate forbids giving both seconds and minutes.
func (Pause) Validate(args modules.Args) error {
	if args.Has("seconds") && args.Has("minutes") {
		return errors.New("give either seconds or minutes, not both")
	}
	return nil
}

func pauseLength(args modules.Args) (time.Duration, bool) {
	switch {
	case args.Has("seconds"):
		return args.Duration("seconds"), true
	case args.Has("minutes"):
		return time.Duration(args.Int("minutes")) * time.Minute, true
	}
	return 0, false
}

func (Pause) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if d, timed := pauseLength(args); timed {
		return modules.Result{Msg: fmt.Sprintf("would pause for %s (not waiting in check mode)", d)}, nil
	}
	return confirmPause(ctx, h, args, true)
}

func (Pause) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	d, timed := pauseLength(args)
	if !timed {
		return confirmPause(ctx, h, args, false)
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return modules.Result{}, fmt.Errorf("pause interrupted: %w", ctx.Err())
	case <-t.C:
	}
	stop := time.Now()
	return modules.Result{
		Msg:  fmt.Sprintf("paused for %s", d),
		Data: map[string]any{"start": ansibleTime(start), "stop": ansibleTime(stop), "delta": stop.Sub(start).Seconds()},
	}, nil
}

func confirmPause(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	prompt := args.String("prompt")
	start := time.Now()
	var (
		yes bool
		err = errors.New("no way to ask the operator")
	)
	if h.Confirm != nil {
		yes, err = h.Confirm(ctx, prompt)
	}
	stop := time.Now()
	data := map[string]any{"confirmed": yes, "start": ansibleTime(start), "stop": ansibleTime(stop), "delta": stop.Sub(start).Seconds()}
	switch {
	case ctx.Err() != nil:
		return modules.Result{}, fmt.Errorf("pause interrupted: %w", ctx.Err())
	case err != nil && check:
		return modules.Result{Unknown: true, Msg: fmt.Sprintf("would ask %q, but cannot ask now (%v): the real run needs --yes or a terminal", prompt, err), Data: data}, nil
	case err != nil:
		return modules.Fail(fmt.Sprintf("pause could not ask %q: %v: rerun with --yes or from a terminal", prompt, err), data), nil
	case !yes:
		return modules.Fail(fmt.Sprintf("the operator answered no to %q", prompt), data), nil
	}
	return modules.Result{Msg: "confirmed: " + prompt, Data: data}, nil
}
