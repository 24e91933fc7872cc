package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/yamlsrc"
)

// The keys each level of an inventory accepts. Connection settings may stand at the top, on a
// region or on a node; a node adds its address.
var (
	settingKeys = []string{"user", "port", "connection", "known_hosts", "ssh_key", "ssh_password", "jump", "become", "become_user", "become_password"}
	topKeys     = append(append([]string{}, settingKeys...), "vars", "regions", "groups", "secrets")
	regionKeys  = append(append([]string{}, settingKeys...), "vars", "nodes")
	nodeKeys    = append(append([]string{"address"}, settingKeys...), "vars")
)

// ControllerName is the name of the implicit host that runs on the controller.
const ControllerName = "localhost"

// setting is one connection field as written at one level, with its place.
type setting[T any] struct {
	v   T
	set bool
	pos yamlsrc.Pos
}

func (s *setting[T]) over(o setting[T]) {
	if o.set {
		*s = o
	}
}

// settings are the connection fields of one level (top, region or node).
type settings struct {
	user, connection, knownHosts, sshKey, sshPassword, jump, becomeUser, becomePassword setting[string]
	port                                                                                setting[int]
	become                                                                              setting[bool]
}

func (s *settings) over(o settings) {
	s.user.over(o.user)
	s.connection.over(o.connection)
	s.knownHosts.over(o.knownHosts)
	s.sshKey.over(o.sshKey)
	s.sshPassword.over(o.sshPassword)
	s.jump.over(o.jump)
	s.becomeUser.over(o.becomeUser)
	s.becomePassword.over(o.becomePassword)
	s.port.over(o.port)
	s.become.over(o.become)
}

type rawNode struct {
	name    string
	pos     yamlsrc.Pos
	address setting[string]
	set     settings
	vars    map[string]any
}

type rawRegion struct {
	name  string
	pos   yamlsrc.Pos
	set   settings
	vars  map[string]any
	nodes []*rawNode
}

type rawGroup struct {
	name    string
	pos     yamlsrc.Pos
	members []string
	posOf   []yamlsrc.Pos
	vars    map[string]any // written in the mapping form {hosts: [...], vars: {...}}
}

// raw is one or more inventory files merged, before defaults are applied.
type raw struct {
	set     settings
	vars    map[string]any
	regions []*rawRegion
	groups  []*rawGroup
	secrets []string
}

// Load reads inventory files and merges them in order: a later file adds nodes, regions and
// groups and overrides settings and variables of the same name. A path may also name an
// Ansible inventory (INI or YAML) or a directory of inventory files, and group_vars/ and
// host_vars/ beside them are read (source.go, groupvars.go). Every error is a
// *yamlsrc.Error naming the file (and line and column when known).
func Load(paths ...string) (*Inventory, error) {
	srcs, varDirs, err := readSources(paths)
	if err != nil {
		return nil, err
	}
	return loadSources(paths, srcs, varDirs)
}

// Parse decodes one inventory from data as if read from file (for tests and tools). It
// reads no group_vars/ or host_vars/.
func Parse(file string, data []byte) (*Inventory, error) {
	src, err := detect(file, data)
	if err != nil {
		return nil, err
	}
	return loadSources([]string{file}, []*source{src}, nil)
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func unknownKey(kv yamlsrc.KeyValue, where string, allowed []string) error {
	msg := fmt.Sprintf("unknown key %q in %s", kv.Key, where)
	fix := "allowed keys: " + strings.Join(allowed, ", ")
	if s := yamlsrc.Suggest(kv.Key, allowed); len(s) > 0 {
		fix = fmt.Sprintf("did you mean %q? allowed keys: %s", s[0], strings.Join(allowed, ", "))
	}
	return &yamlsrc.Error{Pos: kv.KeyPos, Msg: msg, Fix: fix}
}

func (r *raw) decodeFile(file string, data []byte) error {
	root, err := yamlsrc.ParseYAML(file, data)
	if err != nil {
		return err
	}
	if root == nil {
		return nil
	}
	kvs, err := yamlsrc.Mapping(file, root, "the inventory")
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	var set settings
	for _, kv := range kvs {
		if ok, err := decodeSetting(file, dir, kv, &set); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		switch kv.Key {
		case "vars":
			v, err := decodeVars(file, kv)
			if err != nil {
				return err
			}
			mergeVars(r.vars, v)
		case "regions":
			if err := r.decodeRegions(file, dir, kv.Value); err != nil {
				return err
			}
		case "groups":
			if err := r.decodeGroups(file, kv.Value); err != nil {
				return err
			}
		case "secrets":
			s, err := yamlsrc.Strings(file, kv.Value, "secrets")
			if err != nil {
				return err
			}
			for _, name := range s {
				if !contains(r.secrets, name) {
					r.secrets = append(r.secrets, name)
				}
			}
		default:
			return unknownKey(kv, "the inventory", topKeys)
		}
	}
	r.set.over(set)
	return nil
}

// decodeSetting decodes kv when it is a connection setting; ok is false for other keys.
func decodeSetting(file, dir string, kv yamlsrc.KeyValue, s *settings) (ok bool, err error) {
	str := func(dst *setting[string]) (bool, error) {
		v, err := yamlsrc.Scalar(file, kv.Value, kv.Key)
		if err != nil {
			return true, err
		}
		*dst = setting[string]{v: v, set: true, pos: kv.ValuePos}
		return true, nil
	}
	path := func(dst *setting[string]) (bool, error) {
		if _, err := str(dst); err != nil {
			return true, err
		}
		dst.v = expandPath(dir, dst.v)
		return true, nil
	}
	switch kv.Key {
	case "user":
		return str(&s.user)
	case "connection":
		if _, err := str(&s.connection); err != nil {
			return true, err
		}
		if s.connection.v != "ssh" && s.connection.v != "local" {
			return true, &yamlsrc.Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("connection is %q; it must be ssh or local", s.connection.v)}
		}
		return true, nil
	case "known_hosts":
		return path(&s.knownHosts)
	case "ssh_key":
		return path(&s.sshKey)
	case "ssh_password":
		return str(&s.sshPassword)
	case "jump":
		if _, err := str(&s.jump); err != nil {
			return true, err
		}
		if strings.TrimSpace(s.jump.v) == "" || strings.ContainsAny(s.jump.v, " \t") {
			return true, &yamlsrc.Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("jump is %q; write the bastion as user@host:port", s.jump.v)}
		}
		return true, nil
	case "become_user":
		return str(&s.becomeUser)
	case "become_password":
		return str(&s.becomePassword)
	case "port":
		p, err := yamlsrc.Int(file, kv.Value, "port")
		if err == nil && (p < 1 || p > 65535) {
			err = &yamlsrc.Error{Pos: kv.ValuePos, Msg: fmt.Sprintf("port %d is out of range", p), Fix: "use 1 to 65535"}
		}
		if err != nil {
			return true, err
		}
		s.port = setting[int]{v: p, set: true, pos: kv.ValuePos}
		return true, nil
	case "become":
		b, err := yamlsrc.Bool(file, kv.Value, "become")
		if err != nil {
			return true, err
		}
		s.become = setting[bool]{v: b, set: true, pos: kv.ValuePos}
		return true, nil
	}
	return false, nil
}

// expandPath expands a leading ~ and makes a relative path relative to the inventory's
// directory. Templates are left alone: they are rendered later.
func expandPath(dir, p string) string {
	if p == "" || strings.Contains(p, "{{") {
		return p
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return p
}

func decodeVars(file string, kv yamlsrc.KeyValue) (map[string]any, error) {
	if _, err := yamlsrc.Mapping(file, kv.Value, "vars"); err != nil {
		return nil, err
	}
	v, err := yamlsrc.NodeValue(file, kv.Value)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// mergeVars sets every key of src in dst: a later definition replaces the earlier one.
func mergeVars(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}

func (r *raw) region(name string) *rawRegion {
	for _, g := range r.regions {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (r *raw) decodeRegions(file, dir string, n *yaml.Node) error {
	kvs, err := yamlsrc.Mapping(file, n, "regions")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		reg := r.region(kv.Key)
		if reg == nil {
			reg = &rawRegion{name: kv.Key, pos: kv.KeyPos, vars: map[string]any{}}
			r.regions = append(r.regions, reg)
		}
		if err := checkName(kv.Key, kv.KeyPos, "region"); err != nil {
			return err
		}
		where := fmt.Sprintf("region %s", kv.Key)
		fields, err := yamlsrc.Mapping(file, kv.Value, where)
		if err != nil {
			return err
		}
		var set settings
		for _, f := range fields {
			if ok, err := decodeSetting(file, dir, f, &set); ok || err != nil {
				if err != nil {
					return err
				}
				continue
			}
			switch f.Key {
			case "vars":
				v, err := decodeVars(file, f)
				if err != nil {
					return err
				}
				mergeVars(reg.vars, v)
			case "nodes":
				if err := r.decodeNodes(file, dir, reg, f.Value); err != nil {
					return err
				}
			default:
				return unknownKey(f, where, regionKeys)
			}
		}
		reg.set.over(set)
	}
	return nil
}

func (r *raw) decodeNodes(file, dir string, reg *rawRegion, n *yaml.Node) error {
	kvs, err := yamlsrc.Mapping(file, n, fmt.Sprintf("nodes of region %s", reg.name))
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := checkName(kv.Key, kv.KeyPos, "node"); err != nil {
			return err
		}
		if err := checkHostFileName(kv.Key, kv.KeyPos); err != nil {
			return err
		}
		var node *rawNode
		for _, other := range r.regions {
			for _, nd := range other.nodes {
				if nd.name != kv.Key {
					continue
				}
				if other != reg {
					return &yamlsrc.Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("node %s is in region %s and in region %s (first at %s)", kv.Key, other.name, reg.name, nd.pos), Fix: "node names must be unique across regions"}
				}
				node = nd
			}
		}
		if node == nil {
			node = &rawNode{name: kv.Key, pos: kv.KeyPos, vars: map[string]any{}}
			reg.nodes = append(reg.nodes, node)
		}
		where := "node " + kv.Key
		fields, err := yamlsrc.Mapping(file, kv.Value, where)
		if err != nil {
			return err
		}
		var set settings
		for _, f := range fields {
			if ok, err := decodeSetting(file, dir, f, &set); ok || err != nil {
				if err != nil {
					return err
				}
				continue
			}
			switch f.Key {
			case "address":
				a, err := yamlsrc.Scalar(file, f.Value, "address")
				if err != nil {
					return err
				}
				node.address = setting[string]{v: a, set: true, pos: f.ValuePos}
			case "vars":
				v, err := decodeVars(file, f)
				if err != nil {
					return err
				}
				mergeVars(node.vars, v)
			default:
				return unknownKey(f, where, nodeKeys)
			}
		}
		node.set.over(set)
	}
	return nil
}

// checkName rejects names that cannot be used in host patterns.
func checkName(name string, pos yamlsrc.Pos, what string) error {
	if name == "" || strings.ContainsAny(name, ":,&!*?[] \t") {
		return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("%s name %q cannot be used in host patterns", what, name), Fix: "use letters, digits, '-', '_' and '.'"}
	}
	return nil
}

func (r *raw) decodeGroups(file string, n *yaml.Node) error {
	kvs, err := yamlsrc.Mapping(file, n, "groups")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := checkName(kv.Key, kv.KeyPos, "group"); err != nil {
			return err
		}
		g := &rawGroup{name: kv.Key, pos: kv.KeyPos}
		members, what, err := g.decodeMapping(file, kv)
		if err != nil {
			return err
		}
		items, err := yamlsrc.Sequence(file, members, what)
		if err != nil {
			return err
		}
		for _, it := range items {
			name, err := yamlsrc.Scalar(file, it, "a member of group "+kv.Key)
			if err != nil {
				return err
			}
			g.members = append(g.members, name)
			g.posOf = append(g.posOf, yamlsrc.NodePos(file, it))
		}
		// A later file's definition of the same group replaces the earlier one.
		replaced := false
		for i, old := range r.groups {
			if old.name == g.name {
				r.groups[i], replaced = g, true
			}
		}
		if !replaced {
			r.groups = append(r.groups, g)
		}
	}
	return nil
}

// build applies defaults (top < region < node) and makes the groups.
func (r *raw) build(files []string) (*Inventory, error) {
	inv := &Inventory{
		Files:       files,
		Groups:      map[string][]string{},
		Vars:        r.vars,
		Secrets:     r.secrets,
		RegionVars:  map[string]map[string]any{},
		byName:      map[string]*Host{},
		regionNodes: map[string][]string{},
	}
	var all []string
	for _, reg := range r.regions {
		inv.Regions = append(inv.Regions, reg.name)
		inv.RegionVars[reg.name] = reg.vars
		var names []string
		for _, n := range reg.nodes {
			// A node named like a group could never be picked by its name: a pattern
			// resolves group names first.
			switch {
			case n.name == "all":
				return nil, &yamlsrc.Error{Pos: n.pos, Msg: fmt.Sprintf("node %q has the name of the built-in group all", n.name), Fix: "choose another node name"}
			case containsRegion(r, n.name):
				return nil, &yamlsrc.Error{Pos: n.pos, Msg: fmt.Sprintf("node %q has the name of a region", n.name), Fix: "choose another node name; host patterns would take it for the region"}
			}
			h := buildHost(r, reg, n)
			inv.Hosts = append(inv.Hosts, h)
			inv.byName[h.Name] = h
			names = append(names, h.Name)
			all = append(all, h.Name)
		}
		inv.regionNodes[reg.name] = names
		inv.Groups[reg.name] = names
		inv.GroupOrder = append(inv.GroupOrder, reg.name)
	}
	inv.Groups["all"] = all
	inv.Groups[ControllerName] = []string{ControllerName}
	inv.GroupOrder = append([]string{"all"}, inv.GroupOrder...)
	inv.GroupOrder = append(inv.GroupOrder, ControllerName)

	for _, g := range r.groups {
		switch {
		case g.name == "all" || g.name == ControllerName:
			return nil, &yamlsrc.Error{Pos: g.pos, Msg: fmt.Sprintf("group %q is built in", g.name), Fix: "choose another name"}
		case inv.regionNodes[g.name] != nil || containsRegion(r, g.name):
			return nil, &yamlsrc.Error{Pos: g.pos, Msg: fmt.Sprintf("group %q has the name of a region", g.name), Fix: "choose another name; a region is already a group"}
		case inv.byName[g.name] != nil:
			return nil, &yamlsrc.Error{Pos: g.pos, Msg: fmt.Sprintf("group %q has the name of a node", g.name), Fix: "choose another name; host patterns would take the node for the group"}
		}
		var members []string
		for i, m := range g.members {
			switch {
			case inv.byName[m] != nil:
				members = appendNew(members, m)
			case containsRegion(r, m):
				for _, n := range inv.regionNodes[m] {
					members = appendNew(members, n)
				}
			default:
				fix := "a group lists node or region names"
				if s := yamlsrc.Suggest(m, all); len(s) > 0 {
					fix = fmt.Sprintf("did you mean %q? %s", s[0], fix)
				}
				return nil, &yamlsrc.Error{Pos: g.posOf[i], Msg: fmt.Sprintf("group %s: %q is not a node of this inventory", g.name, m), Fix: fix}
			}
		}
		inv.Groups[g.name] = inv.inOrder(members)
		inv.GroupOrder = append(inv.GroupOrder, g.name)
	}
	inv.local = controllerHost(r)
	return inv, nil
}

func containsRegion(r *raw, name string) bool { return r.region(name) != nil }

func appendNew(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// inOrder sorts host names into inventory order.
func (inv *Inventory) inOrder(names []string) []string {
	idx := make(map[string]int, len(inv.Hosts))
	for i, h := range inv.Hosts {
		idx[h.Name] = i
	}
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return idx[out[i]] < idx[out[j]] })
	return out
}

func buildHost(r *raw, reg *rawRegion, n *rawNode) *Host {
	s := r.set
	s.over(reg.set)
	s.over(n.set)
	vars := make(map[string]any, len(r.vars)+len(reg.vars)+len(n.vars))
	mergeVars(vars, r.vars)
	mergeVars(vars, reg.vars)
	mergeVars(vars, n.vars)
	h := &Host{
		Name:           n.name,
		Region:         reg.name,
		Pos:            n.pos,
		Vars:           vars,
		NodeVars:       n.vars,
		Become:         s.become.v,
		BecomeUser:     s.becomeUser.v,
		BecomePassword: s.becomePassword.v,
		Conn:           connSpec(n.name, n.address, s),
	}
	return h
}

func connSpec(name string, address setting[string], s settings) transport.Spec {
	spec := transport.Spec{
		Name:        name,
		Connection:  "ssh",
		Address:     name,
		Port:        0, // unset: ~/.ssh/config or 22
		User:        s.user.v,
		KnownHosts:  s.knownHosts.v,
		SSHKey:      s.sshKey.v,
		SSHPassword: s.sshPassword.v,
		Jump:        s.jump.v,
	}
	if address.set {
		spec.Address = address.v
	}
	if s.connection.set {
		spec.Connection = s.connection.v
	}
	if s.port.set {
		spec.Port = s.port.v
	}
	return spec
}

// controllerHost is the implicit "localhost": the controller, with the top-level variables.
func controllerHost(r *raw) *Host {
	vars := make(map[string]any, len(r.vars))
	mergeVars(vars, r.vars)
	return &Host{
		Name:           ControllerName,
		Vars:           vars,
		Conn:           transport.Spec{Name: ControllerName, Connection: "local", Address: "127.0.0.1"},
		Become:         r.set.become.v,
		BecomeUser:     r.set.becomeUser.v,
		BecomePassword: r.set.becomePassword.v,
		Implicit:       true,
	}
}
