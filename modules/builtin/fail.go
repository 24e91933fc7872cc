package builtin

import (
	"context"

	"github.com/omsbook/omsbook/modules"
)

// Fail fails the task with a message.
type Fail struct{}

func (Fail) Name() string { return "fail" }

func (Fail) Spec() modules.Spec {
	return modules.Spec{
		Summary:     "Fail the task with a message",
		Description: "Always fails, with `msg`; use it with when to stop on a condition. Runs on the controller.",
		CheckMode:   "The same as a real run: it fails.",
		Args: []modules.Arg{
			{Name: "msg", Type: modules.String, Default: "Failed as requested from task", Doc: "the failure message"},
		},
		Controller: true,
	}
}

func (m Fail) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Fail) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return modules.Fail(args.String("msg"), nil), nil
}
