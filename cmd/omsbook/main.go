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
)

func main() {
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
func Main(args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, mainUsage)
		fmt.Fprintln(io.err, "error: missing command: say what to do, e.g. omsbook run PLAYBOOK -i INVENTORY")
		return runner.ExitBadInput
	}
	name, rest := args[0], args[1:]
	var err error
	code := runner.ExitOK
	switch name {
	case "run":
		code, err = cmdRun(rest, io)
	case "validate":
		err = cmdValidate(rest, io)
	case "list-hosts":
		err = cmdListHosts(rest, io)
	case "list-tasks":
		err = cmdListTasks(rest, io)
	case "inventory":
		err = cmdInventory(rest, io)
	case "doc":
		err = cmdDoc(rest, io)
	case "version", "--version":
		err = cmdVersion(rest, io)
	case "help", "-h", "--help":
		err = cmdHelp(rest, io)
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
		fmt.Fprintf(io.err, "error: %s\n", ue.msg)
		if ue.cmd == "" {
			fmt.Fprintln(io.err, "run 'omsbook help' to see the commands")
		} else {
			fmt.Fprintf(io.err, "run 'omsbook help %s' for its usage\n", ue.cmd)
		}
		return runner.ExitBadInput
	}
	fmt.Fprintf(io.err, "error: %v\n", err)
	return runner.ExitBadInput
}
