package inventory

import (
	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// groupEntryKeys are the keys of a groups: entry written as a mapping.
var groupEntryKeys = []string{"hosts", "vars"}

// decodeMapping reads a groups: entry of the omsbook format. The entry is either the list of
// its members (canary: [oms-hz-1]) or a mapping with them and the group's variables
// (canary: {hosts: [oms-hz-1], vars: {batch: 1}}). It returns the node that lists the members
// and how to name it in errors.
func (g *rawGroup) decodeMapping(file string, kv yamlsrc.KeyValue) (*yaml.Node, string, error) {
	n := yamlsrc.Resolve(kv.Value)
	if n == nil || n.Kind != yaml.MappingNode {
		return kv.Value, "group " + kv.Key, nil
	}
	fields, err := yamlsrc.Mapping(file, n, "group "+kv.Key)
	if err != nil {
		return nil, "", err
	}
	var members *yaml.Node
	for _, f := range fields {
		switch f.Key {
		case "hosts":
			members = f.Value
		case "vars":
			v, err := decodeVars(file, f)
			if err != nil {
				return nil, "", err
			}
			g.vars = v
		default:
			return nil, "", unknownKey(f, "group "+kv.Key, groupEntryKeys)
		}
	}
	return members, "hosts of group " + kv.Key, nil
}
