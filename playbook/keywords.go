package playbook

import "sort"

// Scope is where a keyword may stand: a set of places.
type Scope uint8

// The places a keyword may stand.
const (
	InPlay Scope = 1 << iota
	InBlock
	InTask // a task that runs a module, or an include
	InHandler
	InRoleEntry
)

// Eval says what happens to a keyword's value after decoding, and so how the load-time check
// and the executor treat it. Every kind but Static is rendered or evaluated per host.
type Eval uint8

const (
	// Static values are decoded and checked at load only (retries, tags, register, ...).
	Static Eval = iota
	// Template values are Go templates rendered per host (environment, vars_files).
	Template
	// Condition values are expr conditions evaluated per host before the module (when).
	Condition
	// ResultCondition values are expr conditions over the task's own result (failed_when,
	// changed_when, until): `result` and the register name are defined inside them.
	ResultCondition
	// HostName values render to the name of an inventory host (delegate_to).
	HostName
	// Items values give the list a task loops over (loop).
	Items
	// Vars values are variables, each a template rendered in the order written, before
	// everything else of the task (vars).
	Vars
)

// Type is the YAML shape a keyword's value takes.
type Type uint8

// The shapes of keyword values.
const (
	TypeString    Type = iota // a scalar read as text
	TypeBool                  // true/false (yes/no)
	TypeInt                   // a whole number
	TypeDuration              // 10s, 2m, or a number of seconds
	TypeCondition             // an expr condition, true/false, or a list of them
	TypeList                  // a list (or, where it says so, a single value)
	TypeMap                   // a mapping of names to values
	TypeTasks                 // a list of tasks
	TypeAny                   // a keyword-specific shape (serial, run_once, loop, ...)
)

// Keyword declares one playbook keyword: where it may stand and how its value is treated.
// The decoder, the load-time check and the executor all read this one table; a keyword that
// is rendered per host is checked for every host before the first connection because the check
// walks the same values the executor renders.
type Keyword struct {
	Name  string
	Scope Scope
	Type  Type
	Eval  Eval
	// ModuleOnly keywords make sense only on a task that runs a module, not on a block or an
	// include (loop, register, until, ...).
	ModuleOnly bool
	// Doc says what it does, in a line.
	Doc string
}

// keywords is every keyword omsbook reads, play and task ones together. A module name is no
// keyword: any other key of a task names its module.
var keywords = []Keyword{
	{Name: "name", Scope: InPlay | InBlock | InTask, Type: TypeString, Doc: "what the play or task is called in output"},
	{Name: "hosts", Scope: InPlay, Type: TypeList, Doc: "the host pattern the play runs on"},
	{Name: "serial", Scope: InPlay, Type: TypeAny, Doc: "run the play in batches: a count, a percentage or a list"},
	{Name: "any_errors_fatal", Scope: InPlay, Type: TypeBool, Doc: "stop the whole run when a task fails on any host"},
	{Name: "max_fail_percentage", Scope: InPlay, Type: TypeAny, Doc: "stop when more than this share of a batch failed"},
	{Name: "vars", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeMap, Eval: Vars, Doc: "variables, rendered per host"},
	{Name: "vars_files", Scope: InPlay, Type: TypeList, Eval: Template, Doc: "files of variables, relative to the playbook"},
	{Name: "secrets", Scope: InPlay, Type: TypeList, Doc: "variables whose values are masked everywhere"},
	{Name: "tags", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeList, Doc: "names that --tags and --skip-tags select by"},
	{Name: "check_mode", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeBool, Doc: "force check mode on or off"},
	{Name: "become", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeBool, Doc: "run through sudo"},
	{Name: "become_user", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeString, Doc: "the user sudo runs as (default root)"},
	{Name: "environment", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeMap, Eval: Template, Doc: "environment variables for the commands, rendered per host"},
	{Name: "vars_prompt", Scope: InPlay, Type: TypeList, Doc: "questions for variables, answered by -e or on a terminal before anything runs"},
	{Name: "roles", Scope: InPlay, Type: TypeAny, Doc: "roles to run before the tasks: names, or role: with keywords and parameters"},
	{Name: "pre_tasks", Scope: InPlay, Type: TypeTasks, Doc: "tasks run first, before roles and tasks, with their own handler flush"},
	{Name: "tasks", Scope: InPlay, Type: TypeTasks, Doc: "the play's tasks"},
	{Name: "post_tasks", Scope: InPlay, Type: TypeTasks, Doc: "tasks run last, after tasks' handlers, with their own handler flush"},
	{Name: "handlers", Scope: InPlay, Type: TypeTasks, Doc: "tasks run at the end of a section on the hosts a task notified them for"},
	{Name: "force_handlers", Scope: InPlay, Type: TypeBool, Doc: "run notified handlers on hosts that failed too"},
	{Name: "order", Scope: InPlay, Type: TypeString, Doc: "the host order: inventory, reverse_inventory, sorted, reverse_sorted, shuffle"},
	{Name: "strategy", Scope: InPlay, Type: TypeString, Doc: "linear (a task ends everywhere before the next) or free (each host at its own pace)"},
	{Name: "remote_user", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeString, Doc: "the user to log in as, over the inventory's"},
	{Name: "throttle", Scope: InPlay | InBlock | InTask | InRoleEntry, Type: TypeInt, Doc: "at most this many hosts run the task at once"},
	{Name: "notify", Scope: InBlock | InTask, Type: TypeList, Doc: "handlers (names or listen topics) to run where the task changed something"},
	{Name: "listen", Scope: InHandler, Type: TypeList, Doc: "topics a handler answers to, besides its name"},
	{Name: "gather_facts", Scope: InPlay, Type: TypeBool, Doc: "must be false: omsbook gathers no facts yet"},
	{Name: "when", Scope: InBlock | InTask | InRoleEntry, Type: TypeCondition, Eval: Condition, Doc: "run only where the condition holds"},
	{Name: "loop", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "run once per item of a list"},
	{Name: "with_items", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over a list, flattened one level"},
	{Name: "with_list", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over a list as it is"},
	{Name: "with_dict", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over a mapping: item.key, item.value"},
	{Name: "with_fileglob", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over the controller files a pattern matches"},
	{Name: "with_sequence", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over numbers: start=1 end=10 stride=1 format=%d, or count="},
	{Name: "with_nested", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over every combination of the lists"},
	{Name: "with_subelements", Scope: InTask, Type: TypeAny, Eval: Items, ModuleOnly: true, Doc: "loop over [list, key]: each element with each of its key's elements"},
	{Name: "loop_control", Scope: InTask, Type: TypeMap, ModuleOnly: true, Doc: "loop_var: the name of the loop variable"},
	{Name: "register", Scope: InTask, Type: TypeString, ModuleOnly: true, Doc: "keep the result in a variable"},
	{Name: "failed_when", Scope: InTask, Type: TypeCondition, Eval: ResultCondition, ModuleOnly: true, Doc: "when the result counts as failed"},
	{Name: "changed_when", Scope: InTask, Type: TypeCondition, Eval: ResultCondition, ModuleOnly: true, Doc: "when the result counts as changed"},
	{Name: "until", Scope: InTask, Type: TypeCondition, Eval: ResultCondition, ModuleOnly: true, Doc: "retry until the condition holds"},
	{Name: "retries", Scope: InTask, Type: TypeInt, ModuleOnly: true, Doc: "how often until retries (default 3)"},
	{Name: "delay", Scope: InTask, Type: TypeDuration, ModuleOnly: true, Doc: "the wait between until's attempts"},
	{Name: "ignore_errors", Scope: InBlock | InTask | InRoleEntry, Type: TypeBool, Doc: "go on when the task fails"},
	{Name: "run_once", Scope: InBlock | InTask | InRoleEntry, Type: TypeAny, Doc: "run on one host of the batch (true) or of each region (region)"},
	{Name: "delegate_to", Scope: InBlock | InTask | InRoleEntry, Type: TypeString, Eval: HostName, Doc: "run on another host, on behalf of this one"},
	{Name: "no_log", Scope: InBlock | InTask | InRoleEntry, Type: TypeBool, Doc: "hide the result from output and journal"},
	{Name: "timeout", Scope: InTask, Type: TypeDuration, ModuleOnly: true, Doc: "kill the task after this long"},
	{Name: "block", Scope: InBlock, Type: TypeTasks, Doc: "a group of tasks"},
	{Name: "rescue", Scope: InBlock, Type: TypeTasks, Doc: "tasks that run where the block failed"},
	{Name: "always", Scope: InBlock, Type: TypeTasks, Doc: "tasks that run after the block in any case"},
	{Name: "include_tasks", Scope: InTask, Type: TypeAny, Doc: "the tasks of another file, chosen per host: its when holds once, its tags are its own, a loop runs it per item"},
	{Name: "import_tasks", Scope: InTask, Type: TypeAny, Doc: "the tasks of another file, read at load time, the task's keywords applied to each"},
	{Name: "args", Scope: InTask | InHandler, Type: TypeMap, Doc: "more arguments for the task's module (those written with the module win)"},
	{Name: "action", Scope: InTask | InHandler, Type: TypeAny, Doc: "the module and its arguments: action: copy src=a dest=b"},
	{Name: "local_action", Scope: InTask | InHandler, Type: TypeAny, Doc: "action:, run on the controller (delegate_to: localhost)"},
	{Name: "import_role", Scope: InTask, Type: TypeMap, Doc: "a role's tasks here: name, tasks_from, vars_from, defaults_from, handlers_from"},
	{Name: "include_role", Scope: InTask, Type: TypeMap, Doc: "the same as import_role, read at load time"},
}

// keywordIndex finds a keyword by name.
var keywordIndex = func() map[string]*Keyword {
	m := make(map[string]*Keyword, len(keywords))
	for i := range keywords {
		m[keywords[i].Name] = &keywords[i]
	}
	return m
}()

// LookupKeyword finds a keyword's declaration.
func LookupKeyword(name string) (Keyword, bool) {
	k, ok := keywordIndex[name]
	if !ok {
		return Keyword{}, false
	}
	return *k, true
}

// AllKeywords lists every keyword's declaration in table order.
func AllKeywords() []Keyword { return append([]Keyword(nil), keywords...) }

// keywordNames lists the names of the keywords allowed in scope, in table order.
func keywordNames(scope Scope) []string {
	var out []string
	for _, k := range keywords {
		if k.Scope&scope != 0 {
			out = append(out, k.Name)
		}
	}
	return out
}

// Keywords lists the task keywords, sorted (for documentation and suggestions).
func Keywords() []string {
	out := keywordNames(InTask | InBlock)
	sort.Strings(out)
	return out
}

// NamedValue is one value of a keyword as written: Key names the entry of a mapping keyword
// (a variable of vars, a variable of environment) and is empty otherwise.
type NamedValue struct {
	Key string
	Value
}

// Values gives the values a task or block writes for a keyword that is rendered or evaluated
// per host (Eval is not Static), in the order written; nil when it does not write it.
func (t *Task) Values(keyword string) []NamedValue {
	switch keyword {
	case "vars":
		return namedValues(t.Vars, t.VarOrder)
	case "environment":
		return namedValues(t.Environment, nil)
	case "when":
		return plainValues(t.When)
	case "failed_when":
		return plainValues(t.FailedWhen)
	case "changed_when":
		return plainValues(t.ChangedWhen)
	case "until":
		return pointerValue(t.Until)
	case "loop":
		if t.LoopWith == "" {
			return pointerValue(t.Loop)
		}
	case "with_items", "with_list", "with_dict", "with_fileglob", "with_sequence", "with_nested", "with_subelements":
		if keyword == "with_"+t.LoopWith {
			return pointerValue(t.Loop)
		}
	case "delegate_to":
		return pointerValue(t.DelegateTo)
	}
	return nil
}

// Values gives the values a play writes for a keyword rendered per host, as Task.Values.
func (p *Play) Values(keyword string) []NamedValue {
	switch keyword {
	case "vars":
		return namedValues(p.Vars, p.VarOrder)
	case "vars_files":
		return plainValues(p.VarsFiles)
	case "environment":
		return namedValues(p.Environment, nil)
	}
	return nil
}

// namedValues lists a mapping's values in order (sorted by key where no order is kept).
func namedValues(m map[string]Value, order []string) []NamedValue {
	if len(m) == 0 {
		return nil
	}
	if len(order) != len(m) {
		order = make([]string, 0, len(m))
		for k := range m {
			order = append(order, k)
		}
		sort.Strings(order)
	}
	out := make([]NamedValue, 0, len(order))
	for _, k := range order {
		out = append(out, NamedValue{Key: k, Value: m[k]})
	}
	return out
}

func plainValues(vs []Value) []NamedValue {
	if len(vs) == 0 {
		return nil
	}
	out := make([]NamedValue, len(vs))
	for i, v := range vs {
		out[i] = NamedValue{Value: v}
	}
	return out
}

func pointerValue(v *Value) []NamedValue {
	if v == nil {
		return nil
	}
	return []NamedValue{{Value: *v}}
}
