// Package playbook decodes playbook YAML into plays and tasks that remember where they were
// written (file:line:column), strictly: an unknown keyword is an error that names its place.
package playbook

import (
	"fmt"
	"time"
)

// Pos is a place in a YAML file.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:column (file:line or file alone when the rest is
// unknown).
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a bad-input error at a place in a file; the CLI exits 5 for it.
type Error struct {
	Pos  Pos
	Msg  string // what is wrong, lowercase
	Fix  string // what to do, may be empty
	Task string // the task's name, when the error is inside a task
	// Host names the host the error is specific to (a template that fails for one host only).
	Host string
	Err  error
}

func (e *Error) Error() string {
	s := e.Pos.String()
	if s != "" {
		s += ": "
	}
	switch {
	case e.Task != "" && e.Host != "":
		s += fmt.Sprintf("task %q on %s: ", e.Task, e.Host)
	case e.Task != "":
		s += fmt.Sprintf("task %q: ", e.Task)
	case e.Host != "":
		s += "on " + e.Host + ": "
	}
	s += e.Msg
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Playbook is a list of plays from one file.
type Playbook struct {
	File  string
	Plays []*Play
}

// Value is a raw YAML value (string, int, float64, bool, nil, []any, map[string]any) with the
// place it was written. Strings may hold templates, rendered at run time.
type Value struct {
	Pos Pos
	V   any
}

// Play is one play.
type Play struct {
	Pos            Pos
	Name           string
	Hosts          string // a host pattern
	Serial         []Batch
	AnyErrorsFatal bool
	// MaxFailPercentage, when set, fails the play once more than this share of a batch failed.
	MaxFailPercentage *float64
	Vars              map[string]Value // play vars, in the order written (see VarOrder)
	VarOrder          []string
	VarsFiles         []Value // file names, relative to the playbook's directory
	Secrets           []string
	Tags              []string
	CheckMode         *bool
	Become            *bool
	BecomeUser        string
	Environment       map[string]Value
	Tasks             []*Task
	// Handlers are not supported yet; the loader rejects them with a clear message.
}

// Batch is one entry of serial: a count or a percentage of the play's hosts.
type Batch struct {
	Count   int
	Percent float64 // 0 when Count is set
}

// Task is one task, or a block of tasks when Block is not nil.
type Task struct {
	Pos  Pos
	Name string
	// Module and Args are the module key and its raw arguments (a free-form string is
	// already turned into the module's FreeForm argument). ArgPos gives each argument's place.
	Module    string
	ModulePos Pos
	Args      map[string]Value

	When         []Value // all must hold; each an expr expression (string) or a bool
	Loop         *Value  // a list, or a template rendering to one
	LoopVar      string  // "item" unless loop_control.loop_var says otherwise
	Register     string
	Until        *Value
	Retries      *int // nil when not written; the runner gives until its default
	Delay        time.Duration
	IgnoreErrors bool
	FailedWhen   []Value
	ChangedWhen  []Value
	RunOnce      string // "", "true" (once per batch) or "region" (once per region)
	DelegateTo   *Value // a node name or "localhost", may be a template
	Tags         []string
	CheckMode    *bool
	NoLog        bool
	Timeout      time.Duration
	Environment  map[string]Value
	Become       *bool
	BecomeUser   string
	Vars         map[string]Value
	VarOrder     []string

	// A block: Block holds the tasks, Rescue runs if one fails, Always runs in any case.
	Block  []*Task
	Rescue []*Task
	Always []*Task
	// IncludeTasks is the file an include_tasks task named; the loader has already read it
	// into Block (include_tasks is resolved at load time so validate sees every task).
	IncludeTasks string
}

// IsBlock reports whether t is a block (or a resolved include_tasks).
func (t *Task) IsBlock() bool { return t.Block != nil }
