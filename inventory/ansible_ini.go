package inventory

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file reads Ansible's INI inventories as Ansible's ini plugin does: lines before the
// first section are ungrouped hosts; [group] lists hosts with inline vars, [group:vars] one
// key=value a line, [group:children] group names. A group named under [x:children] or given
// [x:vars] must be declared somewhere ([x] or [x:children]), before or after. Values are
// typed as Python literals (pyliteral.go), in host lines and [group:vars] lines alike: that is
// what ansible-inventory prints, whatever its documentation says of :vars.

var (
	iniSection   = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`)
	iniGroupName = regexp.MustCompile(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

// iniPending is a group referred to before (or without) its declaration.
type iniPending struct {
	pos     yamlsrc.Pos
	state   string // "vars" or "children"
	parents []string
}

// parseINI adds one INI inventory to m.
func (m *model) parseINI(file string, data []byte) error {
	var (
		pending      = map[string]*iniPending{}
		pendingOrder []string
		groupName    = "ungrouped"
		state        = "hosts"
	)
	at := func(line, col int) yamlsrc.Pos { return yamlsrc.Pos{File: file, Line: line, Col: col} }
	addPending := func(name string, p *iniPending) {
		pending[name] = p
		pendingOrder = append(pendingOrder, name)
	}
	var declare func(name string, pos yamlsrc.Pos) error
	declare = func(name string, pos yamlsrc.Pos) error {
		p := pending[name]
		delete(pending, name)
		for _, parent := range p.parents {
			if err := m.addChild(m.groups[parent], m.group(name, pos), p.pos); err != nil {
				return err
			}
			if pp := pending[parent]; pp != nil && pp.state == "children" {
				if err := declare(parent, pos); err != nil {
					return err
				}
			}
		}
		return nil
	}

	for i, text := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(text)
		col := strings.Index(text, line) + 1
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if sec := iniSection.FindStringSubmatch(line); sec != nil {
			groupName, state = sec[1], sec[2]
			if state == "" {
				state = "hosts"
			}
			pos := at(lineNo, col)
			if state != "hosts" && state != "vars" && state != "children" {
				return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("section [%s:%s] has an unknown type %q", groupName, state, state), Fix: fmt.Sprintf("write [%s] for its hosts, [%s:vars] for its variables or [%s:children] for its child groups", groupName, groupName, groupName)}
			}
			if err := checkName(groupName, pos, "group"); err != nil {
				return err
			}
			if m.groups[groupName] == nil {
				if state == "vars" && pending[groupName] == nil {
					addPending(groupName, &iniPending{pos: pos, state: "vars"})
				}
				m.group(groupName, pos)
			}
			if p := pending[groupName]; p != nil && state != "vars" {
				if p.state == "children" {
					if err := declare(groupName, pos); err != nil {
						return err
					}
				} else {
					delete(pending, groupName)
				}
			}
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			return &yamlsrc.Error{Pos: at(lineNo, col), Msg: fmt.Sprintf("invalid section %s", line), Fix: "a section is [group], [group:vars] or [group:children], with no spaces or ':' in the group name"}
		}
		g := m.groups[groupName]
		switch state {
		case "hosts":
			if err := m.iniHostLine(file, g, text, lineNo); err != nil {
				return err
			}
		case "vars":
			eq := strings.IndexByte(line, '=')
			if eq < 0 {
				return &yamlsrc.Error{Pos: at(lineNo, col), Msg: fmt.Sprintf("[%s:vars] holds key=value lines, not %q", groupName, line), Fix: "write one variable a line, as name=value"}
			}
			key, value := strings.TrimSpace(line[:eq]), strings.TrimSpace(line[eq+1:])
			if key == "" {
				return &yamlsrc.Error{Pos: at(lineNo, col), Msg: fmt.Sprintf("[%s:vars]: a variable has no name before '='", groupName), Fix: "write one variable a line, as name=value"}
			}
			if err := g.setVar(key, pyValue(value), at(lineNo, col)); err != nil {
				return err
			}
		case "children":
			cm := iniGroupName.FindStringSubmatch(line)
			if cm == nil {
				return &yamlsrc.Error{Pos: at(lineNo, col), Msg: fmt.Sprintf("[%s:children] lists group names, not %q", groupName, line), Fix: "write one group name a line; put hosts under [" + groupName + "]"}
			}
			child := cm[1]
			if err := checkName(child, at(lineNo, col), "group"); err != nil {
				return err
			}
			if c := m.groups[child]; c != nil {
				if err := m.addChild(g, c, at(lineNo, col)); err != nil {
					return err
				}
			} else if p := pending[child]; p != nil {
				p.parents = append(p.parents, groupName)
			} else {
				addPending(child, &iniPending{pos: at(lineNo, col), state: "children", parents: []string{groupName}})
			}
		}
	}
	for _, name := range pendingOrder {
		p := pending[name]
		if p == nil {
			continue
		}
		known := make([]string, 0, len(m.order))
		for _, g := range m.order {
			if pending[g.name] == nil {
				known = append(known, g.name)
			}
		}
		suggest := ""
		if s := yamlsrc.Suggest(name, known); len(s) > 0 {
			suggest = fmt.Sprintf("did you mean %q? ", s[0])
		}
		if p.state == "vars" {
			return &yamlsrc.Error{Pos: p.pos, Msg: fmt.Sprintf("section [%s:vars] is for group %s, which is not defined", name, name), Fix: suggest + fmt.Sprintf("declare the group with a [%s] section listing its hosts, or [%s:children]", name, name)}
		}
		return &yamlsrc.Error{Pos: p.pos, Msg: fmt.Sprintf("section [%s:children] lists group %s, which is not defined", p.parents[len(p.parents)-1], name), Fix: suggest + fmt.Sprintf("declare the group with a [%s] section listing its hosts, or [%s:children]", name, name)}
	}
	return nil
}

// iniHostLine reads one host line (a host pattern, then key=value vars) into group g.
func (m *model) iniHostLine(file string, g *group, text string, lineNo int) error {
	at := func(off int) yamlsrc.Pos {
		return yamlsrc.Pos{File: file, Line: lineNo, Col: len([]rune(text[:off])) + 1}
	}
	words, err := shlexSplit(text)
	if err != nil {
		return &yamlsrc.Error{Pos: at(len(text) - len(strings.TrimLeft(text, " \t"))), Msg: "cannot read the host line: " + err.Error(), Fix: "close the quote, or quote the value that holds it", Err: err}
	}
	if len(words) == 0 {
		return nil
	}
	pattern := words[0]
	pos := at(pattern.off)
	if strings.TrimSpace(pattern.text) == "" {
		return &yamlsrc.Error{Pos: pos, Msg: "a host line starts with an empty host name"}
	}
	if strings.TrimSpace(pattern.text) == "---" {
		return &yamlsrc.Error{Pos: pos, Msg: "host \"---\" is the start of a YAML document", Fix: "an Ansible YAML inventory is a mapping of groups (all:, hosts:, children:); check its indentation"}
	}
	names, port, err := expandHostPattern(pattern.text)
	if err != nil {
		return &yamlsrc.Error{Pos: pos, Msg: err.Error(), Fix: "write a range as [01:20], [a:f] or [1:10:2]", Err: err}
	}
	if err := checkHostFileNames(names, pos); err != nil {
		return err
	}
	if strings.HasSuffix(strings.TrimSpace(pattern.text), ":") && port == 0 {
		return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("host %q ends in ':'", pattern.text), Fix: "after ':' comes the port, e.g. web1:2222"}
	}
	type kv struct {
		key string
		val any
		pos yamlsrc.Pos
	}
	var vars []kv
	for _, w := range words[1:] {
		eq := strings.IndexByte(w.text, '=')
		if eq < 0 {
			return &yamlsrc.Error{Pos: at(w.off), Msg: fmt.Sprintf("expected key=value after the host name, got %q", w.text), Fix: "write host variables as name=value, and quote a value that holds spaces: name=\"a b\""}
		}
		vars = append(vars, kv{w.text[:eq], pyValue(w.text[eq+1:]), at(w.off)})
	}
	for _, name := range names {
		h := m.host(name, port, pos)
		m.addHost(g, h)
		for _, v := range vars {
			h.setVar(v.key, v.val, v.pos)
		}
	}
	return nil
}
