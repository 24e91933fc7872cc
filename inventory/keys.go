package inventory

// Keys lists the keys the omsbook inventory format reads at each level, for tools that describe
// the format (omsbook schema): Settings are the connection settings allowed at every level,
// Top the file's own keys, Region a region's, Node a node's and GroupEntry a groups: entry's.
// They are copies: changing them changes nothing the loader does.
type Keys struct {
	Settings, Top, Region, Node, GroupEntry []string
}

// FormatKeys returns the keys of the omsbook inventory format, as the loader checks them.
func FormatKeys() Keys {
	cp := func(s []string) []string { return append([]string(nil), s...) }
	return Keys{Settings: cp(settingKeys), Top: cp(topKeys), Region: cp(regionKeys), Node: cp(nodeKeys), GroupEntry: cp(groupEntryKeys)}
}
