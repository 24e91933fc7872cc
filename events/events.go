// Package events defines what the runner reports as it goes. The runner emits events; output
// (text or JSON lines) and the journal consume them. Every text field is already masked for
// secrets when an event is emitted.
package events

import "time"

// Kind names an event.
type Kind string

// The events of a run, in the order they come.
const (
	RunStart   Kind = "run_start"   // Playbook, Check, Hosts, Inputs, Command, User, Controller, Dir
	PlayStart  Kind = "play_start"  // Play, Hosts
	TaskStart  Kind = "task_start"  // Play, Task, Pos
	HostResult Kind = "host_result" // Task, Host, Status, Result, Msg, Duration
	HostOutput Kind = "host_output" // Host, Stream, Line: live output of a long command (-v)
	Warning    Kind = "warning"     // Msg
	Recap      Kind = "recap"       // Stats
	RunEnd     Kind = "run_end"     // ExitCode, Msg, Journal
	// Progress is transient: how far a task has got (Host, Task, Progress), for a terminal's
	// status line only. Neither the journal nor the JSON output keeps it, and the runner
	// emits it only when asked to (runner.Options.Progress).
	Progress Kind = "progress"
)

// Status is the outcome of a task on one host.
type Status string

// Outcomes, as ansible-playbook names them.
const (
	OK          Status = "ok"
	Changed     Status = "changed"
	Failed      Status = "failed"
	Skipped     Status = "skipped"
	Unreachable Status = "unreachable"
	Rescued     Status = "rescued"
	Ignored     Status = "ignored"  // failed, but ignore_errors
	Included    Status = "included" // include_tasks: Msg is the file a host runs next
)

// Event is one thing that happened.
type Event struct {
	Kind     Kind              `json:"event"`
	Time     time.Time         `json:"time"`
	Playbook string            `json:"playbook,omitempty"`
	Play     string            `json:"play,omitempty"`
	Task     string            `json:"task,omitempty"`
	Pos      string            `json:"pos,omitempty"`     // file:line:column of the task
	Handler  bool              `json:"handler,omitempty"` // TaskStart of a handler
	Host     string            `json:"host,omitempty"`
	Delegate string            `json:"delegate_to,omitempty"`
	Item     any               `json:"item,omitempty"` // loop item, for per-item results
	Status   Status            `json:"status,omitempty"`
	Check    bool              `json:"check,omitempty"`
	Unknown  bool              `json:"unknown,omitempty"` // check mode could not tell
	Msg      string            `json:"msg,omitempty"`
	Stream   string            `json:"stream,omitempty"`
	Line     string            `json:"line,omitempty"`
	Result   map[string]any    `json:"result,omitempty"`
	Diff     *Diff             `json:"diff,omitempty"`
	Hosts    []string          `json:"hosts,omitempty"`
	Duration time.Duration     `json:"duration_ns,omitempty"`
	Stats    map[string]*Stats `json:"stats,omitempty"`
	ExitCode int               `json:"exit_code,omitempty"`
	Journal  string            `json:"journal,omitempty"`
	// Inputs are the sha256 of every file the run read (playbook, included files, roles,
	// vars files, templates, inventories) and of its extra vars, on RunStart: --resume holds
	// a resumed run to them.
	Inputs map[string]string `json:"inputs,omitempty"`
	// Resume names the journal a resumed run goes on from, on RunStart.
	Resume string `json:"resume,omitempty"`
	// Who ran it and where, on RunStart: the command line (secrets masked), the user, the
	// controller's host name and the working directory.
	Command    string `json:"command,omitempty"`
	User       string `json:"user,omitempty"`
	Controller string `json:"controller,omitempty"`
	Dir        string `json:"dir,omitempty"`
	// Progress is a Progress event's news.
	Progress *TaskProgress `json:"progress,omitempty"`
}

// The phases of a Progress event.
const (
	PhaseTask       = "task"        // a task starts: Total is the number of hosts it runs for
	PhaseHostStart  = "host_start"  // a host starts the task
	PhaseHostEnd    = "host_end"    // a host is done with it: the event's Status says how
	PhaseModule     = "module"      // a module's own progress on a host: Done of Total Unit
	PhasePrompt     = "prompt"      // the operator is asked something: no status line until
	PhasePromptDone = "prompt_done" // the prompt is answered
)

// TaskProgress is how far a task has got, on a Progress event.
type TaskProgress struct {
	Phase string `json:"phase"`
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"` // 0 when unknown
	Unit  string `json:"unit,omitempty"`  // e.g. "nodes", "bytes"
}

// Diff is a before/after pair for --diff.
type Diff struct {
	BeforeLabel string `json:"before_label,omitempty"`
	AfterLabel  string `json:"after_label,omitempty"`
	Before      string `json:"before"`
	After       string `json:"after"`
}

// Stats are one host's counts for PLAY RECAP.
type Stats struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
	// Unknown counts the results a check could not tell (they count as ok or changed too).
	Unknown int `json:"unknown,omitempty"`
}

// Sink receives events. Emit is called from one goroutine at a time.
type Sink interface {
	Emit(Event)
}

// Multi sends each event to several sinks in order.
type Multi []Sink

// Emit forwards e to every sink.
func (m Multi) Emit(e Event) {
	for _, s := range m {
		s.Emit(e)
	}
}
