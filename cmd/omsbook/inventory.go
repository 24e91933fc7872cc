package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/tmpl"
)

// cmdInventory prints each host's variables as the inventory resolves them, before any play:
// inventory vars < region vars < node vars, templates rendered, the magic variables a host
// always has, and every secret masked. It touches no host.
func cmdInventory(args []string, std stdio) error {
	f, pos, err := parseFlags("inventory", args, std)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{cmd: "inventory", msg: fmt.Sprintf("unexpected argument %q: inventories are given with -i", pos[0])}
	}
	if len(f.inventories) == 0 {
		return &usageError{cmd: "inventory", msg: "missing -i INVENTORY: say which inventory to show, e.g. -i inventories/local.yml"}
	}
	if f.list && f.host != "" {
		return &usageError{cmd: "inventory", msg: "--list and --host NAME: give one of them"}
	}
	inv, err := inventory.Load(f.inventories...)
	if err != nil {
		return err
	}
	if f.list {
		return printList(inv, std)
	}
	hosts := inv.Hosts
	if f.host != "" {
		// inv.Host knows localhost too: the controller, which every inventory has.
		found := inv.Host(f.host)
		if found == nil {
			names := make([]string, len(inv.Hosts))
			for i, h := range inv.Hosts {
				names[i] = h.Name
			}
			return fmt.Errorf("--host %s: no such host in %s (hosts: %s, localhost)", f.host, strings.Join(f.inventories, ", "), strings.Join(names, ", "))
		}
		hosts = []*inventory.Host{found}
	}

	secrets := &secret.Set{}
	resolved := make(map[string]any, len(hosts))
	for _, h := range hosts {
		vars, err := resolveHostVars(inv, h)
		if err != nil {
			return fmt.Errorf("%s: host %s: %w", h.Pos, h.Name, err)
		}
		for _, name := range inv.Secrets {
			if v, ok := inventory.PathValue(vars, name); ok {
				secrets.AddAll(v)
				maskPath(vars, name) // also when the value is not a string (a numeric password)
			}
		}
		secrets.Add(h.Conn.SSHPassword)
		secrets.Add(h.BecomePassword)
		resolved[h.Name] = vars
	}

	var doc any = resolved
	if f.host != "" {
		doc = resolved[f.host]
	}
	enc := yaml.NewEncoder(std.out)
	enc.SetIndent(2)
	if err := enc.Encode(secrets.MaskValue(doc)); err != nil {
		return fmt.Errorf("format variables as YAML: %w", err)
	}
	return enc.Close()
}

// printList prints the inventory as ansible-inventory --list does: JSON with the groups and
// _meta.hostvars, each host's variables as written (templates not rendered), every secret
// masked.
func printList(inv *inventory.Inventory, std stdio) error {
	doc := inv.List()
	secrets := &secret.Set{}
	if meta, ok := doc["_meta"].(map[string]any); ok {
		hostvars, _ := meta["hostvars"].(map[string]any)
		for name, v := range hostvars {
			vars := copyMap(v.(map[string]any))
			for _, path := range inv.Secrets {
				if sv, ok := inventory.PathValue(vars, path); ok {
					secrets.AddAll(sv)
					maskPath(vars, path)
				}
			}
			hostvars[name] = vars
		}
	}
	for _, v := range inv.SecretValues() {
		secrets.Add(v)
	}
	enc := json.NewEncoder(std.out)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(secrets.MaskValue(doc)); err != nil {
		return fmt.Errorf("format the inventory as JSON: %w", err)
	}
	return nil
}

// maxPasses bounds template resolution: a variable may use another that is itself a template,
// so values are rendered again until nothing changes.
const maxPasses = 10

// resolveHostVars returns h's variables with the magic ones a host always has and every
// template rendered.
func resolveHostVars(inv *inventory.Inventory, h *inventory.Host) (map[string]any, error) {
	vars := make(map[string]any, len(h.Vars)+3)
	for k, v := range h.Vars {
		vars[k] = v
	}
	vars["inventory_hostname"] = h.Name
	vars["region"] = h.Region
	nodes := []any{}
	for _, o := range inv.Hosts {
		if h.Region != "" && o.Region == h.Region {
			nodes = append(nodes, o.Name)
		}
	}
	vars["region_nodes"] = nodes

	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for pass := 0; ; pass++ {
		pending := false
		for _, k := range names {
			if !hasTemplate(vars[k]) {
				continue
			}
			v, err := tmpl.RenderDeep(vars[k], vars)
			if err != nil {
				return nil, fmt.Errorf("variable %q: %w", k, err)
			}
			// A value may render to text that holds "{{" as data (an environment variable's
			// value); only a value that still changes is worth another pass.
			if hasTemplate(v) && !reflect.DeepEqual(v, vars[k]) {
				pending = true
			}
			vars[k] = v
		}
		if !pending {
			return vars, nil
		}
		if pass == maxPasses {
			return nil, fmt.Errorf("variables still hold templates after %d rounds of rendering: do they refer to each other in a cycle?", maxPasses)
		}
	}
}

func hasTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return tmpl.IsTemplate(x)
	case map[string]any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	}
	return false
}

// maskPath replaces the value at a dotted path with the mask.
func maskPath(vars map[string]any, path string) {
	keys := strings.Split(path, ".")
	cur := vars
	for i, k := range keys {
		if i == len(keys)-1 {
			if _, ok := cur[k]; ok {
				cur[k] = secret.Mask
			}
			return
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			return
		}
		// Copy before writing: the map may be shared with the inventory's other hosts.
		next = copyMap(next)
		cur[k] = next
		cur = next
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
