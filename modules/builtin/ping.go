package builtin

import (
	"context"
	"fmt"

	"github.com/omsbook/omsbook/modules"
)

// Ping proves that a host can be reached and runs commands, as Ansible's ping.
type Ping struct{}

func (Ping) Name() string { return "ping" }

func (Ping) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Check that the host is reachable and runs commands; returns pong",
		Description: "Runs `true` on the host over its connection (Ansible's ping proves a usable " +
			"Python; omsbook needs only a POSIX shell) and registers `ping` with `data`. With " +
			"data=crash it fails, as Ansible's does.",
		CheckMode: "The same as a run: it changes nothing, so it reports ok.",
		Args: []modules.Arg{
			{Name: "data", Type: modules.String, Default: "pong", Doc: "what to return in ping; crash makes the task fail"},
		},
		Returns: []modules.Field{{Name: "ping", Type: "string", Doc: "the data given, pong by default"}},
	}
}

func (m Ping) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Ping) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	data := args.String("data")
	if data == "crash" {
		return modules.Fail("boom: ping was asked to crash (data=crash)", nil), nil
	}
	res, err := h.Conn.Exec(ctx, h.ArgvCmd("true"))
	if err != nil {
		return execError(ctx, "true", err)
	}
	if res.RC != 0 {
		return modules.Fail(fmt.Sprintf("the host cannot run commands: true exited %d", res.RC), nil), nil
	}
	return modules.Result{Data: map[string]any{"ping": data}}, nil
}
