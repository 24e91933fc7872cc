package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file reads what -i names: inventory files of three formats, and directories of them.
//
// A directory is read as Ansible reads one: every file in it, in name order, subdirectories
// too, except hidden ones, group_vars/, host_vars/, vars_plugins/ and files with the
// extensions Ansible ignores there (.ini, .cfg, .retry, .orig, .md, .txt, .rst, .bak, .swp,
// .pyc, .pyo, .rpm, ~).
//
// A file's format is found from what it holds:
//   - the omsbook format: a YAML mapping with omsbook's keys (regions:, vars:, user:, ...);
//   - an Ansible YAML inventory: a YAML mapping of group names, each with hosts:, children:
//     or vars: (or nothing);
//   - an Ansible INI inventory: a file ending in .ini, or text that is no YAML mapping
//     ([group] sections, host lines).
//
// The sources of one load must be of one kind: omsbook files merge by omsbook's rules (a
// later file overrides), Ansible ones by Ansible's (they add up).

// format is the kind of one inventory file.
type format int

const (
	formatEmpty format = iota // nothing in it: fits either kind
	formatOmsbook
	formatAnsibleYAML
	formatINI
)

func (f format) String() string {
	return [...]string{"an empty inventory", "an omsbook inventory", "an Ansible YAML inventory", "an Ansible INI inventory"}[f]
}

// source is one inventory file to read.
type source struct {
	path   string
	data   []byte
	format format
	root   *yaml.Node // the YAML root of YAML formats
}

// ignoredInDir are the names Ansible skips when it reads a directory of inventories.
var ignoredInDir = regexp.MustCompile(`^\.|^host_vars$|^group_vars$|^vars_plugins$|(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$`)

// readSources reads the files -i names, and the files of the directories it names.
func readSources(paths []string) ([]*source, []string, error) {
	var (
		out     []*source
		varDirs []string
	)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: p}, Msg: "cannot read inventory: " + errText(err), Fix: "check the path given with -i", Err: err}
		}
		if !st.IsDir() {
			s, err := readSource(p)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s)
			varDirs = append(varDirs, filepath.Dir(p))
			continue
		}
		files, err := dirSources(p)
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			return nil, nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: p}, Msg: "cannot read inventory: is a directory", Fix: "check the path given with -i"}
		}
		for _, f := range files {
			s, err := readSource(f)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s)
		}
		varDirs = append(varDirs, p)
	}
	return out, varDirs, nil
}

// dirSources lists the inventory files of a directory as Ansible finds them.
func dirSources(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: dir}, Msg: "cannot read inventory: " + errText(err), Fix: "check the path given with -i", Err: err}
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if ignoredInDir.MatchString(n) {
			continue
		}
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: p}, Msg: "cannot read inventory: " + errText(err), Fix: "check the path given with -i", Err: err}
		}
		if st.IsDir() {
			more, err := dirSources(p)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func readSource(path string) (*source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path}, Msg: "cannot read inventory: " + errText(err), Fix: "check the path given with -i", Err: err}
	}
	if st, err := os.Stat(path); err == nil && st.Mode()&0o111 != 0 && bytes.HasPrefix(data, []byte("#!")) {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path, Line: 1, Col: 1}, Msg: "this is an inventory script, which omsbook does not run", Fix: "run it and save what it prints: ansible-inventory -i THIS --list --yaml > hosts.yml"}
	}
	return detect(path, data)
}

// omsbookKeys are the top-level keys that mark the omsbook format.
var omsbookKeys = topKeys

// yamlLike matches a line that only YAML would write: a key and a colon, a list item, a
// document start.
var yamlLike = regexp.MustCompile(`^(?:-\s|-$|---|[^\s=\[#;]+:(?:\s|$))`)

// detect finds the format of one inventory file and parses it when it is YAML.
func detect(path string, data []byte) (*source, error) {
	s := &source{path: path, data: data}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("$ANSIBLE_VAULT;")) {
		return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: path, Line: 1, Col: 1}, Msg: "this inventory is encrypted with ansible-vault, which omsbook cannot decrypt", Fix: "decrypt it (ansible-vault decrypt) and give its secrets another way, e.g. '{{ env \"NAME\" }}'"}
	}
	if strings.EqualFold(filepath.Ext(path), ".ini") {
		s.format = formatINI
		return s, nil
	}
	if err := yamlsrc.CheckSize(path, data); err != nil {
		return nil, err
	}
	root, err := yamlsrc.ParseYAML(path, data)
	if err != nil {
		if errors.Is(err, yamlsrc.ErrLimit) || firstLineLooksYAML(data) {
			return nil, err
		}
		s.format = formatINI
		return s, nil
	}
	switch {
	case root == nil:
		return s, nil // only comments: empty in either kind
	case root.Kind == yaml.ScalarNode:
		s.format = formatINI // bare host names, host lines
		return s, nil
	case root.Kind != yaml.MappingNode:
		s.format, s.root = formatOmsbook, root // the omsbook reader says what is wrong
		return s, nil
	}
	// An omsbook key (not holding a group) makes it omsbook; a group-shaped value (hosts:,
	// children:, vars: or nothing) Ansible. Neither: the omsbook reader names the unknown key.
	s.root, s.format = root, formatOmsbook
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlsrc.Resolve(root.Content[i+1])
		if k.Value == "plugin" {
			s.format = formatAnsibleYAML // an inventory plugin's configuration: its reader says so
			return s, nil
		}
		if contains(omsbookKeys, k.Value) && !looksLikeGroup(v) {
			s.format = formatOmsbook
			return s, nil
		}
		if isNull(v) || looksLikeGroup(v) || v.Kind == yaml.MappingNode && onlyGroupKeys(v) {
			s.format = formatAnsibleYAML
		}
	}
	return s, nil
}

// onlyGroupKeys reports whether every key of mapping n is hosts, children or vars.
func onlyGroupKeys(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !contains(groupKeys, n.Content[i].Value) {
			return false
		}
	}
	return true
}

// looksLikeGroup reports whether n is the definition of an Ansible group: a mapping with
// hosts: or children:.
func looksLikeGroup(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k == "hosts" || k == "children" {
			return true
		}
	}
	return false
}

// firstLineLooksYAML reports whether the first line that says something is one only YAML
// would write (so a YAML error is the error to show).
func firstLineLooksYAML(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		return yamlLike.MatchString(line)
	}
	return false
}

// loadSources reads the sources of one load: omsbook files by omsbook's rules, Ansible ones
// into one group graph. files are the paths as given; varDirs the directories whose
// group_vars/ and host_vars/ apply.
func loadSources(files []string, srcs []*source, varDirs []string) (*Inventory, error) {
	var first *source
	for _, s := range srcs {
		if s.format == formatEmpty {
			continue
		}
		if first == nil {
			first = s
			continue
		}
		if (first.format == formatOmsbook) != (s.format == formatOmsbook) {
			return nil, &yamlsrc.Error{Pos: yamlsrc.Pos{File: s.path}, Msg: fmt.Sprintf("this is %s, and %s is %s: inventories of the two kinds cannot be merged", s.format, first.path, first.format), Fix: "give inventories of one kind, or write the hosts of one in the format of the other"}
		}
	}
	if first != nil && first.format != formatOmsbook {
		m := newModel(true)
		m.varDirs = varDirs
		for _, s := range srcs {
			var err error
			switch s.format {
			case formatINI:
				err = m.parseINI(s.path, s.data)
			case formatAnsibleYAML:
				err = m.parseAnsibleYAML(s.path, s.data, s.root)
			}
			if err != nil {
				return nil, err
			}
		}
		m.reconcile()
		return m.ansibleInventory(files)
	}
	r := &raw{vars: map[string]any{}}
	for _, s := range srcs {
		if err := r.decodeFile(s.path, s.data); err != nil {
			return nil, err
		}
	}
	inv, err := r.build(files)
	if err != nil {
		return nil, err
	}
	inv.model = omsbookModel(r, inv)
	inv.model.varDirs = varDirs
	return inv, inv.refresh()
}

// omsbookModel is the group graph of an omsbook inventory: its regions and groups: entries
// are groups under all (a region listed in a group is a child of it). A node's group vars
// merge as written: its region's, then those of the groups it is in.
func omsbookModel(r *raw, inv *Inventory) *model {
	m := newModel(false)
	m.all.vars = r.vars
	for _, reg := range r.regions {
		g := m.group(reg.name, reg.pos)
		g.vars = reg.vars
		_ = m.addChild(m.all, g, reg.pos)
		for _, n := range reg.nodes {
			h := m.host(n.name, 0, n.pos)
			h.vars = n.vars
			h.prec = []*group{g}
			m.addHost(g, h)
		}
	}
	for _, rg := range r.groups {
		g := m.group(rg.name, rg.pos)
		if rg.vars != nil {
			g.vars = rg.vars
		}
		_ = m.addChild(m.all, g, rg.pos)
		for _, name := range rg.members {
			if sub := m.groups[name]; sub != nil && r.region(name) != nil {
				_ = m.addChild(g, sub, rg.pos)
			} else if h := m.hosts[name]; h != nil {
				m.addHost(g, h)
			}
		}
	}
	for _, rg := range r.groups {
		g := m.groups[rg.name]
		for _, name := range inv.Groups[rg.name] {
			if h := m.hosts[name]; h != nil && !containsGroup(h.prec, g) {
				h.prec = append(h.prec, g)
			}
		}
	}
	return m
}

func containsGroup(list []*group, g *group) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}
