package lab

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DefaultName is the instance name of the lab `make lab-up` brings up. Its databases and
// containers carry no prefix, and its inventory is inventories/lab.yml.
const DefaultName = "default"

// NewVersion is the version every lab upgrades to.
const NewVersion = "4.2.3"

// Supported start versions.
const (
	Version422 = "4.2.2"
	Version410 = "4.1.0"
)

// Region is one region of the lab and its node count.
type Region struct {
	Name  string `json:"name"`
	Nodes int    `json:"nodes"`
}

// DefaultRegions is the lab's default layout: hangzhou with two nodes, shanghai with one.
func DefaultRegions() []Region {
	return []Region{{Name: "hangzhou", Nodes: 2}, {Name: "shanghai", Nodes: 1}}
}

// ParseRegions reads "hangzhou=2,shanghai=1" (a name without "=n" has one node).
func ParseRegions(s string) ([]Region, error) {
	var out []Region
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, hasCount := strings.Cut(part, "=")
		n := 1
		if hasCount {
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(count)); err != nil || n < 1 {
				return nil, fmt.Errorf("lab: region %q: node count %q is not a positive number (write name=count, e.g. hangzhou=2)", name, count)
			}
		}
		name = strings.TrimSpace(name)
		if !regionName.MatchString(name) {
			return nil, fmt.Errorf("lab: region name %q: use lower-case letters and digits, starting with a letter", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("lab: region %q is listed twice", name)
		}
		seen[name] = true
		out = append(out, Region{Name: name, Nodes: n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lab: no regions in %q (write e.g. hangzhou=2,shanghai=1)", s)
	}
	return out, nil
}

var (
	regionName   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	instanceName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// regionAbbrev is the short form used in node names (oms-hz-1).
func regionAbbrev(region string) string {
	switch region {
	case "hangzhou":
		return "hz"
	case "shanghai":
		return "sh"
	case "beijing":
		return "bj"
	case "shenzhen":
		return "sz"
	}
	return region
}

// versionTag is the guide's short form of a version: "4.2.2" -> "422".
func versionTag(version string) string { return strings.ReplaceAll(version, ".", "") }

// prefix is what the instance's databases and containers start with: "" for the default lab.
func prefix(name string) string {
	if name == DefaultName {
		return ""
	}
	return name + "_"
}

// DBNames are the MetaDB database names of one lab instance.
type DBNames struct {
	RM string `json:"rm"`
	CM string `json:"cm"`
	// Heartbeat is one database per region, in region order.
	Heartbeat []string `json:"heartbeat"`
}

// All lists every database, rm first.
func (d DBNames) All() []string { return append([]string{d.RM, d.CM}, d.Heartbeat...) }

// dbNames names the databases as the guide does (rm_422, cm_422, cm_hb_422_<n> with n from 1),
// prefixed for instances other than the default.
func dbNames(name, version string, regions int) DBNames {
	p, v := prefix(name), versionTag(version)
	d := DBNames{RM: p + "rm_" + v, CM: p + "cm_" + v}
	for i := 1; i <= regions; i++ {
		d.Heartbeat = append(d.Heartbeat, fmt.Sprintf("%scm_hb_%s_%d", p, v, i))
	}
	return d
}

// containerName is the per-node container name for a version: oms-hz-1_422 (prefixed for
// instances other than the default).
func containerName(instance, node, version string) string {
	return prefix(instance) + node + "_" + versionTag(version)
}

// nextIP returns ip + n within IPv4.
func nextIP(ip net.IP, n int) (net.IP, error) {
	v4 := ip.To4()
	if v4 == nil {
		return nil, fmt.Errorf("lab: %s is not an IPv4 address", ip)
	}
	x := uint32(v4[0])<<24 | uint32(v4[1])<<16 | uint32(v4[2])<<8 | uint32(v4[3])
	x += uint32(n)
	out := net.IPv4(byte(x>>24), byte(x>>16), byte(x>>8), byte(x)).To4()
	if !out.IsLoopback() {
		return nil, fmt.Errorf("lab: node address %s leaves 127.0.0.0/8: use a lower FirstIP or fewer nodes", out)
	}
	return out, nil
}

// layout computes every name, address and path of a lab from its (defaulted) config.
func layout(cfg Config) (*Lab, error) {
	first := net.ParseIP(cfg.FirstIP)
	if first == nil || first.To4() == nil || !first.IsLoopback() {
		return nil, fmt.Errorf("lab: FirstIP %q must be an IPv4 loopback address such as 127.0.0.11", cfg.FirstIP)
	}
	l := &Lab{
		Name:          cfg.Name,
		Dir:           cfg.Dir,
		Version:       cfg.StartVersion,
		NewVersion:    NewVersion,
		DB:            dbNames(cfg.Name, cfg.StartVersion, len(cfg.Regions)),
		InventoryPath: cfg.InventoryPath,
		SSHPort:       cfg.SSHPort,
		KnownHosts:    filepath.Join(cfg.Dir, "sshd", "known_hosts"),
		ClientKey:     filepath.Join(cfg.Dir, "sshd", "client_ed25519"),
		PackageDir:    filepath.Join(cfg.RootDir, "packages"),
		BackupRoot:    filepath.Join(cfg.Dir, "backups"),
		Config:        cfg,
	}
	k := 0
	for ri, r := range cfg.Regions {
		region := &RegionInfo{
			Name:         r.Name,
			Location:     ri,
			IsDefault:    ri == 0,
			HeartbeatDB:  l.DB.Heartbeat[ri],
			SharedConfig: !cfg.PerNodeConfig,
		}
		if region.SharedConfig {
			region.ConfigFile = filepath.Join(cfg.Dir, "regions", r.Name, "config.yaml")
		}
		for i := 1; i <= r.Nodes; i++ {
			ip, err := nextIP(first, k)
			if err != nil {
				return nil, err
			}
			k++
			name := fmt.Sprintf("oms-%s-%d", regionAbbrev(r.Name), i)
			n := &Node{
				Name:         name,
				Region:       r.Name,
				IP:           ip.String(),
				OldContainer: containerName(cfg.Name, name, cfg.StartVersion),
				NewContainer: containerName(cfg.Name, name, NewVersion),
				MountDir:     filepath.Join(cfg.Dir, "nodes", name),
				ConfigFile:   region.ConfigFile,
			}
			if !region.SharedConfig {
				n.ConfigFile = filepath.Join(n.MountDir, "config.yaml")
			}
			region.Nodes = append(region.Nodes, name)
			l.Nodes = append(l.Nodes, n)
		}
		l.Regions = append(l.Regions, region)
	}
	return l, nil
}
