// Package modules holds the contract every module of omsbook keeps: the Module interface and
// its optional abilities (Validator, TemplateFiler), the Host a module runs for, its Result
// and Diff, and the declared arguments (Spec, Arg, Field) with their coercion (Args). A module
// declares its arguments so that validate and doc need no I/O, probes read-only in Check, and
// makes the host so in Apply, idempotently. Modules return results; they never print.
//
// The modules themselves live in modules/builtin (the generic ones) and modules/oms (Docker,
// the MetaDB and OMS itself); modules/registry lists them all.
package modules

import (
	"context"
	"io"

	"github.com/omsbook/omsbook/transport"
)

// Module is one unit of work a task can name.
type Module interface {
	// Name is the key a task uses, e.g. "docker_container".
	Name() string
	// Spec declares the arguments, what Check does and which result fields are registered.
	Spec() Spec
	// Check probes without changing anything and says what Apply would do: Changed true
	// (would change, with a Diff where one makes sense), false (already so), or Unknown with
	// the reason in Msg. Its Data carries the probed facts so later conditions work.
	Check(ctx context.Context, h *Host, args Args) (Result, error)
	// Apply makes it so. Run twice, the second run reports Changed false.
	Apply(ctx context.Context, h *Host, args Args) (Result, error)
}

// Validator is an optional ability: a module whose arguments have rules beyond their
// declared types (one of two required, mutually exclusive keys) checks them here. It runs in
// validate, before any connection, on arguments that may still hold unrendered templates
// (those values are reported by args.Deferred).
type Validator interface {
	Validate(args Args) error
}

// TemplateFiler is an optional ability: a module that renders controller files as templates
// (template's src) names them here, so that validate and run read and render them for every
// host before the first connection, as they render template arguments: an undefined variable
// in one is bad input, not a failure halfway through a run. h has Name and Vars only (there
// is no connection yet); args are rendered, with no deferred value among those it reads.
type TemplateFiler interface {
	TemplateFiles(h *Host, args Args) ([]string, error)
}

// VarDefiner is an optional ability: a module that sets host variables for the tasks after it
// (set_fact) names them from its arguments as written (values may still be templates), so
// that the load-time check knows those names will exist at run time instead of calling a
// later use of one undefined.
type VarDefiner interface {
	DefinedVars(args map[string]any, where DefineContext) []string
}

// DefineContext says where a task stands, for a VarDefiner that reads a file to name the
// variables it defines (include_vars).
type DefineContext struct {
	PlaybookDir string // the playbook's directory
	RolePath    string // the directory of the role the task is in, if any
}

// MetaAction is an optional ability: a module whose work is an action on the run itself
// (meta: flush_handlers, end_play), which the runner carries out instead of calling it.
type MetaAction interface {
	MetaAction(args Args) string
}

// Host is what a module may use on the host it runs for.
type Host struct {
	// Name is the inventory name of the target host.
	Name string
	// Conn reaches the host the module executes on: the target, or the delegate_to host.
	Conn transport.Conn
	// Controller runs on the machine omsbook runs on (for modules that use local clients).
	Controller transport.Conn
	// Vars are the task's variables for this host, read-only.
	Vars map[string]any
	// Diff is true when the user asked for --diff.
	Diff bool
	// Become, BecomeUser and BecomePassword are the task's privilege settings; a module that
	// builds transport.Cmd values copies them with h.Cmd.
	Become         bool
	BecomeUser     string
	BecomePassword string
	// Environment is the task's `environment:` map.
	Environment map[string]string
	// Render renders a template string against Vars (text/template + sprig); a whole-value
	// template keeps its type.
	Render func(tmpl string) (any, error)
	// Eval evaluates an expression (expr language) against Vars.
	Eval func(expr string) (any, error)
	// Output receives live lines of a long command's output ("stdout" or "stderr"), for -v.
	// Never nil.
	Output func(stream, line string)
	// Confirm asks the operator a yes/no question (pause). It returns an error when there is
	// no terminal and --yes was not given.
	Confirm func(ctx context.Context, prompt string) (bool, error)
	// AddSecret registers a value discovered at run time (e.g. read from a config file) so
	// that it is masked everywhere. Never nil.
	AddSecret func(value string)
	// Mask replaces every known secret value in s with ********. Never nil.
	Mask func(s string) string
	// AtRunEnd registers c to be closed when the run ends, normally or by failure, and at once
	// when it is cancelled: a resource a module holds for the rest of the run, such as the
	// connection that holds a MariaDB named lock (mysql_lock). Nil outside a run: a module
	// that needs it says so.
	AtRunEnd func(c io.Closer)
}

// Cmd returns a transport command for a shell line with the task's become settings and
// environment applied.
func (h *Host) Cmd(shell string) *transport.Cmd {
	c := &transport.Cmd{Shell: shell}
	h.applyTo(c)
	return c
}

// ArgvCmd is Cmd for an argv.
func (h *Host) ArgvCmd(argv ...string) *transport.Cmd {
	c := &transport.Cmd{Argv: argv}
	h.applyTo(c)
	return c
}

func (h *Host) applyTo(c *transport.Cmd) {
	c.Become, c.BecomeUser, c.BecomePassword = h.Become, h.BecomeUser, h.BecomePassword
	if len(h.Environment) > 0 {
		c.Env = make(map[string]string, len(h.Environment))
		for k, v := range h.Environment {
			c.Env[k] = v
		}
	}
}

// Result is what one module run on one host says.
type Result struct {
	Changed bool
	Failed  bool
	Skipped bool
	// Unknown is set by Check when it cannot tell what Apply would do; Msg says why.
	Unknown bool
	Msg     string
	Diff    *Diff
	// Facts are variables to set on the host for later tasks (set_fact).
	Facts map[string]any
	// Data holds the module's own registered fields (rc, stdout, rows, ...), as documented in
	// its Spec.Returns.
	Data map[string]any
}

// Diff shows what changed or would change.
type Diff struct {
	Before      string
	After       string
	BeforeLabel string // e.g. a path or "ha.config (MetaDB)"
	AfterLabel  string
}

// Fail returns a failed result with a message.
func Fail(msg string, data map[string]any) Result {
	return Result{Failed: true, Msg: msg, Data: data}
}
