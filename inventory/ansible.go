package inventory

import (
	"fmt"
	"sort"

	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/yamlsrc"
)

// This file turns the group graph of Ansible inventories into an Inventory: hosts in the
// order first written, every group with all its hosts (children's included), connection
// settings from Ansible's connection variables (connvars.go), and regions. A group is a
// region when it is a child of a group named regions, or when its hosts carry a region:
// variable naming it; a host's region variable that names no group still makes a region,
// which host patterns can then name like a group.

// ansibleInventory builds the Inventory of m, read from files.
func (m *model) ansibleInventory(files []string) (*Inventory, error) {
	inv := &Inventory{Files: files, model: m, byName: map[string]*Host{}}
	for _, e := range m.hostOrder {
		h := &Host{Name: e.name, Pos: e.pos, NodeVars: e.vars}
		inv.Hosts = append(inv.Hosts, h)
		inv.byName[h.Name] = h
	}
	return inv, inv.refresh()
}

// refresh computes what depends on variables again: every host's Vars and, for an Ansible
// inventory, its connection, become settings and region, and the groups and regions.
func (inv *Inventory) refresh() error {
	m := inv.model
	if !m.ansible {
		for _, h := range inv.Hosts {
			s, err := m.hostVars(m.hosts[h.Name])
			if err != nil {
				return err
			}
			h.Vars = s.vars
		}
		if inv.local != nil {
			s, err := m.controllerVars()
			if err != nil {
				return err
			}
			inv.local.Vars = s.vars
		}
		return nil
	}

	index := make(map[string]int, len(inv.Hosts))
	for i, h := range inv.Hosts {
		index[h.Name] = i
	}
	inv.Groups = map[string][]string{}
	inv.GroupOrder = nil
	for _, g := range m.order {
		names := []string{}
		for _, h := range g.members() {
			names = append(names, h.name)
		}
		sort.SliceStable(names, func(i, j int) bool { return index[names[i]] < index[names[j]] })
		inv.Groups[g.name] = names
		inv.GroupOrder = append(inv.GroupOrder, g.name)
	}

	inv.Regions, inv.regionNodes, inv.RegionVars = nil, map[string][]string{}, map[string]map[string]any{}
	if rg := m.groups["regions"]; rg != nil {
		for _, c := range rg.children {
			inv.Regions = append(inv.Regions, c.name)
			inv.regionNodes[c.name] = []string{}
		}
	}
	secrets := map[string]bool{}
	for _, h := range inv.Hosts {
		e := m.hosts[h.Name]
		s, err := m.hostVars(e)
		if err != nil {
			return err
		}
		h.Vars = s.vars
		if err := ansibleConn(h, s.vars, s.pos); err != nil {
			return err
		}
		if h.Region, err = m.regionOf(e, s); err != nil {
			return err
		}
		if h.Region != "" {
			if _, ok := inv.regionNodes[h.Region]; !ok {
				inv.Regions = append(inv.Regions, h.Region)
			}
			inv.regionNodes[h.Region] = append(inv.regionNodes[h.Region], h.Name)
		}
		for _, name := range ansibleSecretVars {
			if _, ok := s.vars[name]; ok {
				secrets[name] = true
			}
		}
	}
	for _, r := range inv.Regions {
		inv.RegionVars[r] = map[string]any{}
		if g := m.groups[r]; g != nil {
			inv.RegionVars[r] = g.vars
			continue
		}
		// A region named only by hosts' region variables is a group of those hosts.
		inv.Groups[r] = inv.regionNodes[r]
		inv.GroupOrder = append(inv.GroupOrder, r)
	}
	if _, ok := inv.Groups[ControllerName]; !ok {
		inv.Groups[ControllerName] = []string{ControllerName}
		inv.GroupOrder = append(inv.GroupOrder, ControllerName)
	}
	inv.Secrets = nil
	for _, name := range ansibleSecretVars {
		if secrets[name] {
			inv.Secrets = append(inv.Secrets, name)
		}
	}

	cs, err := m.controllerVars()
	if err != nil {
		return err
	}
	inv.Vars = cs.vars
	local := &Host{Name: ControllerName, Vars: cs.vars, Implicit: true}
	if err := ansibleConn(local, cs.vars, cs.pos); err != nil {
		return err
	}
	local.Conn = transport.Spec{Name: ControllerName, Connection: "local", Address: "127.0.0.1"}
	inv.local = local
	return nil
}

// regionOf is h's region: the group under regions it is in, or its region variable.
func (m *model) regionOf(h *hostEntry, s *varSet) (string, error) {
	fromGroup := ""
	if rg := m.groups["regions"]; rg != nil {
		for _, g := range h.ancestors() {
			for _, c := range rg.children {
				if c != g || fromGroup == g.name {
					continue
				}
				if fromGroup != "" {
					return "", &yamlsrc.Error{Pos: h.pos, Msg: fmt.Sprintf("host %s is in two regions, %s and %s (both children of group regions)", h.name, fromGroup, g.name), Fix: "a host belongs to one region: take it out of one of the two groups"}
				}
				fromGroup = g.name
			}
		}
	}
	v, ok := s.vars["region"]
	if !ok || v == nil {
		return fromGroup, nil
	}
	var name string
	switch x := v.(type) {
	case string:
		name = x
	case int, float64:
		name = fmt.Sprint(x)
	default:
		return "", &yamlsrc.Error{Pos: s.pos["region"], Msg: fmt.Sprintf("host %s: region is %s; it must be the name of a region", h.name, describe(v))}
	}
	if err := checkName(name, s.pos["region"], "region"); err != nil {
		return "", err
	}
	if fromGroup != "" && name != fromGroup {
		return "", &yamlsrc.Error{Pos: s.pos["region"], Msg: fmt.Sprintf("host %s: its region variable says %s, but it is in region %s (a child of group regions)", h.name, name, fromGroup), Fix: "make the two agree, or drop one"}
	}
	return name, nil
}
