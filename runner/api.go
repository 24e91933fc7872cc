// Package runner is the engine: it loads a playbook with its inventories and extra vars into a
// plan, checks everything that can be checked before the first connection, then runs plays
// batch by batch, task by task, host by host, emitting events.
package runner

import (
	"context"
	"io"
	"time"

	"github.com/omsbook/omsbook/events"
)

// Options are what the command line gives the runner.
type Options struct {
	Playbook    string
	Inventories []string
	// ExtraVars are -e values in order: "k=v" pairs or "@file.yml".
	ExtraVars   []string
	Check       bool
	Diff        bool
	Limit       string
	Tags        []string
	SkipTags    []string
	Forks       int // default 10
	StartAtTask string
	Yes         bool // answer pause prompts
	// Gathering is the fact-gathering policy, as Ansible's: implicit (the default: every play
	// gathers unless gather_facts: false), explicit (only plays with gather_facts: true) or
	// smart (as implicit, but a host whose facts this run already has is not asked again).
	Gathering string
	// SSHConfig is the ssh client configuration to read ("" means ~/.ssh/config when it exists,
	// "none" none): what the inventory leaves unset comes from it.
	SSHConfig string
	// Resume names the run to go on from (a journal's name, or "last"); Force goes on even when
	// what the run reads changed since.
	Resume string
	Force  bool
	// ListOnly loads the plan for list-hosts and list-tasks: plays, hosts and tasks, without
	// checking each task for each host (a listing shows no task's arguments).
	ListOnly bool
	// RolesPath lists directories to find roles in after roles/ beside the playbook.
	RolesPath []string
	// ForceHandlers runs notified handlers on hosts that failed, as force_handlers does.
	ForceHandlers bool
	Verbosity     int // -v count
	// JournalDir is where the run's journal goes; "" means .omsbook/runs beside the playbook.
	JournalDir        string
	AcceptNewHostKeys bool
	// Executor is "on" to run each ssh host's commands through a persistent executor, "off"
	// for one ssh session per command, "" for transport.ExecutorSetting's default; a host's
	// omsbook_executor variable overrides it.
	Executor string
	// Stdin and Terminal serve pause's confirmation; Terminal false means no prompt can be
	// answered (pause then fails unless Yes).
	Stdin    io.Reader
	Prompt   io.Writer
	Terminal bool
	// Command is the command line the run was started with, for the journal's record of
	// who ran what (secrets are masked in it like everywhere).
	Command []string
	// Progress asks for Progress events (hosts started and done, modules' progress) for a
	// terminal's status line; without it none is emitted.
	Progress bool
	// Now is the clock (tests may fix it); nil means time.Now.
	Now func() time.Time
}

// ExitCode values, as ansible-playbook's.
const (
	ExitOK          = 0
	ExitFailed      = 2
	ExitUnreachable = 4
	ExitBadInput    = 5
	ExitInterrupted = 99
)

// Plan is a loaded, checked playbook ready to run. Its methods are safe to call once Load has
// returned without error.
type Plan struct {
	impl *plan
}

// HostInfo describes one host for list-hosts and inventory.
type HostInfo struct {
	Name   string
	Region string
	Vars   map[string]any // resolved, secrets masked
}

// TaskInfo describes one task for list-tasks.
type TaskInfo struct {
	Play string
	Name string
	Pos  string
	Tags []string
}

// Load reads the playbook, inventories and extra vars, and checks every play and task for
// every host it would run on: YAML, keywords, module names and arguments, templates, variables,
// expressions, patterns, delegate_to hosts. It touches no host. Bad input comes back as an
// error that names file:line:column and the fix (*playbook.Error or wrapping one); the CLI
// exits 5 for any error from Load.
func Load(ctx context.Context, opts Options) (*Plan, error) { return load(ctx, opts) }

// Run executes the plan, sending every event to sink, and returns the exit code. Cancelling
// ctx stops at once (sessions closed, remote commands killed); Stop asks for a soft stop.
// The run's events go to its journal too (see Start).
func (p *Plan) Run(ctx context.Context, sink events.Sink) int {
	if _, err := p.Start(); err != nil {
		if sink != nil {
			sink.Emit(events.Event{Kind: events.RunEnd, ExitCode: ExitBadInput, Msg: err.Error(), Time: p.impl.opts.Now()})
		}
		return ExitBadInput
	}
	defer p.impl.closeJournal(sink)
	return p.impl.run(ctx, journalSink{j: p.impl.journal, next: sink})
}

// Progress reports whether the run emits Progress events (Options.Progress).
func (p *Plan) Progress() bool { return p.impl.opts.Progress }

// Stop lets running tasks finish, starts nothing new, and makes Run return ExitInterrupted
// after the recap.
func (p *Plan) Stop() { p.impl.stop() }

// Hosts lists the hosts each play would run on, by play name.
func (p *Plan) Hosts() map[string][]HostInfo { return p.impl.hosts() }

// Tasks lists the tasks in order, with tags and places.
func (p *Plan) Tasks() []TaskInfo { return p.impl.tasks() }

// PlayInfo describes one play for validate, list-hosts and list-tasks: plays are listed in run
// order, which Hosts (keyed by name) cannot give when two plays share a name or have none.
type PlayInfo struct {
	Name  string
	Pos   string     // file:line:column of the play
	Hosts []HostInfo // in inventory order; Vars left nil (Hosts has them)
	Tasks []TaskInfo // the play's part of Tasks, in order
}

// Plays lists the plays in the order they run, each with the hosts it would run on and its
// selected tasks. (Added for the command line.)
func (p *Plan) Plays() []PlayInfo {
	all := p.impl.tasks()
	out := make([]PlayInfo, 0, len(p.impl.plays))
	for _, pp := range p.impl.plays {
		info := PlayInfo{Name: pp.play.Name, Pos: pp.play.Pos.String()}
		for _, h := range pp.hosts {
			info.Hosts = append(info.Hosts, HostInfo{Name: h.Name, Region: h.Region})
		}
		// tasks() lists the plays' selected tasks one play after the other.
		n := min(countSelected(pp.tasks), len(all))
		info.Tasks, all = all[:n:n], all[n:]
		out = append(out, info)
	}
	return out
}

// countSelected counts the tasks tasks() lists for ts: selected tasks, blocks walked into.
func countSelected(ts []*taskPlan) int {
	n := 0
	for _, tp := range ts {
		switch {
		case tp.t.IsBlock():
			n += countSelected(tp.block) + countSelected(tp.rescue) + countSelected(tp.always)
		case tp.selected && !tp.t.Implicit:
			n++
		}
	}
	return n
}
