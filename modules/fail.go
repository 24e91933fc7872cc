package modules

import "context"

// failModule fails the task with a message.
type failModule struct{}

func (failModule) Name() string { return "fail" }

func (failModule) Spec() Spec {
	return Spec{
		Summary:     "Fail the task with a message",
		Description: "Always fails, with `msg`; use it with when to stop on a condition. Runs on the controller.",
		CheckMode:   "The same as a real run: it fails.",
		Args: []Arg{
			{Name: "msg", Type: String, Default: "Failed as requested from task", Doc: "the failure message"},
		},
		Controller: true,
	}
}

func (m failModule) Check(ctx context.Context, h *Host, args Args) (Result, error) {
	return m.Apply(ctx, h, args)
}

func (failModule) Apply(ctx context.Context, h *Host, args Args) (Result, error) {
	return Fail(args.String("msg"), nil), nil
}
