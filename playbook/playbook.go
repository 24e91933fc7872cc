// Package playbook decodes playbook YAML into plays and tasks that remember where they were
// written (file:line:column), strictly: an unknown keyword is an error that names its place.
package playbook

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// Pos is a place in a YAML file (file:line:column).
type Pos = yamlsrc.Pos

// Error is a bad-input error at a place in a file; the CLI exits 5 for it.
type Error = yamlsrc.Error

// KeyValue is one entry of a YAML mapping, in the order written.
type KeyValue = yamlsrc.KeyValue

// ParseYAML is yamlsrc.ParseYAML, kept for callers that still reach it through playbook.
func ParseYAML(file string, data []byte) (*yaml.Node, error) { return yamlsrc.ParseYAML(file, data) }

// NodePos is yamlsrc.NodePos, kept for callers that still reach it through playbook.
func NodePos(file string, n *yaml.Node) Pos { return yamlsrc.NodePos(file, n) }

// KindName is yamlsrc.KindName, kept for callers that still reach it through playbook.
func KindName(n *yaml.Node) string { return yamlsrc.KindName(n) }

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
	RemoteUser        string
	// PreTasks, Tasks and PostTasks are the play's sections, run in that order, each
	// followed by the handlers its tasks notified.
	PreTasks, Tasks, PostTasks []*Task
	// RoleTasks are the play's roles: as blocks, dependencies first, run before Tasks in the
	// same section. Roles lists every role loaded for the play (roles:, import_role,
	// dependencies) in that order: their defaults and vars are the play's.
	RoleTasks []*Task
	Roles     []*Role
	// Handlers run once per host at the end of a section where a task notified them.
	Handlers      []*Task
	ForceHandlers bool
	Order         string // host order: inventory (default), reverse_inventory, sorted, ...
	Strategy      string // linear (default) or free
	Throttle      int    // at most this many hosts at once, for every task (0: forks)
	// Dir is the directory of the playbook file the play is written in (an imported
	// playbook's plays have their own): vars_files are relative to it.
	Dir string
	// VarsPrompt are the questions asked before the play runs.
	VarsPrompt []Prompt
}

// Prompt is one vars_prompt entry: the variable it sets and how it asks.
type Prompt struct {
	Pos     Pos
	Name    string
	Text    string // the prompt shown (default: the name)
	Default *string
	Private bool // not echoed, and the answer is a secret (default true, as in Ansible)
	Confirm bool // asked twice; the answers must match
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

	When    []Value // all must hold; each an expr expression (string) or a bool
	Loop    *Value  // a list, or a template rendering to one
	LoopVar string  // "item" unless loop_control.loop_var says otherwise
	// LoopWith is the lookup a with_X loop names (items, dict, sequence, ...); "" for loop.
	LoopWith string
	// LoopIndexVar, LoopLabel, LoopPause and LoopExtended are the rest of loop_control.
	LoopIndexVar string
	LoopLabel    *Value
	LoopPause    time.Duration
	LoopExtended bool
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
	RemoteUser   string
	Vars         map[string]Value
	VarOrder     []string
	// Notify names the handlers (or listen topics) to run where the task changed something.
	Notify    []string
	NotifyPos Pos
	// Listen lists the topics a handler answers to, besides its name.
	Listen   []string
	Throttle int

	// A block: Block holds the tasks, Rescue runs if one fails, Always runs in any case.
	Block  []*Task
	Rescue []*Task
	Always []*Task
	// IncludeTasks is the file an include_tasks task named; the loader has already read it
	// into Block (include_tasks is resolved at load time so validate sees every task).
	IncludeTasks string
	// Include is set on an include_tasks or import_tasks task.
	Include *Include
	// Role is set on the block a role's tasks are (and on a role's handlers); ImportRole names
	// the role an import_role or include_role task brought in.
	Role       *Role
	ImportRole string
}

// Include is what an include_tasks or import_tasks task says.
type Include struct {
	Keyword string // include_tasks or import_tasks
	// Dynamic is true for include_tasks: its when holds once for the include, its tags select
	// the include only, and a loop runs the file once per item.
	Dynamic bool
	// File is the file's name as written; a template (include_tasks only) is rendered per
	// host and item, relative to Dir, the including file's directory.
	File Value
	Dir  string
	// Apply holds the keywords include_tasks' apply: gives every included task.
	Apply *Task
}

// IsBlock reports whether t is a block (or a resolved include_tasks).
func (t *Task) IsBlock() bool { return t.Block != nil }
