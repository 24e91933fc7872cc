package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// Command runs a program on the host without a shell.
type Command struct{}

func (Command) Name() string { return "command" }

func (Command) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Run a program on the host, without a shell",
		Description: "Runs `cmd` (split into words with shell-like quoting, but with no shell " +
			"features: no variables, pipes, globs or redirections; use shell for those) or `argv` " +
			"(a list of words, no quoting needed). A non-zero exit status fails the task with " +
			"\"non-zero return code\". Like Ansible, a command that ran reports changed; use " +
			"changed_when to say otherwise. Output lines stream live with -v.",
		CheckMode: "Does not run the command: the result is unknown (\"command not run in check " +
			"mode\"), unless creates/removes already decide that it would be skipped (ok).",
		FreeForm: "cmd",
		Args: append([]modules.Arg{
			{Name: "cmd", Type: modules.String, Doc: "the command line, split into words with shell-like quoting"},
			{Name: "argv", Type: modules.StringList, Doc: "the command as a list of words (instead of cmd)"},
			{Name: "stdin", Type: modules.String, Doc: "text fed to the command's standard input"},
			{Name: "stdin_add_newline", Type: modules.Bool, Default: true, Doc: "append a newline to stdin"},
		}, guardArgs...),
		Returns: commandReturns,
	}
}

// Validate requires exactly one of cmd and argv, and a command in it: an empty one, or a cmd
// line whose quotes do not close, is bad input found before the run, not a failure on every
// host. A cmd that is still a template (rendered at run time) is checked when it runs.
func (Command) Validate(args modules.Args) error {
	if err := oneOf(args, "cmd", "argv"); err != nil {
		return err
	}
	if line, ok := args["cmd"].(string); ok && !strings.Contains(line, "{{") {
		words, err := splitCommandLine(line)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return errors.New("cmd is empty: give the command to run")
		}
	}
	if argv, ok := args["argv"].([]string); ok && len(argv) == 0 {
		return errors.New("argv is empty: give the program and its arguments")
	}
	return nil
}

func (m Command) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return checkCommand(ctx, h, args, commandDisplay(args))
}

func (m Command) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	argv, err := commandArgv(args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	return runCommand(ctx, h, args, anyList(argv), h.ArgvCmd(argv...))
}

// oneOf says that exactly one of two arguments must be given.
func oneOf(args modules.Args, a, b string) error {
	switch {
	case args.Has(a) && args.Has(b):
		return errors.New("give either " + a + " or " + b + ", not both")
	case !args.Has(a) && !args.Has(b):
		return errors.New("give " + a + " or " + b)
	}
	return nil
}

// commandArgv is the argv of a command module's arguments.
func commandArgv(args modules.Args) ([]string, error) {
	if err := oneOf(args, "cmd", "argv"); err != nil {
		return nil, err
	}
	argv := args.Strings("argv")
	if args.Has("cmd") {
		var err error
		if argv, err = splitCommandLine(args.String("cmd")); err != nil {
			return nil, err
		}
	}
	if len(argv) == 0 {
		return nil, errors.New("the command is empty: give the program to run")
	}
	return argv, nil
}

// commandDisplay is the registered cmd of a command module: its argv when it can be split.
func commandDisplay(args modules.Args) any {
	if argv, err := commandArgv(args); err == nil {
		return anyList(argv)
	}
	return args.String("cmd")
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// chdirProblem says, as Ansible does, when chdir names no directory: the process would fail
// to start with an error that blames the program ("fork/exec /usr/bin/pwd: no such file or
// directory"), not the directory. A directory the login user cannot stat (become) is left to
// the command.
func chdirProblem(ctx context.Context, h *modules.Host, dir string) string {
	if dir == "" {
		return ""
	}
	fi, err := h.Conn.Stat(ctx, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("unable to change directory before execution: %s does not exist", dir)
	case err == nil && !fi.IsDir:
		return fmt.Sprintf("unable to change directory before execution: %s is not a directory", dir)
	}
	return ""
}

// checkCommand is Check for command and shell: only creates/removes can decide anything.
func checkCommand(ctx context.Context, h *modules.Host, args modules.Args, display any) (modules.Result, error) {
	reason, err := guardSkip(ctx, h, args)
	if err != nil {
		return modules.Result{}, err
	}
	if reason != "" {
		return modules.Result{Msg: reason, Data: skippedCommandData(display, reason)}, nil
	}
	return modules.Result{Unknown: true, Msg: "command not run in check mode"}, nil
}

// runCommand is Apply for command and shell: guards, stdin, chdir, live output, the result.
func runCommand(ctx context.Context, h *modules.Host, args modules.Args, display any, cmd *transport.Cmd) (modules.Result, error) {
	reason, err := guardSkip(ctx, h, args)
	if err != nil {
		return modules.Result{}, err
	}
	if reason != "" {
		return modules.Result{Msg: reason, Data: skippedCommandData(display, reason)}, nil
	}
	cmd.Dir = args.String("chdir")
	if msg := chdirProblem(ctx, h, cmd.Dir); msg != "" {
		return modules.Fail(msg, map[string]any{"cmd": display, "rc": 1}), nil
	}
	if args.Has("stdin") {
		in := args.String("stdin")
		if args.Bool("stdin_add_newline") && !strings.HasSuffix(in, "\n") {
			in += "\n"
		}
		cmd.Stdin = strings.NewReader(in)
	}
	outLines := modules.NewLineWriter("stdout", h.Output)
	errLines := modules.NewLineWriter("stderr", h.Output)
	cmd.Stdout, cmd.Stderr = outLines, errLines
	start := time.Now()
	res, err := h.Conn.Exec(ctx, cmd)
	end := time.Now()
	outLines.Flush()
	errLines.Flush()
	if err != nil {
		return execError(ctx, display, err)
	}
	data := commandData(display, res, start, end)
	if res.RC != 0 {
		r := modules.Fail("non-zero return code", data)
		r.Changed = true
		return r, nil
	}
	return modules.Result{Changed: true, Data: data}, nil
}
