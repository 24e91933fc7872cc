package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Shell runs a command line through a shell on the host.
type Shell struct {
	session bool // run as an ssh session of its own, not through the executor (raw)
}

func (Shell) Name() string { return "shell" }

func (Shell) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Run a command line through a shell on the host",
		Description: "Runs `cmd` with /bin/sh -c (or `executable` -c), so pipes, redirections, " +
			"variables and globs work. A non-zero exit status fails the task with \"non-zero " +
			"return code\". Like Ansible, a command that ran reports changed; use changed_when " +
			"to say otherwise. Output lines stream live with -v.",
		CheckMode: "Does not run the command: the result is unknown (\"command not run in check " +
			"mode\"), unless creates/removes already decide that it would be skipped (ok).",
		FreeForm: "cmd",
		Args: append([]modules.Arg{
			{Name: "cmd", Type: modules.String, Required: true, Doc: "the command line for the shell"},
			{Name: "executable", Type: modules.String, Doc: "the shell to use instead of /bin/sh (run as EXECUTABLE -c CMD)"},
			{Name: "stdin", Type: modules.String, Doc: "text fed to the command's standard input"},
			{Name: "stdin_add_newline", Type: modules.Bool, Default: true, Doc: "append a newline to stdin"},
		}, guardArgs...),
		Returns: commandReturns,
	}
}

func (Shell) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return checkCommand(ctx, h, args, args.String("cmd"))
}

func (s Shell) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	line := args.String("cmd")
	if line == "" {
		return modules.Fail("the command line is empty: give the command to run", nil), nil
	}
	cmd := h.Cmd(line)
	if exe := args.String("executable"); exe != "" {
		cmd = h.ArgvCmd(exe, "-c", line)
	}
	cmd.Session = s.session
	return runCommand(ctx, h, args, line, cmd)
}

// Validate refuses an empty command line: the shell would run nothing and report success.
func (Shell) Validate(args modules.Args) error {
	if line, ok := args["cmd"].(string); ok && strings.TrimSpace(line) == "" {
		return errors.New("cmd is empty: give the command line to run")
	}
	return nil
}
