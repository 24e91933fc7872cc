package builtin

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Script copies a controller script to the host and runs it there, as Ansible's script.
type Script struct{}

func (Script) Name() string { return "script" }

func (Script) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Copy a script from the controller to the host and run it there with arguments",
		Description: "`cmd` is the controller script's path (relative paths are looked up in the " +
			"playbook directory's files/, then the playbook directory) followed by its arguments, " +
			"split with shell-like quoting. The script is written to a fresh directory made by the " +
			"host's mktemp -d (mode 0700), run there directly (its #! line picks the interpreter) or " +
			"with `executable`, in `chdir`, and removed afterwards. creates/removes skip it as for " +
			"command. A non-zero exit status fails; a script that ran reports changed.",
		CheckMode: "Does not run the script: unknown, unless creates/removes already decide that " +
			"it would be skipped (ok).",
		FreeForm: "cmd",
		Args: append([]modules.Arg{
			{Name: "cmd", Type: modules.String, Required: true, Doc: "the controller script's path and its arguments (free form)"},
			{Name: "executable", Type: modules.String, Doc: "the interpreter to run the script with (e.g. /bin/bash)"},
		}, guardArgs...),
		Returns: commandReturns,
	}
}

// Validate requires a script.
func (Script) Validate(args modules.Args) error {
	if line, ok := args["cmd"].(string); ok && !unrendered(line) {
		words, err := splitCommandLine(line)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return fmt.Errorf("cmd is empty: give the script's path and its arguments")
		}
	}
	return nil
}

func (Script) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	reason, err := guardSkip(ctx, h, args)
	if err != nil {
		return modules.Result{}, err
	}
	if reason != "" {
		return modules.Result{Msg: reason, Data: skippedCommandData(args.String("cmd"), reason)}, nil
	}
	return modules.Result{Unknown: true, Msg: "script not run in check mode"}, nil
}

func (m Script) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	words, _ := splitCommandLine(args.String("cmd"))
	reason, err := guardSkip(ctx, h, args)
	if err != nil {
		return modules.Result{}, err
	}
	if reason != "" {
		return modules.Result{Msg: reason, Data: skippedCommandData(args.String("cmd"), reason)}, nil
	}
	local, err := controllerPath(h, words[0], "files")
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	fh, err := os.Open(local)
	if err != nil {
		return modules.Fail(fmt.Sprintf("open the script: %v", err), nil), nil
	}
	defer fh.Close()
	mk, err := h.Conn.Exec(ctx, h.ArgvCmd("mktemp", "-d"))
	if err != nil {
		return execError(ctx, "mktemp -d", err)
	}
	if mk.RC != 0 {
		return modules.Fail("mktemp -d on the host: "+strings.TrimSpace(string(mk.Stderr)), nil), nil
	}
	dir := strings.TrimSpace(string(mk.Stdout))
	f := hostFiles(h)
	defer func() { _ = f.Remove(context.WithoutCancel(ctx), dir, true) }()
	remote := path.Join(dir, path.Base(local))
	if err := f.WriteFileAtomic(ctx, remote, fh, 0o700); err != nil {
		return modules.Fail(fmt.Sprintf("copy the script to the host: %v", err), nil), nil
	}
	argv := append([]string{remote}, words[1:]...)
	if exe := args.String("executable"); exe != "" {
		exeWords, err := splitCommandLine(exe)
		if err != nil || len(exeWords) == 0 {
			return modules.Fail(fmt.Sprintf("executable %q is not a command", exe), nil), nil
		}
		argv = append(exeWords, argv...)
	}
	return runCommand(ctx, h, args, args.String("cmd"), h.ArgvCmd(argv...))
}
