package inventory

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file reads Ansible's YAML inventories as Ansible's yaml plugin does: the top-level
// keys are groups (usually all:); a group has hosts: (host patterns, each with its vars or
// nothing), children: (groups, each defined like a top-level one) and vars:. A section written
// as a single name (hosts: web1) stands for that one entry. Where Ansible warns and skips (an
// unknown key in a group, a group that is no mapping), omsbook stops with the place and the
// fix: what Ansible would skip is what the author meant to say.

var groupKeys = []string{"hosts", "children", "vars"}

// parseAnsibleYAML adds one Ansible YAML inventory (its parsed root mapping) to m.
func (m *model) parseAnsibleYAML(file string, data []byte, root *yaml.Node) error {
	r := newYAMLReader(file, data)
	kvs, err := yamlsrc.Mapping(file, root, "the inventory")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if kv.Key == "plugin" {
			return &yamlsrc.Error{Pos: kv.KeyPos, Msg: "this is the configuration of an inventory plugin (a dynamic inventory), which omsbook cannot run", Fix: "save what the plugin gives as a file, e.g. ansible-inventory -i THIS --list --yaml > hosts.yml"}
		}
		if _, err := m.yamlGroup(r, kv.Key, kv.KeyPos, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// yamlGroup reads the definition of one group (which may also be defined elsewhere).
func (m *model) yamlGroup(r *yamlReader, name string, pos yamlsrc.Pos, n *yaml.Node) (*group, error) {
	if err := checkName(name, pos, "group"); err != nil {
		return nil, err
	}
	n = yamlsrc.Resolve(n)
	if n != nil && n.Kind != yaml.MappingNode && !isNull(n) {
		return nil, &yamlsrc.Error{Pos: yamlsrc.NodePos(r.file, n), Msg: fmt.Sprintf("group %s must be a mapping with hosts:, children: or vars:, not %s", name, nodeKind(n)), Fix: "write the group as " + name + ": {hosts: {web1: {}}} or with children:; a list of hosts goes under hosts: as a mapping"}
	}
	g := m.group(name, pos)
	kvs, err := yamlsrc.Mapping(r.file, n, "group "+name)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		if !contains(groupKeys, kv.Key) {
			return nil, unknownKey(kv, "group "+name, groupKeys)
		}
		sec := yamlsrc.Resolve(kv.Value)
		if isNull(sec) {
			continue
		}
		entries, err := r.section(name, kv, sec)
		if err != nil {
			return nil, err
		}
		switch kv.Key {
		case "vars":
			for _, e := range entries {
				v, err := r.value(e.Value)
				if err != nil {
					return nil, err
				}
				if err := g.setVar(e.Key, v, e.KeyPos); err != nil {
					return nil, err
				}
			}
		case "children":
			for _, e := range entries {
				child, err := m.yamlGroup(r, e.Key, e.KeyPos, e.Value)
				if err != nil {
					return nil, err
				}
				if err := m.addChild(g, child, e.KeyPos); err != nil {
					return nil, err
				}
			}
		case "hosts":
			for _, e := range entries {
				if err := m.yamlHost(r, g, e); err != nil {
					return nil, err
				}
			}
		}
	}
	return g, nil
}

// section returns the entries of a group's hosts:, children: or vars:. A single name stands
// for a mapping of that name to nothing, as Ansible reads it.
func (r *yamlReader) section(group string, kv yamlsrc.KeyValue, n *yaml.Node) ([]yamlsrc.KeyValue, error) {
	if n.Kind == yaml.ScalarNode {
		return []yamlsrc.KeyValue{{Key: n.Value, KeyNode: n, KeyPos: kv.ValuePos, ValuePos: kv.ValuePos}}, nil
	}
	if n.Kind != yaml.MappingNode {
		fix := map[string]string{
			"hosts":    "write each host as a key with its vars, or with nothing: hosts: {web1: , web2: {http_port: 80}}",
			"children": "write each child group as a key: children: {web: , db: }",
			"vars":     "write the variables as a mapping: vars: {http_port: 80}",
		}[kv.Key]
		return nil, &yamlsrc.Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("%s of group %s must be a mapping, not %s", kv.Key, group, nodeKind(n)), Fix: fix}
	}
	return yamlsrc.Mapping(r.file, n, kv.Key+" of group "+group)
}

// yamlHost reads one entry of a group's hosts: a host pattern and its vars (or nothing).
func (m *model) yamlHost(r *yamlReader, g *group, e yamlsrc.KeyValue) error {
	if k := yamlsrc.Resolve(e.KeyNode); k != nil && k.Kind == yaml.ScalarNode && k.Style == 0 {
		if _, isStr := yaml11Scalar(k.Value).(string); !isStr && !r.json {
			return &yamlsrc.Error{Pos: e.KeyPos, Msg: fmt.Sprintf("host name %s is read as a %s", k.Value, nodeKind11(k.Value)), Fix: fmt.Sprintf("quote it: %q:", k.Value)}
		}
	}
	names, port, err := expandHostPattern(e.Key)
	if err != nil {
		return &yamlsrc.Error{Pos: e.KeyPos, Msg: err.Error(), Fix: "write a range as [01:20], [a:f] or [1:10:2]", Err: err}
	}
	if err := checkHostFileNames(names, e.KeyPos); err != nil {
		return err
	}
	v := yamlsrc.Resolve(e.Value)
	var vars []yamlsrc.KeyValue
	if !isNull(v) {
		if v.Kind != yaml.MappingNode {
			return &yamlsrc.Error{Pos: yamlsrc.NodePos(r.file, v), Msg: fmt.Sprintf("the vars of host %s must be a mapping, not %s", e.Key, nodeKind(v)), Fix: "write them as " + e.Key + ": {ansible_host: 10.0.0.1}, or nothing after the colon"}
		}
		if vars, err = yamlsrc.Mapping(r.file, v, "host "+e.Key); err != nil {
			return err
		}
	}
	values := make([]any, len(vars))
	for i, kv := range vars {
		if values[i], err = r.value(kv.Value); err != nil {
			return err
		}
	}
	for _, name := range names {
		h := m.host(name, port, e.KeyPos)
		m.addHost(g, h)
		for i, kv := range vars {
			h.setVar(kv.Key, values[i], kv.KeyPos)
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	n = yamlsrc.Resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// nodeKind describes a node for messages: a string, a list, a mapping.
func nodeKind(n *yaml.Node) string {
	n = yamlsrc.Resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	}
	kind := "string"
	if n.Style == 0 {
		kind = nodeKind11(n.Value)
	}
	return fmt.Sprintf("a %s (%q)", kind, n.Value)
}

// nodeKind11 names the type YAML 1.1 gives a plain scalar.
func nodeKind11(s string) string {
	switch yaml11Scalar(s).(type) {
	case bool:
		return "bool"
	case int, float64:
		return "number"
	case nil:
		return "null"
	}
	return "string"
}
