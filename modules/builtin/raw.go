package builtin

import (
	"context"

	"github.com/omsbook/omsbook/modules"
)

// Raw runs a command line through the host's shell with nothing else, as Ansible's raw.
type Raw struct{}

func (Raw) Name() string { return "raw" }

func (Raw) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Run a command line through the host's shell, with nothing else",
		Description: "Sends `cmd` as it is to the host's /bin/sh -c (or `executable` -c) over the " +
			"connection: no module preparation, no file transfer, no chdir or creates/removes; the " +
			"task's become and environment apply exactly as to any command (raw does not change " +
			"the become wrapper). For hosts that have only a shell. A non-zero exit status fails; " +
			"a command that ran reports changed.",
		CheckMode: "Does not run the command: the result is unknown (raw cannot tell what it would do).",
		FreeForm:  "cmd",
		Args: []modules.Arg{
			{Name: "cmd", Type: modules.String, Required: true, Doc: "the command line (free form)"},
			{Name: "executable", Type: modules.String, Doc: "the shell to run it with instead of /bin/sh (EXECUTABLE -c CMD)"},
		},
		Returns: commandReturns,
	}
}

func (Raw) Check(context.Context, *modules.Host, modules.Args) (modules.Result, error) {
	return modules.Result{Unknown: true, Msg: "raw commands are not run in check mode"}, nil
}

// Apply runs the line as shell does: raw's arguments are shell's without guards or stdin. It
// runs as an ssh session of its own, never through the host's executor: raw is for hosts
// where nothing but the shell can be relied on.
func (Raw) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return Shell{session: true}.Apply(ctx, h, args)
}
