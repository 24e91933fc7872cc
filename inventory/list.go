package inventory

// List is the inventory in the shape `ansible-inventory --list` prints: each group (all
// with its children only) with its own hosts and its child groups, keys left out when
// empty and a group with neither left out (but still named among its parent's children);
// _meta.hostvars with each host's merged variables (hosts without any left out). Values are
// as written, templates not rendered and secrets not masked: the caller masks them. The
// implicit localhost is not listed, as Ansible does not list it. An omsbook inventory is
// listed the same way: its regions and groups: entries are the groups.
func (inv *Inventory) List() map[string]any {
	out := map[string]any{}
	m := inv.model
	if m == nil {
		return out
	}
	seen := map[*group]bool{}
	var add func(g *group)
	add = func(g *group) {
		entry := map[string]any{}
		if g != m.all && len(g.hosts) > 0 {
			hosts := make([]any, len(g.hosts))
			for i, h := range g.hosts {
				hosts[i] = h.name
			}
			entry["hosts"] = hosts
		}
		if len(g.children) > 0 {
			children := make([]any, len(g.children))
			for i, c := range g.children {
				children[i] = c.name
			}
			entry["children"] = children
		}
		if len(entry) > 0 {
			out[g.name] = entry
		}
		for _, c := range g.children {
			if !seen[c] {
				seen[c] = true
				add(c)
			}
		}
	}
	add(m.all)
	hostvars := map[string]any{}
	for _, h := range inv.Hosts {
		if len(h.Vars) > 0 {
			hostvars[h.Name] = h.Vars
		}
	}
	out["_meta"] = map[string]any{"hostvars": hostvars}
	return out
}
