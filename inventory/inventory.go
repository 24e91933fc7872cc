// Package inventory decodes inventories of regions and nodes, resolves each node's connection
// settings and variables, and matches host patterns.
package inventory

import (
	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/yamlsrc"
)

// Inventory is one or more inventory files merged, in the order given.
type Inventory struct {
	Files []string
	// Hosts are the nodes in the order written, regions in the order written. The implicit
	// controller host "localhost" is not among them unless the inventory names it.
	Hosts   []*Host
	Regions []string            // region names, in order
	Groups  map[string][]string // every group: all, one per region, localhost, and groups:
	Vars    map[string]any      // top-level vars
	Secrets []string            // variable names (dotted paths) whose values are masked

	// GroupOrder lists the group names: all, the regions in order, localhost, then the
	// groups: entries in order.
	GroupOrder []string
	// RegionVars are each region's own vars (without the top-level ones).
	RegionVars map[string]map[string]any

	byName      map[string]*Host
	regionNodes map[string][]string
	local       *Host  // the implicit controller host
	model       *model // the group graph variables are merged over (model.go)
}

// Host is one node.
type Host struct {
	Name   string
	Region string
	Pos    yamlsrc.Pos
	// Conn is how to reach the node, with region and inventory defaults applied.
	Conn transport.Spec
	// Vars are inventory vars < region vars < node vars, merged; templates in them are not
	// rendered yet.
	Vars map[string]any
	// NodeVars are the node's own vars, as written on the node.
	NodeVars map[string]any
	// Become and BecomePassword come from the node, region or top level.
	Become         bool
	BecomeUser     string
	BecomePassword string
	// Implicit is true for the controller host "localhost" when the inventory does not list
	// it: it is in no group but localhost, and runs with a local connection.
	Implicit bool
}
