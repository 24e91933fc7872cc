package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/omsbook/omsbook/config"
)

// cliFlags are every flag of every sub-command; each sub-command binds the ones it takes.
type cliFlags struct {
	inventories       []string
	check             bool
	diff              bool
	extraVars         []string
	limit             string
	tags              []string
	skipTags          []string
	forks             int
	startAtTask       string
	output            string
	yes               bool
	verbose           int
	journalDir        string
	acceptNewHostKeys bool
	forceHandlers     bool
	sshConfig         string
	resume            string
	force             bool
	host              string
	list              bool
	markdown          bool
	reportOut         string
	color             string
	convertOut        string
	config            *config.Config // the settings after the flags (config.go)
}

// playbookCommands take a playbook and the flags of run.
var playbookCommands = map[string]bool{"run": true, "validate": true, "list-hosts": true, "list-tasks": true}

// newFlagSet returns the flag set of sub-command name bound to a fresh cliFlags, or nil for an
// unknown name.
func newFlagSet(name string) *pflag.FlagSet {
	fs, _ := bindFlags(name)
	return fs
}

func bindFlags(name string) (*pflag.FlagSet, *cliFlags) {
	f := &cliFlags{}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by Main, with the exit code
	fs.SortFlags = false
	switch {
	case playbookCommands[name] || name == "config":
		fs.StringArrayVarP(&f.inventories, "inventory", "i", nil, "inventory `FILE` (repeat to merge several, later wins)")
		fs.BoolVar(&f.check, "check", false, "change nothing: probe each host and report what would change")
		fs.BoolVar(&f.diff, "diff", false, "show before/after of what changes (or would change)")
		fs.StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "extra variable `k=v`, or @file.yml; repeatable; wins over every other variable")
		fs.StringVar(&f.limit, "limit", "", "run only on hosts matching this `PATTERN` too (names, globs, a:b, a:&b, a:!b)")
		fs.StringSliceVar(&f.tags, "tags", nil, "run only tasks with these `TAGS` (comma-separated)")
		fs.StringSliceVar(&f.skipTags, "skip-tags", nil, "skip tasks with these `TAGS` (comma-separated)")
		fs.IntVar(&f.forks, "forks", 10, "`N` hosts worked on at once")
		fs.StringVar(&f.startAtTask, "start-at-task", "", "start at the task with this `NAME` (to continue a stopped run)")
		fs.StringVar(&f.output, "output", "text", "output `FORMAT`: text or json (one JSON object per event)")
		fs.BoolVar(&f.yes, "yes", false, "answer yes to pause prompts")
		fs.CountVarP(&f.verbose, "verbose", "v", "more output: -v live command output, -vv result fields")
		fs.StringVar(&f.journalDir, "journal-dir", "", "write the run journal in `DIR` (default .omsbook/runs beside the playbook)")
		fs.BoolVar(&f.acceptNewHostKeys, "accept-new-host-keys", false, "record host keys that known_hosts lacks (never changed ones)")
		fs.BoolVar(&f.forceHandlers, "force-handlers", false, "run notified handlers even on hosts that failed")
		fs.StringVar(&f.sshConfig, "ssh-config", "", "read ssh client settings from `FILE` (default ~/.ssh/config; none for no file)")
		fs.StringVar(&f.resume, "resume", "", "go on from the stopped run `RUN` (its journal's name, or last): each host from its first unfinished task")
		fs.Lookup("resume").NoOptDefVal = "last"
		fs.BoolVar(&f.force, "force", false, "with --resume: go on even though what the run reads changed since")
		fs.StringVar(&f.color, "color", "auto", "colour the text output: `WHEN` is always, never or auto (a terminal, without NO_COLOR)")
	case name == "inventory":
		fs.StringArrayVarP(&f.inventories, "inventory", "i", nil, "inventory `FILE` (repeat to merge several, later wins)")
		fs.StringVar(&f.host, "host", "", "show only the host `NAME`")
		fs.BoolVar(&f.list, "list", false, "print the groups and host variables as JSON, in the shape of ansible-inventory --list")
	case name == "report":
		fs.StringVarP(&f.reportOut, "out", "o", "", "write the report to `FILE` (default <journal dir>/<run id>.html)")
		fs.StringVar(&f.journalDir, "journal-dir", "", "the journals are in `DIR` (default .omsbook/runs beside PLAYBOOK, or here)")
	case name == "doc":
		fs.BoolVar(&f.markdown, "markdown", false, "print every module's reference as Markdown (docs/modules.md)")
	case name == "convert":
		fs.StringVarP(&f.convertOut, "out", "o", "", "write the converted tree in `OUT` (a new or empty directory; a file for a FILE)")
	case name == "schema" || name == "completion" || name == "version" || name == "help":
	default:
		return nil, nil
	}
	return fs, f
}

// parseFlags parses args for sub-command name and returns the flags and the positional
// arguments. -h prints the command's help and returns errHelp.
func parseFlags(name string, args []string, std stdio) (*cliFlags, []string, error) {
	fs, f := bindFlags(name)
	if err := fs.Parse(joinResumeValue(args)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			_ = cmdHelp([]string{name}, std)
			return nil, nil, errHelp
		}
		return nil, nil, &usageError{cmd: name, msg: err.Error()}
	}
	if err := f.loadConfig(name, fs); err != nil {
		return nil, nil, err
	}
	return f, fs.Args(), nil
}

// joinResumeValue writes "--resume RUN" as "--resume=RUN". --resume alone means the last run,
// so the flag parser would take a RUN after a space for a second playbook; a word after
// --resume that is neither a flag nor a playbook file (*.yml, *.yaml) is its value.
func joinResumeValue(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--resume" && i+1 < len(args) {
			next := args[i+1]
			if next != "" && !strings.HasPrefix(next, "-") && !strings.HasSuffix(next, ".yml") && !strings.HasSuffix(next, ".yaml") {
				out = append(out, "--resume="+next)
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// parsePlaybookFlags parses the arguments of a command that takes PLAYBOOK -i INVENTORY and
// checks them.
func parsePlaybookFlags(name string, args []string, std stdio) (*cliFlags, string, error) {
	f, pos, err := parseFlags(name, args, std)
	if err != nil {
		return nil, "", err
	}
	switch {
	case len(pos) == 0:
		return nil, "", &usageError{cmd: name, msg: fmt.Sprintf("missing PLAYBOOK: omsbook %s PLAYBOOK -i INVENTORY", name)}
	case len(pos) > 1:
		return nil, "", &usageError{cmd: name, msg: fmt.Sprintf("one playbook at a time, got %d: %s", len(pos), strings.Join(pos, " "))}
	case len(f.inventories) == 0:
		return nil, "", &usageError{cmd: name, msg: "missing -i INVENTORY: say which hosts to use, e.g. -i inventories/local.yml (or set inventory in omsbook.yml, or OMSBOOK_INVENTORY)"}
	case f.forks < 1:
		return nil, "", &usageError{cmd: name, msg: fmt.Sprintf("--forks is %d; it must be at least 1", f.forks)}
	case f.color != "auto" && f.color != "always" && f.color != "never":
		return nil, "", &usageError{cmd: name, msg: fmt.Sprintf("--color is %q; it must be always, never or auto", f.color)}
	case f.output != "text" && f.output != "json":
		return nil, "", &usageError{cmd: name, msg: fmt.Sprintf("--output is %q; it must be text or json", f.output)}
	}
	return f, pos[0], nil
}

// flagUsages formats a flag set's help: one flag a line, its value's name, its meaning and
// its default, aligned.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		switch f.Value.Type() {
		case "bool", "count":
		default:
			if varname != "" {
				left += " " + varname
			}
		}
		switch f.Value.Type() {
		case "bool", "count", "stringArray", "stringSlice":
		default:
			if f.DefValue != "" && f.DefValue != "0" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.right)
	}
	return b.String()
}
