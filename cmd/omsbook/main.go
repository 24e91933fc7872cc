// Command omsbook runs Ansible-style playbooks over SSH: the OMS upgrade and rollback
// procedures, and any other playbook written in the same language. This package is the command
// line only: it parses flags, builds the output sinks and the journal, handles signals and maps
// outcomes to exit codes; the work is done by runner.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/omsbook/omsbook/runner"
	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/transport/executor"
)

func main() {
	executor.ServeIfAsked() // `omsbook __executor`: the executor on a host (exits when done)
	transport.SetExecutorBinary("")
	os.Exit(Main(os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}

// stdio are the streams a command uses; tests give buffers.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// usageError is bad usage of the command line (unknown flag, missing argument): exit 5 with
// a line saying how to get it right.
type usageError struct {
	cmd string // the sub-command, "" for omsbook itself
	msg string
}

func (e *usageError) Error() string { return e.msg }

// Main runs the command line args and returns the exit code.
func Main(args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, mainUsage)
		fmt.Fprintln(std.err, "error: missing command: say what to do, e.g. omsbook run PLAYBOOK -i INVENTORY")
		return runner.ExitBadInput
	}
	name, rest := args[0], args[1:]
	var err error
	code := runner.ExitOK
	switch name {
	case "run":
		code, err = cmdRun(rest, std)
	case "validate":
		err = cmdValidate(rest, std)
	case "list-hosts":
		err = cmdListHosts(rest, std)
	case "list-tasks":
		err = cmdListTasks(rest, std)
	case "inventory":
		err = cmdInventory(rest, std)
	case "doc":
		err = cmdDoc(rest, std)
	case "schema":
		err = cmdSchema(rest, std)
	case "report":
		err = cmdReport(rest, std)
	case "convert":
		code, err = cmdConvert(rest, std)
	case "completion":
		err = cmdCompletion(rest, std)
	case "__complete":
		err = cmdComplete(rest, std)
	case "config":
		err = cmdConfig(rest, std)
	case "version", "--version":
		err = cmdVersion(rest, std)
	case "help", "-h", "--help":
		err = cmdHelp(rest, std)
	default:
		err = &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
	if err == nil {
		return code
	}
	if errors.Is(err, errHelp) {
		return runner.ExitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(std.err, "error: %s\n", ue.msg)
		if ue.cmd == "" {
			fmt.Fprintln(std.err, "run 'omsbook help' to see the commands")
		} else {
			fmt.Fprintf(std.err, "run 'omsbook help %s' for its usage\n", ue.cmd)
		}
		return runner.ExitBadInput
	}
	fmt.Fprintf(std.err, "error: %v\n", err)
	return runner.ExitBadInput
}
