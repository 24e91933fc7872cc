package inventory

import (
	"fmt"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file holds the group graph an inventory is read into, as Ansible keeps it: groups with
// their own hosts, child groups and vars; hosts with their own vars; the groups all and
// ungrouped. Both formats end up in it: an Ansible inventory as written, an omsbook
// inventory with its regions and groups: entries as groups. Variable precedence
// (groupvars.go) and --list (list.go) work on it.

// group is one group of the graph.
type group struct {
	name     string
	pos      yamlsrc.Pos
	hosts    []*hostEntry // its own hosts, in the order added
	children []*group
	parents  []*group
	vars     map[string]any
	varPos   map[string]yamlsrc.Pos
	priority int // ansible_group_priority: among groups of one depth, higher merges later
}

// hostEntry is one host of the graph.
type hostEntry struct {
	name   string
	pos    yamlsrc.Pos
	vars   map[string]any
	varPos map[string]yamlsrc.Pos
	groups []*group // the groups that list it, in order
	// prec, when set, is the order its groups' vars merge in (omsbook inventories); without
	// it the groups merge as Ansible merges them (see precedence).
	prec []*group
}

// model is the group graph of the inventories loaded.
type model struct {
	ansible   bool // read from Ansible inventories (else from omsbook ones)
	groups    map[string]*group
	order     []*group // every group in the order created: all, ungrouped, then as read
	hosts     map[string]*hostEntry
	hostOrder []*hostEntry
	all       *group
	ungrouped *group

	// varDirs are the directories whose group_vars/ and host_vars/ apply beside the
	// inventories, in the order given; playDirs those beside the yamlsrc.
	varDirs  []string
	playDirs []string
	files    *varFiles
}

func newModel(ansible bool) *model {
	m := &model{ansible: ansible, groups: map[string]*group{}, hosts: map[string]*hostEntry{}, files: newVarFiles()}
	m.all = m.group("all", yamlsrc.Pos{})
	m.ungrouped = m.group("ungrouped", yamlsrc.Pos{})
	m.all.children = []*group{m.ungrouped}
	m.ungrouped.parents = []*group{m.all}
	return m
}

// group returns the group of that name, created (at pos) when it is new.
func (m *model) group(name string, pos yamlsrc.Pos) *group {
	if g := m.groups[name]; g != nil {
		return g
	}
	g := &group{name: name, pos: pos, vars: map[string]any{}, varPos: map[string]yamlsrc.Pos{}, priority: 1}
	m.groups[name] = g
	m.order = append(m.order, g)
	return g
}

// host returns the host of that name, created (at pos) when it is new. A port is set as
// ansible_port only when the host is created, as Ansible does.
func (m *model) host(name string, port int, pos yamlsrc.Pos) *hostEntry {
	if h := m.hosts[name]; h != nil {
		return h
	}
	h := &hostEntry{name: name, pos: pos, vars: map[string]any{}, varPos: map[string]yamlsrc.Pos{}}
	if port != 0 {
		h.vars["ansible_port"] = port
		h.varPos["ansible_port"] = pos
	}
	m.hosts[name] = h
	m.hostOrder = append(m.hostOrder, h)
	return h
}

// addHost puts h in g (once).
func (m *model) addHost(g *group, h *hostEntry) {
	for _, x := range g.hosts {
		if x == h {
			return
		}
	}
	g.hosts = append(g.hosts, h)
	h.groups = append(h.groups, g)
}

// addChild makes child a child group of parent (once). A loop is an error.
func (m *model) addChild(parent, child *group, pos yamlsrc.Pos) error {
	if parent == child || child.isAncestorOf(parent) {
		return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("group %s cannot be a child of %s: %s already contains %s, so the groups would contain each other", child.name, parent.name, child.name, parent.name), Fix: "remove one of the two children entries"}
	}
	for _, c := range parent.children {
		if c == child {
			return nil
		}
	}
	parent.children = append(parent.children, child)
	child.parents = append(child.parents, parent)
	return nil
}

// isAncestorOf reports whether g contains o through children, at any depth.
func (g *group) isAncestorOf(o *group) bool {
	for _, p := range o.parents {
		if p == g || g.isAncestorOf(p) {
			return true
		}
	}
	return false
}

// setVar sets a group variable; ansible_group_priority sets the group's priority instead.
func (g *group) setVar(key string, v any, pos yamlsrc.Pos) error {
	if key == "ansible_group_priority" {
		p, ok := wholeNumber(v)
		if !ok {
			return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("ansible_group_priority of group %s is %s; it must be a whole number", g.name, describe(v)), Fix: "write e.g. ansible_group_priority=10"}
		}
		g.priority = p
		return nil
	}
	g.vars[key] = v
	g.varPos[key] = pos
	return nil
}

func (h *hostEntry) setVar(key string, v any, pos yamlsrc.Pos) {
	h.vars[key] = v
	h.varPos[key] = pos
}

// reconcile does what Ansible does once every source is read: a group without a parent
// becomes a child of all, and a host in no group but all is put in ungrouped (and taken out
// of ungrouped when it is in another group).
func (m *model) reconcile() {
	for _, g := range m.order {
		if g != m.all && len(g.parents) == 0 {
			m.all.children = append(m.all.children, g)
			g.parents = append(g.parents, m.all)
		}
	}
	for _, h := range m.hostOrder {
		inUngrouped, inOther := false, false
		for _, g := range h.ancestors() {
			switch g {
			case m.ungrouped:
				inUngrouped = true
			case m.all:
			default:
				inOther = true
			}
		}
		switch {
		case inUngrouped && inOther:
			m.ungrouped.removeHost(h)
		case !inUngrouped && !inOther:
			m.addHost(m.ungrouped, h)
		}
	}
}

func (g *group) removeHost(h *hostEntry) {
	for i, x := range g.hosts {
		if x == h {
			g.hosts = append(g.hosts[:i:i], g.hosts[i+1:]...)
			break
		}
	}
	for i, x := range h.groups {
		if x == g {
			h.groups = append(h.groups[:i:i], h.groups[i+1:]...)
			break
		}
	}
}

// ancestors are the groups h is in, directly or through children, each once, in the order
// found.
func (h *hostEntry) ancestors() []*group {
	var out []*group
	seen := map[*group]bool{}
	var walk func(g *group)
	walk = func(g *group) {
		if seen[g] {
			return
		}
		seen[g] = true
		out = append(out, g)
		for _, p := range g.parents {
			walk(p)
		}
	}
	for _, g := range h.groups {
		walk(g)
	}
	return out
}

// depth is the length of the longest path from all down to g, as Ansible counts it.
func (g *group) depth() int {
	d := 0
	for _, p := range g.parents {
		d = max(d, p.depth()+1)
	}
	return d
}

// precedence is the order in which the vars of h's groups (all excluded) merge, lowest
// first: as written for an omsbook inventory, else as Ansible sorts them: by depth (parents
// before children), then ansible_group_priority, then name.
func (m *model) precedence(h *hostEntry) []*group {
	if h.prec != nil {
		return h.prec
	}
	var gs []*group
	for _, g := range h.ancestors() {
		if g != m.all {
			gs = append(gs, g)
		}
	}
	type key struct {
		depth, priority int
		name            string
	}
	keys := make(map[*group]key, len(gs))
	for _, g := range gs {
		keys[g] = key{g.depth(), g.priority, g.name}
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := keys[gs[i]], keys[gs[j]]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		return a.name < b.name
	})
	return gs
}

// members are the hosts of g and of its children at any depth, each once.
func (g *group) members() []*hostEntry {
	var out []*hostEntry
	seenHost := map[*hostEntry]bool{}
	seenGroup := map[*group]bool{}
	var walk func(g *group)
	walk = func(g *group) {
		if seenGroup[g] {
			return
		}
		seenGroup[g] = true
		for _, h := range g.hosts {
			if !seenHost[h] {
				seenHost[h] = true
				out = append(out, h)
			}
		}
		for _, c := range g.children {
			walk(c)
		}
	}
	walk(g)
	return out
}

// wholeNumber reads an int, or a string or float that holds one.
func wholeNumber(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &n); err == nil && fmt.Sprint(n) == strings.TrimPrefix(strings.TrimSpace(x), "+") {
			return n, true
		}
	}
	return 0, false
}

// describe names a value for messages: a string (quoted), a number, a list, a mapping.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("%q", x)
	case bool:
		return fmt.Sprintf("a bool (%v)", x)
	case int, float64:
		return fmt.Sprintf("a number (%v)", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}
