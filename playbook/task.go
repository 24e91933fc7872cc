package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// taskKeys are the keywords of a task or block, from the keyword table.
var taskKeys = keywordNames(InTask | InBlock)

// perItemKeys make sense for a module task only, not for a block or include_tasks.
var perItemKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range keywords {
		if k.ModuleOnly {
			m[k.Name] = true
		}
	}
	return m
}()

// unsupportedTaskKeys are Ansible task keywords omsbook rejects with an explanation.
var unsupportedTaskKeys = map[string]string{
	"include":          "use include_tasks",
	"async":            "not supported; use timeout:",
	"poll":             "not supported",
	"debugger":         "not supported",
	"any_errors_fatal": "set any_errors_fatal on the play",
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// handlerKeys are the keywords of a handler: a task's, and listen.
var handlerKeys = keywordNames(InTask | InHandler)

// tasks decodes a list of tasks.
func (l *loader) tasks(file string, n *yaml.Node, what string) ([]*Task, error) {
	items, err := yamlsrc.Sequence(file, n, what)
	if err != nil {
		return nil, err
	}
	out := make([]*Task, 0, len(items))
	for _, it := range items {
		t, err := l.taskIn(file, it, InTask)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// taskIn decodes one task, or a handler when scope is InHandler.
func (l *loader) taskIn(file string, n *yaml.Node, scope Scope) (*Task, error) {
	what, allowed := "a task", taskKeys
	if scope == InHandler {
		what, allowed = "a handler", handlerKeys
	}
	kvs, err := yamlsrc.Mapping(file, n, what)
	if err != nil {
		return nil, err
	}
	t := &Task{Pos: yamlsrc.NodePos(file, n), LoopVar: "item"}
	// The name first, so that every later error can say which task it is in.
	for _, kv := range kvs {
		if kv.Key == "name" {
			if t.Name, err = yamlsrc.Scalar(file, kv.Value, "name"); err != nil {
				return nil, err
			}
		}
	}
	fail := func(err error) (*Task, error) {
		if e, ok := err.(*Error); ok && e.Task == "" {
			e.Task = t.Name
		}
		return nil, err
	}

	var moduleKV *KeyValue
	var spec ModuleInfo
	var used []KeyValue // keywords given, for the block/include checks
	var argsKV *KeyValue
	for i := range kvs {
		kv := kvs[i]
		if kv.Key == "name" {
			continue
		}
		if kv.Key == "action" || kv.Key == "local_action" {
			// action: copy src=a dest=b, or action: {module: copy, src: a}: the module and its
			// arguments; local_action runs it on the controller.
			akv, err := actionModule(file, kv)
			if err != nil {
				return fail(err)
			}
			if kv.Key == "local_action" {
				t.DelegateTo = &Value{Pos: kv.KeyPos, V: "localhost"}
			}
			kvs[i], kv = akv, akv
		}
		if kv.Key == "args" {
			argsKV = &kvs[i]
			continue
		}
		if short, ok := builtinName(kv.Key); ok {
			if _, known := l.lookup(short); known {
				kvs[i].Key, kv.Key = short, short
			}
		}
		isKeyword := contains(allowed, kv.Key)
		if !isKeyword {
			s, ok := l.lookup(kv.Key)
			if !ok {
				if fix, ok := unsupportedTaskKeys[kv.Key]; ok {
					return fail(&Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("%s is not supported by omsbook", kv.Key), Fix: fix})
				}
				if kw, ok := LookupKeyword(kv.Key); ok && scope == InHandler && kw.Scope&InBlock != 0 {
					return fail(&Error{Pos: kv.KeyPos, Msg: "a handler cannot be a block", Fix: "write each handler as one task; a block may notify several handlers"})
				}
				if kw, ok := LookupKeyword(kv.Key); ok && kw.Scope&InHandler != 0 {
					return fail(&Error{Pos: kv.KeyPos, Msg: kv.Key + " is a handler's keyword", Fix: "put the task under the play's handlers:, or remove " + kv.Key})
				}
				return fail(unknownKey(kv, what, allowed, l.suggestModules()))
			}
			if moduleKV != nil {
				return fail(&Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("task has two modules, %q and %q", moduleKV.Key, kv.Key), Fix: "write one module per task; split it into two tasks"})
			}
			moduleKV, spec = &kvs[i], s
			continue
		}
		used = append(used, kv)
		if err := l.taskKey(file, t, kv); err != nil {
			return fail(err)
		}
	}

	switch {
	case t.Include != nil || t.Block != nil:
		what := "a block"
		if t.Include != nil {
			what = t.Include.Keyword
			if kv := findKey(used, "block", "rescue", "always"); kv.Key != "" {
				return fail(&Error{Pos: kv.KeyPos, Msg: kv.Key + " cannot be in the same task as " + what, Fix: "put " + what + " inside the block"})
			}
		} else if t.ImportRole != "" {
			what = "a role import"
		}
		if moduleKV != nil {
			return fail(&Error{Pos: moduleKV.KeyPos, Msg: fmt.Sprintf("%s cannot also run the module %q", what, moduleKV.Key), Fix: "move the module into its own task"})
		}
		for _, kv := range used {
			if t.Include != nil && t.Include.Dynamic && (kv.Key == "loop" || kv.Key == "loop_control") {
				continue // include_tasks runs its file once per item
			}
			if perItemKeys[kv.Key] {
				return fail(&Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("%s is not allowed on %s", kv.Key, what), Fix: "put it on the tasks inside"})
			}
		}
	case t.Rescue != nil || t.Always != nil:
		kv := findKey(used, "rescue", "always")
		return fail(&Error{Pos: kv.KeyPos, Msg: kv.Key + " needs a block", Fix: "write block: with the tasks to try, then rescue: and always:"})
	case moduleKV == nil:
		fix := "add a module key, e.g. command: or debug:"
		if len(l.moduleNames) > 0 {
			fix = "add one of the modules: " + strings.Join(l.moduleNames, ", ")
		}
		return fail(&Error{Pos: t.Pos, Msg: "task has no module", Fix: fix})
	default:
		t.Module, t.ModulePos = moduleKV.Key, moduleKV.KeyPos
		args, err := moduleArgs(file, *moduleKV, spec)
		if err != nil {
			return fail(err)
		}
		if argsKV != nil {
			// args: gives arguments too; those written with the module win, as in Ansible.
			extra, _, err := valueMap(file, argsKV.Value, "args")
			if err != nil {
				return fail(err)
			}
			for k, v := range extra {
				if _, ok := args[k]; !ok {
					args[k] = v
				}
			}
		}
		t.Args = args
	}
	if argsKV != nil && t.Module == "" {
		return fail(&Error{Pos: argsKV.KeyPos, Msg: "args: gives a module's arguments, and the task runs no module", Fix: "remove args:, or put it on a task with a module"})
	}
	return t, nil
}

// builtinName strips the collection Ansible's own modules are under: ansible.builtin.copy
// and ansible.legacy.copy are copy.
func builtinName(key string) (string, bool) {
	for _, prefix := range []string{"ansible.builtin.", "ansible.legacy."} {
		if short, ok := strings.CutPrefix(key, prefix); ok && short != "" {
			return short, true
		}
	}
	return "", false
}

// actionModule turns action: / local_action: into the module key and arguments it stands
// for: the first word of a string names the module and the rest are its free-form
// arguments; a mapping names it under module:.
func actionModule(file string, kv KeyValue) (KeyValue, error) {
	n := yamlsrc.Resolve(kv.Value)
	switch n.Kind {
	case yaml.ScalarNode:
		name, rest, _ := strings.Cut(strings.TrimSpace(n.Value), " ")
		if name == "" {
			break
		}
		arg := *n
		arg.Value, arg.Tag, arg.Style = strings.TrimSpace(rest), "!!str", 0
		if arg.Value == "" {
			arg.Tag = "!!null"
		}
		if short, ok := builtinName(name); ok {
			name = short
		}
		return KeyValue{Key: name, KeyPos: kv.ValuePos, Value: &arg, ValuePos: kv.ValuePos}, nil
	case yaml.MappingNode:
		m := *n
		m.Content = nil
		var name string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "module" {
				name = n.Content[i+1].Value
				continue
			}
			m.Content = append(m.Content, n.Content[i], n.Content[i+1])
		}
		if name == "" {
			break
		}
		if short, ok := builtinName(name); ok {
			name = short
		}
		return KeyValue{Key: name, KeyPos: kv.ValuePos, Value: &m, ValuePos: kv.ValuePos}, nil
	}
	return KeyValue{}, &Error{Pos: kv.ValuePos, Msg: kv.Key + " names no module", Fix: "write " + kv.Key + ": MODULE name=value ..., or " + kv.Key + ": {module: MODULE, name: value}"}
}

func findKey(kvs []KeyValue, keys ...string) KeyValue {
	for _, kv := range kvs {
		if contains(keys, kv.Key) {
			return kv
		}
	}
	return KeyValue{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *loader) suggestModules() []string { return l.moduleNames }

// moduleArgs keeps a module's arguments raw, with places; a string stands for the module's
// free-form argument.
func moduleArgs(file string, kv KeyValue, spec ModuleInfo) (map[string]Value, error) {
	n := yamlsrc.Resolve(kv.Value)
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return map[string]Value{}, nil
	case n.Kind == yaml.MappingNode:
		args, _, err := valueMap(file, n, fmt.Sprintf("the arguments of %s", kv.Key))
		return args, err
	case n.Kind == yaml.ScalarNode:
		return freeFormValues(kv, n, spec)
	}
	fix := fmt.Sprintf("write %s: {name: value, ...}", kv.Key)
	if spec.FreeForm != "" {
		fix = fmt.Sprintf("write %s: a command line, or %s: {%s: ...}", kv.Key, kv.Key, spec.FreeForm)
	}
	return nil, &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("module %s takes a mapping of arguments, not %s", kv.Key, yamlsrc.KindName(n)), Fix: fix}
}

// freeFormValues reads a module's arguments written as one string: name=value pairs, a
// command line, or both (see freeFormArgs), each value placed where the string stands.
func freeFormValues(kv KeyValue, n *yaml.Node, spec ModuleInfo) (map[string]Value, error) {
	bad := func(why string) error {
		fix := fmt.Sprintf("write %s: {name: value, ...} or %s: name=value ...; omsbook doc %s lists its arguments", kv.Key, kv.Key, kv.Key)
		return &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("module %s takes a mapping of arguments or name=value pairs, not %s: %s", kv.Key, yamlsrc.KindName(n), why), Fix: fix}
	}
	if spec.FreeForm == "" && n.Tag != "!!str" {
		return nil, bad("it is no text")
	}
	args, ff, err := freeFormArgs(n.Value, spec)
	if err != nil {
		return nil, bad(err.Error())
	}
	out := make(map[string]Value, len(args)+1)
	for k, v := range args {
		out[k] = Value{Pos: kv.ValuePos, V: v}
	}
	if ff != "" {
		out[spec.FreeForm] = Value{Pos: kv.ValuePos, V: ff}
	}
	return out, nil
}

func (l *loader) taskKey(file string, t *Task, kv KeyValue) error {
	var err error
	v := kv.Value
	switch kv.Key {
	case "when":
		t.When, err = conditions(file, v, "when")
	case "failed_when":
		t.FailedWhen, err = conditions(file, v, "failed_when")
	case "changed_when":
		t.ChangedWhen, err = conditions(file, v, "changed_when")
	case "until":
		var cs []Value
		cs, err = conditions(file, v, "until")
		if err == nil && len(cs) != 1 {
			err = &Error{Pos: kv.ValuePos, Msg: "until takes one condition", Fix: "join several with &&"}
		}
		if err == nil {
			t.Until = &cs[0]
		}
	case "with_items", "with_list", "with_dict", "with_fileglob", "with_sequence", "with_nested", "with_subelements":
		if t.Loop != nil {
			return &Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("%s and %s cannot be on one task", loopKeyword(t), kv.Key), Fix: "keep one of them"}
		}
		var val any
		if val, err = yamlsrc.NodeValue(file, v); err != nil {
			return err
		}
		if n := yamlsrc.Resolve(v); kv.Key == "with_dict" && n.Kind == yaml.MappingNode {
			// The mapping's items in the order written, as Ansible iterates them.
			items := []any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				ev, err := yamlsrc.NodeValue(file, n.Content[i+1])
				if err != nil {
					return err
				}
				items = append(items, map[string]any{"key": n.Content[i].Value, "value": ev})
			}
			val = items
		}
		t.Loop, t.LoopWith = &Value{Pos: kv.ValuePos, V: val}, strings.TrimPrefix(kv.Key, "with_")
	case "loop":
		if t.Loop != nil {
			return &Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("%s and loop cannot be on one task", loopKeyword(t)), Fix: "keep one of them"}
		}
		n := yamlsrc.Resolve(v)
		if n.Kind == yaml.MappingNode || (n.Kind == yaml.ScalarNode && (n.Tag != "!!str" || !strings.Contains(n.Value, "{{"))) {
			return &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("loop must be a list or a template giving one, not %s", yamlsrc.KindName(n)), Fix: "write loop: [a, b] or loop: \"{{ .some_list }}\""}
		}
		var val any
		val, err = yamlsrc.NodeValue(file, n)
		t.Loop = &Value{Pos: kv.ValuePos, V: val}
	case "loop_control":
		var kvs []KeyValue
		if kvs, err = yamlsrc.Mapping(file, v, "loop_control"); err != nil {
			return err
		}
		for _, c := range kvs {
			if err := loopControl(file, t, c); err != nil {
				return err
			}
		}
	case "register":
		if t.Register, err = yamlsrc.Scalar(file, v, "register"); err == nil && !identRe.MatchString(t.Register) {
			err = &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("register %q is not a variable name", t.Register), Fix: "use letters, digits and _: conditions refer to it by name"}
		}
	case "retries":
		var n int
		n, err = yamlsrc.Int(file, v, "retries")
		if err == nil && n < 0 {
			err = &Error{Pos: kv.ValuePos, Msg: "retries must not be negative"}
		}
		t.Retries = &n
	case "delay":
		t.Delay, err = duration(file, kv)
	case "timeout":
		t.Timeout, err = duration(file, kv)
	case "ignore_errors":
		t.IgnoreErrors, err = yamlsrc.Bool(file, v, "ignore_errors")
	case "no_log":
		t.NoLog, err = yamlsrc.Bool(file, v, "no_log")
	case "run_once":
		n := yamlsrc.Resolve(v)
		if n.Kind == yaml.ScalarNode && n.Value == "region" {
			t.RunOnce = "region"
			return nil
		}
		var b bool
		if b, err = yamlsrc.Bool(file, v, "run_once"); err != nil {
			return &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("run_once must be true, false or region, not %s", yamlsrc.KindName(n))}
		}
		if b {
			t.RunOnce = "true"
		}
	case "delegate_to":
		var s string
		if s, err = yamlsrc.Scalar(file, v, "delegate_to"); err == nil {
			t.DelegateTo = &Value{Pos: kv.ValuePos, V: s}
		}
	case "tags":
		t.Tags, err = tags(file, v)
	case "check_mode":
		t.CheckMode, err = boolPtr(file, v, "check_mode")
	case "become":
		t.Become, err = boolPtr(file, v, "become")
	case "become_user":
		t.BecomeUser, err = yamlsrc.Scalar(file, v, "become_user")
	case "environment":
		t.Environment, _, err = valueMap(file, v, "environment")
	case "vars":
		t.Vars, t.VarOrder, err = valueMap(file, v, "vars")
	case "block":
		t.Block, err = l.blockList(file, v, "block")
	case "rescue":
		t.Rescue, err = l.blockList(file, v, "rescue")
	case "always":
		t.Always, err = l.blockList(file, v, "always")
	case "include_tasks", "import_tasks":
		err = l.include(file, t, kv)
	case "import_role", "include_role":
		err = l.importRole(file, t, kv)
	case "notify":
		t.Notify, err = yamlsrc.Strings(file, v, "notify")
		t.NotifyPos = kv.ValuePos
	case "listen":
		t.Listen, err = yamlsrc.Strings(file, v, "listen")
	case "remote_user":
		t.RemoteUser, err = yamlsrc.Scalar(file, v, "remote_user")
	case "throttle":
		t.Throttle, err = throttle(file, kv)
	default:
		// The keyword table declares it for tasks but nothing here reads it: a value would be
		// dropped without a word.
		err = fmt.Errorf("keyword %q is declared for tasks but omsbook does not decode it (a bug: please report it)", kv.Key)
	}
	return err
}

// loopKeyword names the loop keyword a task already has.
func loopKeyword(t *Task) string {
	if t.LoopWith != "" {
		return "with_" + t.LoopWith
	}
	return "loop"
}

// loopControlKeys are what loop_control takes.
var loopControlKeys = []string{"loop_var", "index_var", "label", "pause", "extended"}

// loopControl decodes one entry of loop_control.
func loopControl(file string, t *Task, c KeyValue) error {
	var err error
	ident := func(dst *string) error {
		if *dst, err = yamlsrc.Scalar(file, c.Value, c.Key); err != nil {
			return err
		}
		if !identRe.MatchString(*dst) {
			return &Error{Pos: c.ValuePos, Msg: fmt.Sprintf("%s %q is not a variable name", c.Key, *dst), Fix: "use letters, digits and _"}
		}
		return nil
	}
	switch c.Key {
	case "loop_var":
		return ident(&t.LoopVar)
	case "index_var":
		return ident(&t.LoopIndexVar)
	case "label":
		var s string
		s, err = yamlsrc.Scalar(file, c.Value, "label")
		t.LoopLabel = &Value{Pos: c.ValuePos, V: s}
	case "pause":
		t.LoopPause, err = duration(file, c)
	case "extended":
		t.LoopExtended, err = yamlsrc.Bool(file, c.Value, "extended")
	default:
		return unknownKey(c, "loop_control", loopControlKeys, nil)
	}
	return err
}

// blockList decodes the tasks of block/rescue/always; never nil, so that an empty block is
// still a block.
func (l *loader) blockList(file string, n *yaml.Node, what string) ([]*Task, error) {
	ts, err := l.tasks(file, n, what)
	if ts == nil && err == nil {
		ts = []*Task{}
	}
	return ts, err
}

// conditions decodes when/until/failed_when/changed_when: a string, a bool or a list of them.
func conditions(file string, n *yaml.Node, what string) ([]Value, error) {
	n = yamlsrc.Resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	out := make([]Value, 0, len(items))
	for _, it := range items {
		it = yamlsrc.Resolve(it)
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" || it.Tag == "!!int" || it.Tag == "!!float" {
			return nil, &Error{Pos: yamlsrc.NodePos(file, it), Msg: fmt.Sprintf("%s must be an expression, true/false or a list of them, not %s", what, yamlsrc.KindName(it)), Fix: "write e.g. " + what + ": result.rc == 0"}
		}
		var v any = it.Value
		if it.Tag == "!!bool" {
			b, _ := yamlsrc.Bool(file, it, what)
			v = b
		} else if strings.Contains(it.Value, "{{") {
			return nil, &Error{Pos: yamlsrc.NodePos(file, it), Msg: fmt.Sprintf("%s is an expression, not a template", what), Fix: "write it without {{ }} and without the leading dot, e.g. when: stopped.changed"}
		}
		out = append(out, Value{Pos: yamlsrc.NodePos(file, it), V: v})
	}
	return out, nil
}

func duration(file string, kv KeyValue) (time.Duration, error) {
	n := yamlsrc.Resolve(kv.Value)
	v, err := yamlsrc.NodeValue(file, n)
	if err != nil {
		return 0, err
	}
	if n.Kind != yaml.ScalarNode || v == nil {
		return 0, &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("%s must be a duration such as 10s or 2m, or a number of seconds, not %s", kv.Key, yamlsrc.KindName(n))}
	}
	d, err := yamlsrc.Duration(v)
	if err != nil {
		return 0, &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("bad %s: %v", kv.Key, err), Err: err}
	}
	if d < 0 {
		return 0, &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("%s must not be negative", kv.Key)}
	}
	return d, nil
}

// include decodes import_tasks (read now, its keywords applied to every task in it, as a
// block's) and include_tasks (its when evaluated once, its tags its own, a loop running the
// file once per item; a file name without a template is read now too, so validate checks
// it). The value is a file name, or {file: NAME, apply: {keywords for the included tasks}}.
func (l *loader) include(file string, t *Task, kv KeyValue) error {
	inc := &Include{Keyword: kv.Key, Dynamic: kv.Key == "include_tasks", Dir: filepath.Dir(file)}
	n := yamlsrc.Resolve(kv.Value)
	var nameNode *yaml.Node = n
	if n.Kind == yaml.MappingNode {
		kvs, err := yamlsrc.Mapping(file, n, kv.Key)
		if err != nil {
			return err
		}
		nameNode = nil
		for _, a := range kvs {
			switch a.Key {
			case "file":
				nameNode = a.Value
			case "apply":
				if !inc.Dynamic {
					return &Error{Pos: a.KeyPos, Msg: "apply is for include_tasks", Fix: "import_tasks applies its own keywords to the tasks it imports"}
				}
				if inc.Apply, err = l.applyKeywords(file, a.Value); err != nil {
					return err
				}
			default:
				return unknownKey(a, kv.Key, []string{"file", "apply"}, nil)
			}
		}
		if nameNode == nil {
			return &Error{Pos: kv.ValuePos, Msg: kv.Key + " needs file: with the file's name", Fix: "write " + kv.Key + ": FILE or " + kv.Key + ": {file: FILE}"}
		}
	}
	name, err := yamlsrc.Scalar(file, nameNode, kv.Key)
	if err != nil {
		return err
	}
	inc.File = Value{Pos: yamlsrc.NodePos(file, nameNode), V: name}
	t.Include = inc
	if strings.Contains(name, "{{") {
		if !inc.Dynamic {
			return &Error{Pos: inc.File.Pos, Msg: "import_tasks reads its file at load time: the name cannot be a template", Fix: "use include_tasks for a file chosen at run time"}
		}
		t.Block = []*Task{} // read per host when the task runs
		return nil
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(inc.Dir, name)
	}
	ts, err := l.taskFile(inc.File.Pos, path, kv.Key, "the path is relative to the file that includes it")
	if err != nil {
		return err
	}
	t.IncludeTasks, t.Block = path, ts
	return nil
}

// applyKeywords decodes include_tasks' apply: block keywords for the included tasks.
func (l *loader) applyKeywords(file string, n *yaml.Node) (*Task, error) {
	kvs, err := yamlsrc.Mapping(file, n, "apply")
	if err != nil {
		return nil, err
	}
	t := &Task{Pos: yamlsrc.NodePos(file, n), LoopVar: "item"}
	for _, kv := range kvs {
		kw, ok := LookupKeyword(kv.Key)
		if !ok || kw.Scope&InBlock == 0 || kw.Type == TypeTasks || kv.Key == "name" {
			return nil, unknownKey(kv, "apply", keywordNames(InBlock), nil)
		}
		if err := l.taskKey(file, t, kv); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// LoadTaskFile reads a file of tasks as include_tasks does, for an include whose file name
// is known only per host.
func LoadTaskFile(pos Pos, path string, opts Options) ([]*Task, error) {
	l := newLoader(opts)
	return l.taskFile(pos, path, "include_tasks", "the path is relative to the file that includes it")
}

// taskFile reads a file of tasks (an include, a role's tasks) at load time, as the keyword
// what at pos asks; a file that includes itself, directly or through others, is an error
// naming the chain. The list is never nil, so that an empty file is still a block.
func (l *loader) taskFile(pos Pos, path, what, fix string) ([]*Task, error) {
	return l.taskFileIn(pos, path, what, fix, InTask)
}

// taskFileAs is taskFile for a file of handlers (scope InHandler) or tasks.
func (l *loader) taskFileAs(pos Pos, path, what string, scope Scope) ([]*Task, error) {
	return l.taskFileIn(pos, path, what, "check the file", scope)
}

func (l *loader) taskFileIn(pos Pos, path, what, fix string, scope Scope) ([]*Task, error) {
	abs, _ := filepath.Abs(path)
	for i, f := range l.stack {
		if f == abs {
			chain := make([]string, 0, len(l.stack)-i+1)
			for _, s := range l.stack[i:] {
				chain = append(chain, relName(s))
			}
			chain = append(chain, relName(abs))
			return nil, &Error{Pos: pos, Msg: what + " cycle: " + strings.Join(chain, " -> "), Fix: "a task file must not include itself, directly or through others"}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("%s: cannot read %s: %s", what, path, pathErrText(err)), Fix: fix, Err: err}
	}
	root, err := yamlsrc.ParseYAML(path, data)
	if err != nil {
		return nil, err
	}
	l.stack = append(l.stack, abs)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	ts := []*Task{}
	if root != nil {
		if scope == InHandler {
			ts, err = l.handlerList(path, root, "a handlers file")
		} else {
			ts, err = l.tasks(path, root, "a task file")
		}
		if err != nil {
			return nil, err
		}
		if ts == nil {
			ts = []*Task{}
		}
	}
	return ts, nil
}

// relName shortens an absolute path to one relative to the working directory for messages.
func relName(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return abs
}
