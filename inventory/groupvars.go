package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file reads group_vars/ and host_vars/ as Ansible's host_group_vars plugin does and
// merges every host's variables in Ansible's order of precedence, lowest first:
//
//	all's vars in the inventory (omsbook: the top-level vars)
//	the vars of the host's groups in the inventory, parents before children; groups of one
//	  depth by ansible_group_priority, then by name (omsbook: its region, then its groups:
//	  entries as written)
//	group_vars/all beside each inventory, then beside the playbook
//	group_vars/GROUP for those groups, in the same order, beside each inventory, then beside
//	  the playbook
//	the host's own vars in the inventory
//	host_vars/HOST beside each inventory, then beside the playbook
//
// A later source replaces a variable of the same name whole (Ansible's hash_behaviour
// replace). For a name, the first of NAME (a file, or a directory whose files are merged in
// lexical order, subdirectories included), NAME.yml, NAME.yaml and NAME.json that exists is
// read; hidden files and files ending in ~ are skipped, and so are files with other
// extensions. "Beside the inventory" is the directory of an inventory file, or the directory
// given with -i.

// varExts are the extensions of variable files, after the name without one.
var varExts = []string{"", ".yml", ".yaml", ".json"}

// varFiles caches the variable files read, by directory, kind and name.
type varFiles struct {
	cache map[string]*varSet
}

func newVarFiles() *varFiles { return &varFiles{cache: map[string]*varSet{}} }

// get returns the variables of group_vars/NAME or host_vars/NAME (sub) in dir.
func (f *varFiles) get(dir, sub, name string) (*varSet, error) {
	key := dir + "\x00" + sub + "\x00" + name
	if s, ok := f.cache[key]; ok {
		return s, nil
	}
	s := &varSet{vars: map[string]any{}, pos: map[string]yamlsrc.Pos{}}
	if !strings.HasPrefix(name, string(filepath.Separator)) {
		files, err := findVarFiles(filepath.Join(dir, sub), name)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			one, err := readVarsFile(file)
			if err != nil {
				return nil, err
			}
			mergeSet(s, one)
		}
	}
	f.cache[key] = s
	return s, nil
}

// findVarFiles lists the files that hold the variables of name in base (a group_vars or
// host_vars directory), in the order they merge.
func findVarFiles(base, name string) ([]string, error) {
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return nil, nil
	}
	for _, ext := range varExts {
		p := filepath.Join(base, name+ext)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			return varDirFiles(p)
		}
		return []string{p}, nil
	}
	return nil, nil
}

// varDirFiles lists the variable files of a directory, sorted, subdirectories included.
func varDirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: dir}, Msg: "cannot read variables: " + errText(err), Err: err}
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		ext := filepath.Ext(n)
		switch {
		case st.IsDir() && ext == "":
			more, err := varDirFiles(p)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case st.Mode().IsRegular() && contains(varExts, ext):
			out = append(out, p)
		}
	}
	return out, nil
}

// readVarsFile reads one variable file: a YAML or JSON mapping, or nothing.
func readVarsFile(path string) (*varSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path}, Msg: "cannot read variables: " + errText(err), Err: err}
	}
	if err := yamlsrc.CheckSize(path, data); err != nil {
		return nil, err
	}
	s := &varSet{vars: map[string]any{}, pos: map[string]yamlsrc.Pos{}}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return s, nil
	case bytes.HasPrefix(trimmed, []byte("$ANSIBLE_VAULT;")):
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path, Line: 1, Col: 1}, Msg: "this file is encrypted with ansible-vault, which omsbook cannot decrypt", Fix: `give its secrets another way, e.g. '{{ env "NAME" }}', and list them under secrets:`}
	case json.Valid(trimmed):
		v, err := decodeJSON(trimmed)
		if err != nil {
			return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path}, Msg: "bad JSON: " + err.Error(), Err: err}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("variables must be a mapping (key: value), not %s", describe(v))}
		}
		for k, x := range m {
			s.vars[k] = x
			s.pos[k] = yamlsrc.Pos{File: path}
		}
		return s, nil
	}
	root, err := yamlsrc.ParseYAML(path, data)
	if err != nil || root == nil {
		return s, err
	}
	return newYAMLReader(path, data).mapping(root, "variables")
}

// decodeJSON decodes JSON with whole numbers as int and others as float64, as Python does.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if !strings.ContainsAny(x.String(), ".eE") {
				if i, err := x.Int64(); err == nil {
					return int(i)
				}
			}
			f, _ := x.Float64()
			return f
		case []any:
			for i := range x {
				x[i] = conv(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = conv(x[k])
			}
		}
		return v
	}
	return conv(v), nil
}

func mergeSet(dst, src *varSet) {
	for k, v := range src.vars {
		dst.vars[k] = v
		dst.pos[k] = src.pos[k]
	}
}

// hostVars merges h's variables in Ansible's order of precedence (see the top of this file).
func (m *model) hostVars(h *hostEntry) (*varSet, error) {
	out := &varSet{vars: map[string]any{}, pos: map[string]yamlsrc.Pos{}}
	add := func(vars map[string]any, pos map[string]yamlsrc.Pos) {
		mergeSet(out, &varSet{vars: vars, pos: pos})
	}
	prec := m.precedence(h)
	add(m.all.vars, m.all.varPos)
	for _, g := range prec {
		add(g.vars, g.varPos)
	}
	dirs := append(append([]string{}, m.varDirs...), m.playDirs...)
	for _, d := range dirs {
		s, err := m.files.get(d, "group_vars", "all")
		if err != nil {
			return nil, err
		}
		mergeSet(out, s)
	}
	for _, d := range dirs {
		for _, g := range prec {
			s, err := m.files.get(d, "group_vars", g.name)
			if err != nil {
				return nil, err
			}
			mergeSet(out, s)
		}
	}
	add(h.vars, h.varPos)
	for _, d := range dirs {
		s, err := m.files.get(d, "host_vars", h.name)
		if err != nil {
			return nil, err
		}
		mergeSet(out, s)
	}
	return out, nil
}

// controllerVars are the variables of the implicit localhost: all's vars, group_vars/all and
// host_vars/localhost.
func (m *model) controllerVars() (*varSet, error) {
	return m.hostVars(&hostEntry{name: ControllerName, prec: []*group{}})
}

// AddPlaybookVars adds the group_vars/ and host_vars/ of dir, the playbook's directory, to the
// inventory, as Ansible does for the directory of the playbook it runs. Their variables win
// over those beside the inventory at the same level (group_vars/all over group_vars/all,
// group_vars/web over group_vars/web, host_vars over host_vars); see the top of groupvars.go
// for the whole order. The runner calls it once, after Load and before it reads any host's
// variables; every host's Vars (and, for an Ansible inventory, its connection settings and
// region, which may come from these variables) are computed again. A dir without group_vars/
// and host_vars/ changes nothing. Errors are *yamlsrc.Error values naming the file.
func (inv *Inventory) AddPlaybookVars(dir string) error {
	if inv.model == nil {
		return errors.New("inventory: AddPlaybookVars needs an inventory from Load or Parse")
	}
	if dir == "" {
		dir = "."
	}
	for _, sub := range []string{"group_vars", "host_vars"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &yamlsrc.Error{Pos: yamlsrc.Pos{File: filepath.Join(dir, sub)}, Msg: "cannot read variables: " + errText(err), Err: err}
		}
	}
	inv.model.playDirs = append(inv.model.playDirs, dir)
	return inv.refresh()
}
