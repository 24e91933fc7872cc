package inventory

import (
	"fmt"
	"path"
	"strings"

	"github.com/omsbook/omsbook/yamlsrc"
)

// Host returns the host of that name: a node, or the controller for "localhost" (the
// inventory's own node of that name if it has one). It returns nil for an unknown name.
func (inv *Inventory) Host(name string) *Host {
	if h := inv.byName[name]; h != nil {
		return h
	}
	if name == ControllerName {
		return inv.Localhost()
	}
	return nil
}

// Localhost returns the controller host "localhost": the inventory's node of that name, or an
// implicit host with a local connection and the top-level variables.
func (inv *Inventory) Localhost() *Host {
	if h := inv.byName[ControllerName]; h != nil {
		return h
	}
	if inv.local == nil {
		inv.local = controllerHost(&raw{vars: inv.Vars})
	}
	return inv.local
}

// RegionNodes lists the node names of a region in the order written (nil for an unknown
// region).
func (inv *Inventory) RegionNodes(region string) []string {
	return inv.regionNodes[region]
}

// SecretValues are the connection secrets the inventory holds (ssh_password and
// become_password values, as written: a template among them must be rendered and its result
// masked too). The variables named under secrets: are in Secrets.
func (inv *Inventory) SecretValues() []string {
	var out []string
	add := func(v string) {
		if v != "" && !contains(out, v) {
			out = append(out, v)
		}
	}
	for _, h := range inv.Hosts {
		add(h.Conn.SSHPassword)
		add(h.BecomePassword)
	}
	if l := inv.Localhost(); l != nil {
		add(l.BecomePassword)
	}
	return out
}

// PathValue looks up a dotted path ("metadb.password") in vars, through nested maps.
func PathValue(vars map[string]any, dotted string) (any, bool) {
	var cur any = vars
	for _, k := range strings.Split(dotted, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Match returns the hosts a pattern names, in inventory order (the implicit localhost last),
// each once. A pattern is terms joined by ':' or ',': a node name, a group (all, a region,
// localhost, a groups: entry) or a glob over node and group names (oms-hz-*). A term written
// &x keeps only hosts also in x; !x removes the hosts of x. A term that names nothing, or a
// pattern that leaves no host, is an error that lists the groups.
func (inv *Inventory) Match(pattern string) ([]*Host, error) {
	terms := splitPattern(pattern)
	if len(terms) == 0 {
		return nil, fmt.Errorf("host pattern is empty: write a node, a group or a glob (groups: %s)", strings.Join(inv.GroupOrder, ", "))
	}
	var (
		union      = map[string]bool{}
		haveUnion  bool
		intersects []map[string]bool
		excludes   = map[string]bool{}
	)
	for _, t := range terms {
		op := byte(0)
		if t[0] == '&' || t[0] == '!' {
			op, t = t[0], strings.TrimSpace(t[1:])
		}
		names, err := inv.resolveTerm(pattern, t)
		if err != nil {
			return nil, err
		}
		switch op {
		case '&':
			set := map[string]bool{}
			for _, n := range names {
				set[n] = true
			}
			intersects = append(intersects, set)
		case '!':
			for _, n := range names {
				excludes[n] = true
			}
		default:
			haveUnion = true
			for _, n := range names {
				union[n] = true
			}
		}
	}
	if !haveUnion {
		// Only &x and !x: they narrow down every node.
		for _, n := range inv.Groups["all"] {
			union[n] = true
		}
	}
	var out []*Host
	keep := func(h *Host) {
		if !union[h.Name] || excludes[h.Name] {
			return
		}
		for _, set := range intersects {
			if !set[h.Name] {
				return
			}
		}
		out = append(out, h)
	}
	for _, h := range inv.Hosts {
		keep(h)
	}
	if inv.byName[ControllerName] == nil {
		keep(inv.Localhost())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("host pattern %q matches no host (groups: %s)", pattern, strings.Join(inv.GroupOrder, ", "))
	}
	return out, nil
}

func splitPattern(p string) []string {
	fields := strings.FieldsFunc(p, func(r rune) bool { return r == ':' || r == ',' })
	out := fields[:0]
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" && f != "&" && f != "!" {
			out = append(out, f)
		}
	}
	return out
}

// resolveTerm gives the host names one term stands for.
func (inv *Inventory) resolveTerm(pattern, term string) ([]string, error) {
	if term == "*" {
		term = "all"
	}
	if members, ok := inv.Groups[term]; ok {
		return members, nil
	}
	if inv.byName[term] != nil {
		return []string{term}, nil
	}
	if strings.ContainsAny(term, "*?[") {
		if _, err := path.Match(term, ""); err != nil {
			return nil, fmt.Errorf("host pattern %q: bad glob %q: %w", pattern, term, err)
		}
		var names []string
		for _, h := range inv.Hosts {
			if ok, _ := path.Match(term, h.Name); ok {
				names = appendNew(names, h.Name)
			}
		}
		for _, g := range inv.GroupOrder {
			if ok, _ := path.Match(term, g); ok && g != "all" {
				for _, n := range inv.Groups[g] {
					names = appendNew(names, n)
				}
			}
		}
		return names, nil
	}
	candidates := append(append([]string{}, inv.GroupOrder...), inv.Groups["all"]...)
	msg := fmt.Sprintf("host pattern %q: %q is no node or group of the inventory (groups: %s)", pattern, term, strings.Join(inv.GroupOrder, ", "))
	if s := yamlsrc.Suggest(term, candidates); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return nil, fmt.Errorf("%s", msg)
}
