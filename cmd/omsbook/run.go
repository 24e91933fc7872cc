package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/output"
	"github.com/omsbook/omsbook/runner"
)

// options turns the flags into runner options.
func (f *cliFlags) options(playbook string, std stdio) runner.Options {
	return runner.Options{
		Playbook:          playbook,
		Inventories:       f.inventories,
		ExtraVars:         f.extraVars,
		Check:             f.check,
		Diff:              f.diff,
		Limit:             f.limit,
		Tags:              f.tags,
		SkipTags:          f.skipTags,
		Forks:             f.forks,
		StartAtTask:       f.startAtTask,
		Yes:               f.yes,
		Verbosity:         f.verbose,
		JournalDir:        f.journalDir,
		AcceptNewHostKeys: f.acceptNewHostKeys,
		ForceHandlers:     f.forceHandlers,
		RolesPath:         filepath.SplitList(os.Getenv("OMSBOOK_ROLES_PATH")),
		Gathering:         os.Getenv("OMSBOOK_GATHERING"),
		SSHConfig:         f.sshConfig,
		Resume:            f.resume,
		Force:             f.force,
		// pause asks on stderr and reads the answer from stdin: an operator can answer when
		// stdin is a terminal, even with the output sent to a file.
		Stdin:    std.in,
		Prompt:   std.err,
		Terminal: isTerminal(std.in),
		// A terminal's status line during long tasks; JSON output and pipes get none.
		Progress: f.output == "text" && output.WantProgress(outFile(std)),
	}
}

// outFile is the standard output as a file, nil when it is not one (tests' buffers).
func outFile(std stdio) *os.File {
	f, _ := std.out.(*os.File)
	return f
}

// isTerminal reports whether v is a terminal (not merely a character device: /dev/null is
// one too, and nobody can answer a prompt there).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// load loads the plan for a command that takes PLAYBOOK -i INVENTORY.
func load(ctx context.Context, name string, args []string, std stdio) (*runner.Plan, *cliFlags, string, error) {
	f, playbook, err := parsePlaybookFlags(name, args, std)
	if err != nil {
		return nil, nil, "", err
	}
	opts := f.options(playbook, std)
	opts.Command = append([]string{"omsbook", name}, args...)
	f.applyConfig(&opts) // the config file's and OMSBOOK_* settings (config.go)
	// Listings show hosts and task names: like ansible-playbook's, they need no task's
	// variables to be defined.
	opts.ListOnly = name == "list-hosts" || name == "list-tasks"
	plan, err := runner.Load(ctx, opts)
	if err != nil {
		return nil, nil, "", err
	}
	return plan, f, playbook, nil
}

func cmdRun(args []string, std stdio) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan, f, _, err := load(ctx, "run", args, std)
	if err != nil {
		return runner.ExitBadInput, err
	}

	if _, err := plan.Start(); err != nil {
		return runner.ExitBadInput, err
	}

	var out events.Sink
	if f.output == "json" {
		out = output.NewJSON(std.out)
	} else {
		of := outFile(std)
		out = output.NewText(std.out, output.TextOptions{
			Color:     f.useColor(of),
			Diff:      f.diff,
			Verbosity: f.verbose,
			Progress:  plan.Progress(),
			Width:     output.TerminalWidth(of),
		})
	}
	stopSignals := handleSignals(plan, cancel, std)
	code := plan.Run(ctx, out)
	stopSignals()
	return code, nil
}

// handleSignals makes the first SIGINT or SIGTERM a soft stop (running tasks finish, the recap
// is printed, exit 99) and the second a hard one (the context is cancelled: sessions close at
// once). The returned function stops listening.
func handleSignals(plan *runner.Plan, cancel context.CancelFunc, std stdio) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(std.err, "\n%s: stopping after the running tasks finish; press Ctrl-C again to abort them at once\n", sig)
					plan.Stop()
					continue
				}
				fmt.Fprintf(std.err, "\n%s: aborting: closing every connection\n", sig)
				cancel()
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

func cmdValidate(args []string, std stdio) error {
	plan, _, _, err := load(context.Background(), "validate", args, std)
	if err != nil {
		return err
	}
	plays := plan.Plays()
	hosts := map[string]bool{}
	for _, pl := range plays {
		for _, h := range pl.Hosts {
			hosts[h.Name] = true
		}
	}
	fmt.Fprintf(std.out, "playbook OK: %s, %s, %s\n",
		plural(len(plays), "play"), plural(len(plan.Tasks()), "task"), plural(len(hosts), "host"))
	return nil
}

func cmdListHosts(args []string, std stdio) error {
	plan, _, playbook, err := load(context.Background(), "list-hosts", args, std)
	if err != nil {
		return err
	}
	fmt.Fprintf(std.out, "playbook: %s\n", playbook)
	for i, pl := range plan.Plays() {
		fmt.Fprintf(std.out, "\n  play #%d %s: %s\n", i+1, playLabel(pl.Name), plural(len(pl.Hosts), "host"))
		width := 0
		for _, h := range pl.Hosts {
			width = max(width, len(h.Name))
		}
		for _, h := range pl.Hosts {
			if h.Region != "" {
				fmt.Fprintf(std.out, "    %-*s  region %s\n", width, h.Name, h.Region)
			} else {
				fmt.Fprintf(std.out, "    %s\n", h.Name)
			}
		}
	}
	return nil
}

func cmdListTasks(args []string, std stdio) error {
	plan, _, playbook, err := load(context.Background(), "list-tasks", args, std)
	if err != nil {
		return err
	}
	fmt.Fprintf(std.out, "playbook: %s\n", playbook)
	plays := plan.Plays()
	width := 0
	for _, pl := range plays {
		for _, t := range pl.Tasks {
			width = max(width, len([]rune(t.Name)))
		}
	}
	for i, pl := range plays {
		fmt.Fprintf(std.out, "\n  play #%d %s:\n", i+1, playLabel(pl.Name))
		if len(pl.Tasks) == 0 {
			fmt.Fprintln(std.out, "    no task selected (see --tags, --skip-tags and --start-at-task)")
		}
		for _, t := range pl.Tasks {
			line := fmt.Sprintf("    %-*s  %s", width, t.Name, t.Pos)
			if len(t.Tags) > 0 {
				line += "  tags: " + strings.Join(t.Tags, ",")
			}
			fmt.Fprintln(std.out, strings.TrimRight(line, " "))
		}
	}
	return nil
}

func playLabel(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return strconv.Quote(name)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
