package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// ModuleInfo is what the loader needs to know of a module.
type ModuleInfo struct {
	// FreeForm names the argument a bare string value stands for (`command: ls -l` means
	// `command: {cmd: "ls -l"}`); empty when the module takes a mapping only.
	FreeForm string
	// Args are the module's declared argument names: name=value words of a free-form string
	// set these.
	Args []string
}

// Lookup says whether a task key names a module, and what the loader needs to know of it.
type Lookup func(name string) (ModuleInfo, bool)

// Options configure a load. The caller says which modules exist: the loader knows none of
// its own.
type Options struct {
	// Lookup finds modules; nil finds none, so that every task key must be a keyword.
	Lookup Lookup
	// ModuleNames are the module names that suggestions ("did you mean") and the "task has no
	// module" hint draw from, in the order to show them.
	ModuleNames []string
	// RolesPath lists directories searched for roles after roles/ beside the playbook, the
	// including role's directory and the playbook's own.
	RolesPath []string
}

// Load reads a playbook, finding modules with lookup. Every error is an *Error with the file,
// line and column.
func Load(path string, lookup Lookup, moduleNames []string) (*Playbook, error) {
	return LoadWith(path, Options{Lookup: lookup, ModuleNames: moduleNames})
}

// LoadWith is Load with options.
func LoadWith(path string, opts Options) (*Playbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Msg: "cannot read playbook: " + pathErrText(err), Fix: "check the playbook's path", Err: err}
	}
	return Parse(path, data, opts)
}

// Parse decodes a playbook from data as if read from path; include_tasks files are read
// relative to path's directory.
func Parse(path string, data []byte, opts Options) (*Playbook, error) {
	l := newLoader(opts)
	root, err := yamlsrc.ParseYAML(path, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		// An empty file: its first line is where the plays belong.
		return nil, &Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: "the playbook has no plays", Fix: "write a list of plays, each with hosts: and tasks:"}
	}
	items, err := yamlsrc.Sequence(path, root, "a playbook")
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Fix = "a playbook is a list of plays: start each play with '- name:'"
		}
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	l.stack = []string{abs}
	pb := &Playbook{File: path}
	if err := l.playList(path, items, pb); err != nil {
		return nil, err
	}
	if len(pb.Plays) == 0 {
		return nil, &Error{Pos: yamlsrc.NodePos(path, root), Msg: "the playbook has no plays", Fix: "write a list of plays, each with hosts: and tasks:"}
	}
	return pb, nil
}

// playList decodes a playbook's entries into pb: plays, and import_playbook entries, whose
// plays come in their place.
func (l *loader) playList(path string, items []*yaml.Node, pb *Playbook) error {
	abs, _ := filepath.Abs(path)
	saved := l.playbookDir
	l.playbookDir = filepath.Dir(abs)
	defer func() { l.playbookDir = saved }()
	for _, it := range items {
		if kv, ok := importPlaybookEntry(path, it); ok {
			if err := l.importPlaybook(path, kv, pb); err != nil {
				return err
			}
			continue
		}
		p, err := l.play(path, it)
		if err != nil {
			return err
		}
		p.Dir = l.playbookDir
		pb.Plays = append(pb.Plays, p)
	}
	return nil
}

// importPlaybookEntry finds the import_playbook key of a playbook entry.
func importPlaybookEntry(path string, n *yaml.Node) (KeyValue, bool) {
	kvs, err := yamlsrc.Mapping(path, n, "a play")
	if err != nil {
		return KeyValue{}, false
	}
	for _, kv := range kvs {
		if kv.Key == "import_playbook" {
			for _, other := range kvs {
				if other.Key != "import_playbook" && other.Key != "name" {
					return KeyValue{Key: "import_playbook", KeyPos: other.KeyPos, Value: nil}, true
				}
			}
			return kv, true
		}
	}
	return KeyValue{}, false
}

// importPlaybook reads another playbook's plays into pb, relative to the importing file.
func (l *loader) importPlaybook(path string, kv KeyValue, pb *Playbook) error {
	if kv.Value == nil {
		return &Error{Pos: kv.KeyPos, Msg: "import_playbook takes no other keyword", Fix: "put keywords on the imported playbook's plays"}
	}
	name, err := yamlsrc.Scalar(path, kv.Value, "import_playbook")
	if err != nil {
		return err
	}
	if strings.Contains(name, "{{") {
		return &Error{Pos: kv.ValuePos, Msg: "import_playbook reads its file at load time: the name cannot be a template", Fix: "name the playbook file"}
	}
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(path), name)
	}
	abs, _ := filepath.Abs(file)
	for _, f := range l.stack {
		if f == abs {
			return &Error{Pos: kv.ValuePos, Msg: "import_playbook cycle: " + relName(abs) + " imports itself", Fix: "a playbook must not import itself, directly or through others"}
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("import_playbook: cannot read %s: %s", file, pathErrText(err)), Fix: "the path is relative to the importing playbook", Err: err}
	}
	root, err := yamlsrc.ParseYAML(file, data)
	if err != nil {
		return err
	}
	if root == nil {
		return nil
	}
	items, err := yamlsrc.Sequence(file, root, "a playbook")
	if err != nil {
		return err
	}
	l.stack = append(l.stack, abs)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	return l.playList(file, items, pb)
}

func pathErrText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// loader carries the module lookup and the stack of files being read (for include cycles).
type loader struct {
	lookup      Lookup
	moduleNames []string
	stack       []string
	// playbookDir and rolesPath are where roles are found; roleStack holds the roles being
	// loaded (for dependency cycles), roleRefs the roles of the play being loaded.
	playbookDir string
	rolesPath   []string
	roleStack   []string
	roleRefs    *roleRefs
}

func newLoader(opts Options) *loader {
	l := &loader{lookup: opts.Lookup, moduleNames: opts.ModuleNames, rolesPath: opts.RolesPath}
	if l.lookup == nil {
		l.lookup = func(string) (ModuleInfo, bool) { return ModuleInfo{}, false }
	}
	if l.moduleNames == nil {
		l.moduleNames = []string{}
	}
	return l
}

var (
	// playKeys are the keywords of a play, from the keyword table.
	playKeys = keywordNames(InPlay)
	// unsupportedPlayKeys are Ansible play keywords omsbook rejects with an explanation.
	unsupportedPlayKeys = map[string]string{}
)

func (l *loader) play(file string, n *yaml.Node) (*Play, error) {
	kvs, err := yamlsrc.Mapping(file, n, "a play")
	if err != nil {
		return nil, err
	}
	p := &Play{Pos: yamlsrc.NodePos(file, n)}
	l.roleRefs = &roleRefs{play: p, seen: map[string]bool{}}
	defer func() { l.roleRefs = nil }()
	var hostsSet bool
	for _, kv := range kvs {
		if err := l.playKey(file, p, kv, &hostsSet); err != nil {
			return nil, err
		}
	}
	if !hostsSet {
		return nil, &Error{Pos: p.Pos, Msg: fmt.Sprintf("play %q has no hosts", p.Name), Fix: "add hosts: with a node, a region, a group or all"}
	}
	return p, nil
}

func (l *loader) playKey(file string, p *Play, kv KeyValue, hostsSet *bool) error {
	var err error
	v := kv.Value
	switch kv.Key {
	case "name":
		p.Name, err = yamlsrc.Scalar(file, v, "name")
	case "hosts":
		var hs []string
		hs, err = yamlsrc.Strings(file, v, "hosts")
		if err == nil && (len(hs) == 0 || strings.TrimSpace(strings.Join(hs, "")) == "") {
			err = &Error{Pos: kv.ValuePos, Msg: "hosts is empty", Fix: "name a node, a region, a group or all"}
		}
		p.Hosts, *hostsSet = strings.Join(hs, ","), true
	case "serial":
		p.Serial, err = serial(file, v)
	case "any_errors_fatal":
		p.AnyErrorsFatal, err = yamlsrc.Bool(file, v, "any_errors_fatal")
	case "max_fail_percentage":
		var pct float64
		pct, err = percent(file, v, "max_fail_percentage", true)
		p.MaxFailPercentage = &pct
	case "vars":
		p.Vars, p.VarOrder, err = valueMap(file, v, "vars")
	case "vars_files":
		p.VarsFiles, err = valueList(file, v, "vars_files")
	case "secrets":
		p.Secrets, err = yamlsrc.Strings(file, v, "secrets")
	case "tags":
		p.Tags, err = tags(file, v)
	case "check_mode":
		p.CheckMode, err = boolPtr(file, v, "check_mode")
	case "become":
		p.Become, err = boolPtr(file, v, "become")
	case "become_user":
		p.BecomeUser, err = yamlsrc.Scalar(file, v, "become_user")
	case "environment":
		p.Environment, _, err = valueMap(file, v, "environment")
	case "tasks":
		p.Tasks, err = l.tasks(file, v, "tasks")
	case "roles":
		p.RoleTasks, err = l.roleEntries(file, v, l.roleRefs, "roles")
	case "vars_prompt":
		p.VarsPrompt, err = varsPrompt(file, v)
	case "pre_tasks":
		p.PreTasks, err = l.tasks(file, v, "pre_tasks")
	case "post_tasks":
		p.PostTasks, err = l.tasks(file, v, "post_tasks")
	case "handlers":
		p.Handlers, err = l.handlers(file, v)
	case "remote_user":
		p.RemoteUser, err = yamlsrc.Scalar(file, v, "remote_user")
	case "force_handlers":
		p.ForceHandlers, err = yamlsrc.Bool(file, v, "force_handlers")
	case "order":
		p.Order, err = oneOfScalar(file, kv, "inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle")
	case "strategy":
		p.Strategy, err = oneOfScalar(file, kv, "linear", "free")
	case "throttle":
		p.Throttle, err = throttle(file, kv)
	case "gather_facts":
		p.GatherFacts, err = boolPtr(file, v, "gather_facts")
	case "gather_subset":
		p.GatherSubset, err = yamlsrc.Strings(file, v, "gather_subset")
	default:
		if fix, ok := unsupportedPlayKeys[kv.Key]; ok {
			return &Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("%s is not supported by omsbook", kv.Key), Fix: fix}
		}
		return unknownKey(kv, "a play", playKeys, nil)
	}
	return err
}

// unknownKey reports a key that is no keyword (and no module), suggesting close ones.
func unknownKey(kv KeyValue, where string, keywords, moduleNames []string) error {
	msg := fmt.Sprintf("unknown keyword %q in %s", kv.Key, where)
	if moduleNames != nil {
		msg = fmt.Sprintf("unknown module or keyword %q in %s", kv.Key, where)
	}
	candidates := append(append([]string{}, keywords...), moduleNames...)
	fix := "allowed: " + strings.Join(keywords, ", ")
	if moduleNames != nil {
		fix = "it is no task keyword and no module; `omsbook doc` lists the modules"
	}
	if s := yamlsrc.Suggest(kv.Key, candidates); len(s) > 0 {
		fix = fmt.Sprintf("did you mean %s?", quoteJoin(s, " or "))
	}
	// A collection-qualified name as Ansible writes it (ansible.builtin.command): omsbook's
	// modules have no collection prefix, so point at the short name when there is one.
	if i := strings.LastIndexByte(kv.Key, '.'); moduleNames != nil && i > 0 {
		short := kv.Key[i+1:]
		for _, m := range moduleNames {
			if m == short {
				fix = fmt.Sprintf("omsbook's modules have no collection prefix: write %q", short)
			}
		}
	}
	return &Error{Pos: kv.KeyPos, Msg: msg, Fix: fix}
}

func quoteJoin(ss []string, sep string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, sep)
}

// serial decodes N, "30%" or a list of them.
func serial(file string, n *yaml.Node) ([]Batch, error) {
	n = yamlsrc.Resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return nil, &Error{Pos: yamlsrc.NodePos(file, n), Msg: "serial is an empty list", Fix: "write a number, a percentage such as \"30%\", or a list of them"}
		}
	}
	var out []Batch
	for _, it := range items {
		it = yamlsrc.Resolve(it)
		bad := &Error{Pos: yamlsrc.NodePos(file, it), Msg: fmt.Sprintf("serial must be a number of hosts, a percentage or a list of them, not %s", yamlsrc.KindName(it)), Fix: "write serial: 1, serial: \"30%\" or serial: [1, \"50%\"]"}
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" || it.Tag == "!!bool" {
			return nil, bad
		}
		s := strings.TrimSpace(it.Value)
		if strings.HasSuffix(s, "%") {
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
			if err != nil || f <= 0 || f > 100 {
				bad.Msg = fmt.Sprintf("serial %q is not a percentage between 0 and 100", s)
				return nil, bad
			}
			out = append(out, Batch{Percent: f})
			continue
		}
		c, err := strconv.Atoi(s)
		if err != nil {
			return nil, bad
		}
		if c < 1 {
			bad.Msg = fmt.Sprintf("serial %d must be at least 1", c)
			return nil, bad
		}
		out = append(out, Batch{Count: c})
	}
	return out, nil
}

// percent decodes a number from 0 to 100, or "30%".
func percent(file string, n *yaml.Node, what string, allowZero bool) (float64, error) {
	n = yamlsrc.Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" && n.Tag != "!!bool" {
		s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(n.Value), "%"))
		if f, err := strconv.ParseFloat(s, 64); err == nil && f <= 100 && (f > 0 || (allowZero && f == 0)) {
			return f, nil
		}
	}
	return 0, &Error{Pos: yamlsrc.NodePos(file, n), Msg: fmt.Sprintf("%s must be a percentage from 0 to 100, not %s", what, yamlsrc.KindName(n))}
}

func boolPtr(file string, n *yaml.Node, what string) (*bool, error) {
	b, err := yamlsrc.Bool(file, n, what)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// tags decodes a list of tags; a string may hold several separated by commas.
func tags(file string, n *yaml.Node) ([]string, error) {
	list, err := yamlsrc.Strings(file, n, "tags")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range list {
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// valueMap decodes a mapping into Values with their places, and the keys in order.
func valueMap(file string, n *yaml.Node, what string) (map[string]Value, []string, error) {
	kvs, err := yamlsrc.Mapping(file, n, what)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]Value, len(kvs))
	order := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		v, err := yamlsrc.NodeValue(file, kv.Value)
		if err != nil {
			return nil, nil, err
		}
		out[kv.Key] = Value{Pos: kv.ValuePos, V: v}
		order = append(order, kv.Key)
	}
	return out, order, nil
}

// valueList decodes a list (or a single value) into Values with their places.
func valueList(file string, n *yaml.Node, what string) ([]Value, error) {
	n = yamlsrc.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	} else if n.Kind == yaml.MappingNode {
		return nil, &Error{Pos: yamlsrc.NodePos(file, n), Msg: fmt.Sprintf("%s must be a list, not a mapping", what)}
	}
	out := make([]Value, 0, len(items))
	for _, it := range items {
		v, err := yamlsrc.NodeValue(file, it)
		if err != nil {
			return nil, err
		}
		out = append(out, Value{Pos: yamlsrc.NodePos(file, yamlsrc.Resolve(it)), V: v})
	}
	return out, nil
}

// oneOfScalar decodes a scalar that must be one of choices.
func oneOfScalar(file string, kv KeyValue, choices ...string) (string, error) {
	v, err := yamlsrc.Scalar(file, kv.Value, kv.Key)
	if err != nil {
		return "", err
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("%s %q is not one of %s", kv.Key, v, strings.Join(choices, ", ")), Fix: "write one of: " + strings.Join(choices, ", ")}
}

// throttle decodes a positive number of hosts at a time (0: no limit beyond forks).
func throttle(file string, kv KeyValue) (int, error) {
	n, err := yamlsrc.Int(file, kv.Value, "throttle")
	if err == nil && n < 0 {
		err = &Error{Pos: kv.ValuePos, Msg: "throttle must not be negative", Fix: "give the most hosts that may run the task at once, e.g. throttle: 1"}
	}
	return n, err
}

// handlers decodes a play's handlers: tasks that run at the end of a section on the hosts
// where a task notified them; each has a name or listens to a topic.
func (l *loader) handlers(file string, n *yaml.Node) ([]*Task, error) {
	return l.handlerList(file, n, "handlers")
}

// handlerList decodes a list of handlers (a play's, or a role's handlers file).
func (l *loader) handlerList(file string, n *yaml.Node, what string) ([]*Task, error) {
	items, err := yamlsrc.Sequence(file, n, what)
	if err != nil {
		return nil, err
	}
	out := make([]*Task, 0, len(items))
	for _, it := range items {
		h, err := l.taskIn(file, it, InHandler)
		if err != nil {
			return nil, err
		}
		if h.Name == "" && len(h.Listen) == 0 && h.Include == nil {
			return nil, &Error{Pos: h.Pos, Msg: "a handler needs a name or listen", Fix: "give it name: (what notify: names) or listen: a topic"}
		}
		out = append(out, h)
	}
	return out, nil
}

// varsPrompt decodes a play's vars_prompt entries.
func varsPrompt(file string, n *yaml.Node) ([]Prompt, error) {
	items, err := yamlsrc.Sequence(file, n, "vars_prompt")
	if err != nil {
		return nil, err
	}
	var out []Prompt
	for _, it := range items {
		kvs, err := yamlsrc.Mapping(file, it, "a vars_prompt entry")
		if err != nil {
			return nil, err
		}
		p := Prompt{Pos: yamlsrc.NodePos(file, it), Private: true}
		for _, kv := range kvs {
			switch kv.Key {
			case "name":
				if p.Name, err = yamlsrc.Scalar(file, kv.Value, "name"); err == nil && !identRe.MatchString(p.Name) {
					err = &Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("vars_prompt name %q is not a variable name", p.Name), Fix: "use letters, digits and _"}
				}
			case "prompt":
				p.Text, err = yamlsrc.Scalar(file, kv.Value, "prompt")
			case "default":
				var d string
				d, err = yamlsrc.Scalar(file, kv.Value, "default")
				p.Default = &d
			case "private":
				p.Private, err = yamlsrc.Bool(file, kv.Value, "private")
			case "confirm":
				p.Confirm, err = yamlsrc.Bool(file, kv.Value, "confirm")
			case "unsafe":
				_, err = yamlsrc.Bool(file, kv.Value, "unsafe") // omsbook never renders an answer
			default:
				err = unknownKey(kv, "vars_prompt", []string{"name", "prompt", "default", "private", "confirm", "unsafe"}, nil)
			}
			if err != nil {
				return nil, err
			}
		}
		if p.Name == "" {
			return nil, &Error{Pos: p.Pos, Msg: "a vars_prompt entry needs name:", Fix: "give the variable's name: name: NAME"}
		}
		if p.Text == "" {
			p.Text = p.Name
		}
		out = append(out, p)
	}
	return out, nil
}
