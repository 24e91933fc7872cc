package playbook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// Role is a role as loaded from its directory: roles/NAME/{tasks,handlers,defaults,vars,meta}
// with main.yml (or main.yaml) in each, and templates/ and files/ that template and copy look
// in first for a relative src.
type Role struct {
	Name string
	Path string // the role's directory
	// Defaults are the role's defaults/main.yml: the lowest precedence of all variables.
	Defaults      map[string]Value
	DefaultsOrder []string
	// Vars are the role's vars/main.yml: above the play's vars and vars_files.
	Vars      map[string]Value
	VarsOrder []string
	// AllowDuplicates lets the role run more than once in a play with the same parameters.
	AllowDuplicates bool
}

// roleEntryKeys are the keys of a roles: entry or an import_role/include_role that name the
// role; every other key of an entry is a keyword (from the table) or a role parameter.
var roleEntryKeys = []string{"role", "name"}

// roleFileNames are the names of a role's main file in each of its directories.
var roleFileNames = []string{"main.yml", "main.yaml"}

// roleRefs are the role references of one play being loaded: each role's blocks are built
// once per distinct entry, as Ansible runs a role once per play unless asked otherwise.
type roleRefs struct {
	play *Play
	seen map[string]bool // role path + parameters
	// loaded marks the files (handlers, defaults, vars) whose contents already joined the
	// play's: a role imported twice contributes them once.
	loaded map[string]bool
}

// roleSearchPath lists the directories a role name is looked for in: roles/ beside the
// playbook, the directory of the role that depends on it, the playbook's directory, then
// the configured roles path.
func (l *loader) roleSearchPath(from string) []string {
	var dirs []string
	if l.playbookDir != "" {
		dirs = append(dirs, filepath.Join(l.playbookDir, "roles"))
	}
	if from != "" {
		dirs = append(dirs, filepath.Dir(from))
	}
	if l.playbookDir != "" {
		dirs = append(dirs, l.playbookDir)
	}
	return append(dirs, l.rolesPath...)
}

// findRole finds a role's directory by name (or path) as Ansible does.
func (l *loader) findRole(pos Pos, name, from string) (string, error) {
	if strings.Contains(name, "{{") {
		return "", &Error{Pos: pos, Msg: "a role is named, not templated", Fix: "name the role; choose between roles with when:"}
	}
	var tried []string
	candidates := []string{name}
	if !filepath.IsAbs(name) {
		candidates = nil
		for _, d := range l.roleSearchPath(from) {
			candidates = append(candidates, filepath.Join(d, name))
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, nil
		}
		tried = append(tried, c)
	}
	return "", &Error{Pos: pos, Msg: fmt.Sprintf("role %q not found (looked in %s)", name, strings.Join(tried, ", ")),
		Fix: "put the role in roles/ beside the playbook, or add its directory to OMSBOOK_ROLES_PATH"}
}

// roleFile finds a role's main file in sub (tasks, handlers, ...), or name.yml there when
// from names another (tasks_from: setup); "" when the role has none.
func roleFile(dir, sub, from string) string {
	names := roleFileNames
	if from != "" {
		names = []string{from, from + ".yml", from + ".yaml"}
	}
	for _, n := range names {
		p := filepath.Join(dir, sub, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// roleFrom says which files of a role an import_role or include_role reads.
type roleFrom struct {
	tasks, vars, defaults, handlers string
}

// roleBlock loads the role an entry names and returns it as a block task (none when the
// role already ran in this play with the same parameters): its dependencies first, each a
// block of its own inside it, so that the entry's when, tags and parameters reach them too,
// as Ansible's do; then its tasks. Its handlers join the play's; its defaults and vars join
// the play's variables. t carries the entry's keywords and parameters.
func (l *loader) roleBlock(refs *roleRefs, t *Task, pos Pos, name, from string, files roleFrom) ([]*Task, error) {
	dir, err := l.findRole(pos, name, from)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dir)
	for _, f := range l.roleStack {
		if f == abs {
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("role %q depends on itself", name), Fix: "remove the dependency cycle from meta/main.yml"}
		}
	}
	l.roleStack = append(l.roleStack, abs)
	defer func() { l.roleStack = l.roleStack[:len(l.roleStack)-1] }()

	role := &Role{Name: filepath.Base(dir), Path: abs}
	deps, err := l.roleMeta(role, refs)
	if err != nil {
		return nil, err
	}
	key := abs + "\x00" + files.tasks + "\x00" + fmt.Sprint(t.Vars)
	if refs.seen[key] && !role.AllowDuplicates {
		return nil, nil
	}
	refs.seen[key] = true
	if err := l.roleVars(role, files); err != nil {
		return nil, err
	}
	tasks := []*Task{}
	if p := roleFile(dir, "tasks", files.tasks); p != "" {
		if tasks, err = l.taskFile(pos, p, "role "+role.Name, "check the role's tasks file"); err != nil {
			return nil, err
		}
	} else if files.tasks != "" {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("role %q has no tasks file %q", role.Name, files.tasks), Fix: "name a file in the role's tasks/ directory"}
	}
	if p := roleFile(dir, "handlers", files.handlers); p != "" && !refs.once(p) {
		hs, err := l.taskFileAs(pos, p, "role "+role.Name+" handlers", InHandler)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			h.Role = role
		}
		refs.play.Handlers = append(refs.play.Handlers, hs...)
	}
	if !refs.once(abs + "\x00" + files.vars + "\x00" + files.defaults) {
		refs.play.Roles = append(refs.play.Roles, role)
	}
	t.Block, t.Role = append(deps, tasks...), role
	return []*Task{t}, nil
}

// roleMeta reads meta/main.yml: allow_duplicates, and the dependencies, which are loaded (and
// returned as blocks) before the role itself.
func (l *loader) roleMeta(role *Role, refs *roleRefs) ([]*Task, error) {
	p := roleFile(role.Path, "meta", "")
	if p == "" {
		return nil, nil
	}
	root, err := readYAMLFile(p)
	if err != nil || root == nil {
		return nil, err
	}
	kvs, err := yamlsrc.Mapping(p, root, "a role's meta/main.yml")
	if err != nil {
		return nil, err
	}
	var deps []*Task
	for _, kv := range kvs {
		switch kv.Key {
		case "allow_duplicates":
			if role.AllowDuplicates, err = yamlsrc.Bool(p, kv.Value, "allow_duplicates"); err != nil {
				return nil, err
			}
		case "dependencies":
			ds, err := l.roleEntries(p, kv.Value, refs, "dependencies")
			if err != nil {
				return nil, err
			}
			deps = append(deps, ds...)
		case "galaxy_info", "collections", "argument_specs":
			// Galaxy's metadata and argument specs say nothing omsbook acts on.
		default:
			return nil, unknownKey(kv, "a role's meta/main.yml", []string{"dependencies", "allow_duplicates", "galaxy_info"}, nil)
		}
	}
	return deps, nil
}

// roleVars reads the role's defaults and vars files.
func (l *loader) roleVars(role *Role, files roleFrom) error {
	for _, f := range []struct {
		sub, from string
		m         *map[string]Value
		order     *[]string
	}{
		{"defaults", files.defaults, &role.Defaults, &role.DefaultsOrder},
		{"vars", files.vars, &role.Vars, &role.VarsOrder},
	} {
		p := roleFile(role.Path, f.sub, f.from)
		if p == "" {
			continue
		}
		root, err := readYAMLFile(p)
		if err != nil {
			return err
		}
		if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			continue
		}
		if *f.m, *f.order, err = valueMap(p, root, "a role's "+f.sub+" file"); err != nil {
			return err
		}
	}
	return nil
}

// roleEntries decodes a list of role entries (a play's roles:, a role's dependencies) into
// blocks, dependencies first.
func (l *loader) roleEntries(file string, n *yaml.Node, refs *roleRefs, what string) ([]*Task, error) {
	items, err := yamlsrc.Sequence(file, n, what)
	if err != nil {
		return nil, err
	}
	var out []*Task
	for _, it := range items {
		bs, err := l.roleEntry(file, it, refs)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// roleEntry decodes one entry: a role's name, or a mapping with role: (or name:), keywords
// that apply to all its tasks (vars, tags, when, become, ...) and role parameters.
func (l *loader) roleEntry(file string, n *yaml.Node, refs *roleRefs) ([]*Task, error) {
	n = yamlsrc.Resolve(n)
	t := &Task{Pos: yamlsrc.NodePos(file, n), LoopVar: "item"}
	if n.Kind == yaml.ScalarNode {
		name, err := yamlsrc.Scalar(file, n, "a role")
		if err != nil {
			return nil, err
		}
		return l.roleBlock(refs, t, t.Pos, name, file, roleFrom{})
	}
	kvs, err := yamlsrc.Mapping(file, n, "a role entry")
	if err != nil {
		return nil, err
	}
	var name string
	var namePos Pos
	for _, kv := range kvs {
		kw, isKeyword := LookupKeyword(kv.Key)
		switch {
		case contains(roleEntryKeys, kv.Key):
			if name, err = yamlsrc.Scalar(file, kv.Value, kv.Key); err != nil {
				return nil, err
			}
			namePos = kv.ValuePos
		case kv.Key == "vars":
			// vars: and bare parameters are the same thing: variables of the role's tasks.
			vars, order, err := valueMap(file, kv.Value, "vars")
			if err != nil {
				return nil, err
			}
			if t.Vars == nil {
				t.Vars = map[string]Value{}
			}
			for _, k := range order {
				if _, dup := t.Vars[k]; !dup {
					t.VarOrder = append(t.VarOrder, k)
				}
				t.Vars[k] = vars[k]
			}
		case isKeyword && kw.Scope&InRoleEntry != 0:
			if err := l.taskKey(file, t, kv); err != nil {
				return nil, err
			}
		case isKeyword:
			return nil, &Error{Pos: kv.KeyPos, Msg: kv.Key + " is not allowed on a role", Fix: "put it on the role's tasks"}
		default:
			// A role parameter: a variable of the role's tasks.
			v, err := yamlsrc.NodeValue(file, kv.Value)
			if err != nil {
				return nil, err
			}
			if t.Vars == nil {
				t.Vars = map[string]Value{}
			}
			t.Vars[kv.Key] = Value{Pos: kv.ValuePos, V: v}
			t.VarOrder = append(t.VarOrder, kv.Key)
		}
	}
	if name == "" {
		return nil, &Error{Pos: t.Pos, Msg: "a role entry needs role: with the role's name", Fix: "write - role: NAME (or just - NAME)"}
	}
	return l.roleBlock(refs, t, namePos, name, file, roleFrom{})
}

// importRole decodes a task's import_role / include_role: {name, tasks_from, vars_from,
// defaults_from, handlers_from}: the role's tasks become the task's block.
func (l *loader) importRole(file string, t *Task, kv KeyValue) error {
	kvs, err := yamlsrc.Mapping(file, kv.Value, kv.Key)
	if err != nil {
		return err
	}
	var name string
	var files roleFrom
	for _, a := range kvs {
		var dst *string
		switch a.Key {
		case "name", "role":
			dst = &name
		case "tasks_from":
			dst = &files.tasks
		case "vars_from":
			dst = &files.vars
		case "defaults_from":
			dst = &files.defaults
		case "handlers_from":
			dst = &files.handlers
		case "public", "allow_duplicates", "rolespec_validate":
			continue // accepted for Ansible compatibility; role vars are always play-wide here
		default:
			return unknownKey(a, kv.Key, []string{"name", "tasks_from", "vars_from", "defaults_from", "handlers_from"}, nil)
		}
		if *dst, err = yamlsrc.Scalar(file, a.Value, a.Key); err != nil {
			return err
		}
	}
	if name == "" {
		return &Error{Pos: kv.ValuePos, Msg: kv.Key + " needs name: with the role's name", Fix: "write " + kv.Key + ": {name: ROLE}"}
	}
	if l.roleRefs == nil {
		return &Error{Pos: kv.KeyPos, Msg: kv.Key + " is only allowed in a play's tasks", Fix: "move it into a play"}
	}
	blocks, err := l.roleBlock(l.roleRefs, &Task{Pos: t.Pos, LoopVar: "item"}, kv.ValuePos, name, file, files)
	if err != nil {
		return err
	}
	// The role (with its dependencies inside, first) is the task's block.
	t.ImportRole = name
	t.Block = []*Task{}
	if len(blocks) == 1 {
		t.Block, t.Role = blocks[0].Block, blocks[0].Role
	}
	return nil
}

// readYAMLFile reads and parses a YAML file; nil for an empty one.
func readYAMLFile(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Msg: "cannot read: " + pathErrText(err), Err: err}
	}
	return yamlsrc.ParseYAML(path, data)
}

// once reports whether key was seen before, and marks it.
func (r *roleRefs) once(key string) bool {
	if r.loaded == nil {
		r.loaded = map[string]bool{}
	}
	seen := r.loaded[key]
	r.loaded[key] = true
	return seen
}
