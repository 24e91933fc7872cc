package builtin

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// Setup gathers facts about the host with one POSIX shell command: no Python or agent on the
// target. gather_facts runs it at the start of a play.
type Setup struct{}

func (Setup) Name() string { return "setup" }

func (Setup) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Gather facts about the host (gather_facts runs it)",
		Description: "Runs one shell command on the host and sets the facts Ansible's setup sets " +
			"that playbooks most read: ansible_hostname, ansible_fqdn, ansible_nodename, " +
			"ansible_os_family, ansible_distribution (+ _version, _major_version, _release), " +
			"ansible_architecture, ansible_kernel, ansible_machine, ansible_default_ipv4 " +
			"(address, interface, gateway), ansible_all_ipv4_addresses, ansible_processor_vcpus, " +
			"ansible_memtotal_mb, ansible_mounts, ansible_env, ansible_user_id, " +
			"ansible_date_time, ansible_service_mgr and ansible_pkg_mgr; each also under " +
			"ansible_facts without the ansible_ prefix. Needs only /bin/sh and the usual tools.",
		CheckMode: "The same as a real run: setup only reads.",
		Args: []modules.Arg{
			{Name: "gather_subset", Type: modules.StringList, Doc: "all (default), min, or network / hardware, each negatable with ! (min facts are always gathered)"},
			{Name: "filter", Type: modules.StringList, Doc: "keep only the facts whose names match these globs (ansible_eth*)"},
		},
		Returns: []modules.Field{
			{Name: "ansible_facts", Type: "map", Doc: "every fact gathered, names without the ansible_ prefix"},
		},
	}
}

// setupFactNames are the facts setup sets, so that the check before the run knows them.
var setupFactNames = []string{"ansible_facts", "ansible_hostname", "ansible_fqdn", "ansible_nodename",
	"ansible_os_family", "ansible_distribution", "ansible_distribution_version",
	"ansible_distribution_major_version", "ansible_distribution_release", "ansible_architecture",
	"ansible_kernel", "ansible_machine", "ansible_default_ipv4", "ansible_all_ipv4_addresses",
	"ansible_processor_vcpus", "ansible_memtotal_mb", "ansible_mounts", "ansible_env",
	"ansible_user_id", "ansible_date_time", "ansible_service_mgr", "ansible_pkg_mgr"}

// DefinedVars names the facts setup sets.
func (Setup) DefinedVars(map[string]any, modules.DefineContext) []string { return setupFactNames }

func (m Setup) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Setup) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	subset, err := factSubsets(args.Strings("gather_subset"))
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	res, err := h.Conn.Exec(ctx, h.Cmd(setupScript))
	if err != nil {
		return execError(ctx, "setup", err)
	}
	if res.RC != 0 {
		return modules.Fail(fmt.Sprintf("gathering facts failed (rc %d): %s", res.RC, strings.TrimSpace(string(res.Stderr))), nil), nil
	}
	facts := parseFacts(string(res.Stdout), subset)
	if globs := args.Strings("filter"); len(globs) > 0 {
		facts = filterFacts(facts, globs)
	}
	plain := make(map[string]any, len(facts))
	for k, v := range facts {
		plain[strings.TrimPrefix(k, "ansible_")] = v
	}
	set := make(map[string]any, len(facts)+1)
	for k, v := range facts {
		set[k] = v
	}
	set["ansible_facts"] = plain
	return modules.Result{Facts: set, Data: map[string]any{"ansible_facts": plain}}, nil
}

// setupScript prints one fact source a line, "KIND<TAB>VALUE...", with the tools a minimal
// system has; a missing tool leaves its lines out.
const setupScript = `exec 2>/dev/null
printf 'hostname\t%s\n' "$(hostname || uname -n)"
printf 'fqdn\t%s\n' "$(hostname -f || hostname || uname -n)"
printf 'uname\t%s\t%s\t%s\n' "$(uname -n)" "$(uname -r)" "$(uname -m)"
[ -r /etc/os-release ] && sed 's/^/osr\t/' /etc/os-release
[ -r /etc/debian_version ] && printf 'debver\t%s\n' "$(cat /etc/debian_version)"
printf 'nproc\t%s\n' "$(getconf _NPROCESSORS_ONLN || nproc || grep -c ^processor /proc/cpuinfo)"
grep '^MemTotal:' /proc/meminfo | sed 's/^/mem\t/'
printf 'user\t%s\n' "$(id -un)"
printf 'pid1\t%s\n' "$(cat /proc/1/comm)"
for m in apt-get dnf yum zypper apk pacman; do command -v "$m" >/dev/null && { printf 'pkg\t%s\n' "$m"; break; }; done
awk '$2=="00000000" {print "route\t" $1 "\t" $3; exit}' /proc/net/route
if command -v ip >/dev/null; then ip -o -4 addr show | awk '{print "addr\t" $2 "\t" $4}'; fi
df -P -k | awk 'NR>1 {print "df\t" $6 "\t" $2 "\t" $4}'
awk '{print "mount\t" $1 "\t" $2 "\t" $3 "\t" $4}' /proc/mounts
printf 'date\t%s\n' "$(date '+%Y-%m-%d %H:%M:%S %z %Z %s %A %j %U')"
env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=/env\t\1\t/p'
`

// factSubset says which groups of facts to gather.
type factSubset struct{ network, hardware bool }

// factSubsets reads gather_subset as Ansible does: all, min, network, hardware, each may be
// negated with !; the last word for a group wins.
func factSubsets(words []string) (factSubset, error) {
	s := factSubset{network: true, hardware: true}
	for _, w := range words {
		neg := strings.HasPrefix(w, "!")
		switch strings.TrimPrefix(w, "!") {
		case "all":
			s = factSubset{network: !neg, hardware: !neg}
		case "min":
			if !neg {
				s = factSubset{}
			}
		case "network":
			s.network = !neg
		case "hardware", "devices", "mounts":
			s.hardware = !neg
		case "virtual", "facter", "ohai":
			// Nothing omsbook gathers belongs to these.
		default:
			return s, fmt.Errorf("gather_subset %q is none of all, min, network, hardware (negated with !)", w)
		}
	}
	return s, nil
}

// parseFacts turns the script's lines into facts.
func parseFacts(out string, subset factSubset) map[string]any {
	facts := map[string]any{}
	osr := map[string]string{}
	env := map[string]any{}
	sizes := map[string][2]int64{}
	var mounts [][]string
	var route []string
	addrs := map[string]string{} // interface -> first address
	var all []any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "hostname":
			facts["ansible_hostname"] = strings.SplitN(f[1], ".", 2)[0]
		case "fqdn":
			facts["ansible_fqdn"] = f[1]
		case "uname":
			if len(f) == 4 {
				facts["ansible_nodename"], facts["ansible_kernel"] = f[1], f[2]
				facts["ansible_machine"], facts["ansible_architecture"] = f[3], f[3]
			}
		case "osr":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				osr[k] = strings.Trim(v, `"'`)
			}
		case "debver":
			osr["debian_version"] = f[1]
		case "nproc":
			if n, err := strconv.Atoi(f[1]); err == nil && subset.hardware {
				facts["ansible_processor_vcpus"] = n
			}
		case "mem":
			if fs := strings.Fields(f[1]); len(fs) >= 2 && subset.hardware {
				if kb, err := strconv.ParseInt(fs[1], 10, 64); err == nil {
					facts["ansible_memtotal_mb"] = kb / 1024
				}
			}
		case "user":
			facts["ansible_user_id"] = f[1]
		case "pid1":
			facts["ansible_service_mgr"] = serviceManager(f[1])
		case "pkg":
			facts["ansible_pkg_mgr"] = strings.TrimSuffix(f[1], "-get")
		case "route":
			route = f[1:]
		case "addr":
			if len(f) == 3 {
				ip, _, _ := strings.Cut(f[2], "/")
				if _, seen := addrs[f[1]]; !seen {
					addrs[f[1]] = ip
				}
				if !strings.HasPrefix(ip, "127.") {
					all = append(all, ip)
				}
			}
		case "df":
			if len(f) == 4 {
				total, _ := strconv.ParseInt(f[2], 10, 64)
				avail, _ := strconv.ParseInt(f[3], 10, 64)
				sizes[f[1]] = [2]int64{total * 1024, avail * 1024}
			}
		case "mount":
			mounts = append(mounts, f[1:])
		case "date":
			facts["ansible_date_time"] = dateFacts(f[1])
		case "env":
			if len(f) >= 3 {
				env[f[1]] = strings.Join(f[2:], "\t")
			}
		}
	}
	facts["ansible_env"] = env
	addOSFacts(facts, osr)
	if subset.network {
		facts["ansible_all_ipv4_addresses"] = append([]any{}, all...)
		facts["ansible_default_ipv4"] = defaultIPv4(route, addrs)
	}
	if subset.hardware {
		facts["ansible_mounts"] = mountFacts(mounts, sizes)
	}
	return facts
}

// serviceManager names the service manager from PID 1's command, as Ansible's facts do.
func serviceManager(comm string) string {
	switch comm {
	case "systemd":
		return "systemd"
	case "init":
		return "sysvinit"
	case "openrc-init", "openrc":
		return "openrc"
	case "runit", "runsvdir":
		return "runit"
	case "":
		return "service"
	}
	return comm
}

// distributions maps os-release's ID to Ansible's distribution name.
var distributions = map[string]string{
	"debian": "Debian", "ubuntu": "Ubuntu", "raspbian": "Debian", "linuxmint": "Linux Mint",
	"centos": "CentOS", "rhel": "RedHat", "fedora": "Fedora", "rocky": "Rocky",
	"almalinux": "AlmaLinux", "ol": "OracleLinux", "amzn": "Amazon", "alpine": "Alpine",
	"arch": "Archlinux", "sles": "SLES", "opensuse-leap": "openSUSE Leap",
	"opensuse-tumbleweed": "openSUSE Tumbleweed", "gentoo": "Gentoo",
}

// families maps a distribution (or an ID_LIKE entry) to Ansible's os_family.
var families = map[string]string{
	"debian": "Debian", "ubuntu": "Debian", "raspbian": "Debian", "linuxmint": "Debian",
	"rhel": "RedHat", "centos": "RedHat", "fedora": "RedHat", "rocky": "RedHat",
	"almalinux": "RedHat", "ol": "RedHat", "amzn": "RedHat", "suse": "Suse", "sles": "Suse",
	"opensuse": "Suse", "opensuse-leap": "Suse", "opensuse-tumbleweed": "Suse",
	"alpine": "Alpine", "arch": "Archlinux", "gentoo": "Gentoo",
}

// addOSFacts sets the distribution facts from /etc/os-release (and Debian's own version file,
// which carries the point release, as Ansible reads it).
func addOSFacts(facts map[string]any, osr map[string]string) {
	id := osr["ID"]
	dist, ok := distributions[id]
	if !ok && id != "" {
		dist = strings.ToUpper(id[:1]) + id[1:]
	}
	family := families[id]
	for _, like := range strings.Fields(osr["ID_LIKE"]) {
		if family == "" {
			family = families[like]
		}
	}
	if family == "" {
		family = dist
	}
	version := osr["VERSION_ID"]
	if id == "debian" {
		if dv := osr["debian_version"]; dv != "" && dv[0] >= '0' && dv[0] <= '9' {
			version = dv
		}
	}
	major, _, _ := strings.Cut(version, ".")
	facts["ansible_distribution"] = dist
	facts["ansible_os_family"] = family
	facts["ansible_distribution_version"] = version
	facts["ansible_distribution_major_version"] = major
	facts["ansible_distribution_release"] = osr["VERSION_CODENAME"]
}

// defaultIPv4 is ansible_default_ipv4: the interface of the default route, its first address
// and the gateway (/proc/net/route writes it in hexadecimal, little-endian).
func defaultIPv4(route []string, addrs map[string]string) map[string]any {
	out := map[string]any{}
	if len(route) < 2 {
		return out
	}
	out["interface"] = route[0]
	if b, err := hex.DecodeString(route[1]); err == nil && len(b) == 4 {
		var ip [4]byte
		binary.LittleEndian.PutUint32(ip[:], binary.BigEndian.Uint32(b))
		out["gateway"] = net.IP(ip[:]).String()
	}
	if a, ok := addrs[route[0]]; ok {
		out["address"] = a
	}
	return out
}

// pseudoFS are file systems with no storage of their own; ansible_mounts leaves them out.
var pseudoFS = []string{"proc", "sysfs", "devpts", "cgroup", "cgroup2", "mqueue", "debugfs",
	"tracefs", "securityfs", "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs",
	"binfmt_misc", "nsfs", "devtmpfs", "rpc_pipefs"}

// mountFacts is ansible_mounts: the mounted file systems with their sizes, by mount point.
func mountFacts(mounts [][]string, sizes map[string][2]int64) []any {
	out := []any{}
	seen := map[string]bool{}
	for _, m := range mounts {
		// As Ansible's facts: a device that is a path (or a network mount), not a pseudo one.
		if len(m) < 4 || slices.Contains(pseudoFS, m[2]) || seen[m[1]] || m[2] == "none" ||
			(!strings.HasPrefix(m[0], "/") && !strings.Contains(m[0], ":/")) {
			continue
		}
		seen[m[1]] = true
		entry := map[string]any{"device": m[0], "mount": m[1], "fstype": m[2], "options": m[3]}
		if sz, ok := sizes[m[1]]; ok {
			entry["size_total"], entry["size_available"] = sz[0], sz[1]
		}
		out = append(out, entry)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].(map[string]any)["mount"].(string) < out[j].(map[string]any)["mount"].(string)
	})
	return out
}

// dateFacts is ansible_date_time from the host's date: "2006-01-02 15:04:05 -0700 MST epoch
// weekday yday week".
func dateFacts(s string) map[string]any {
	f := strings.Fields(s)
	out := map[string]any{}
	if len(f) < 5 {
		return out
	}
	t, err := time.Parse("2006-01-02 15:04:05 -0700", f[0]+" "+f[1]+" "+f[2])
	if err != nil {
		return out
	}
	out["date"], out["time"] = t.Format("2006-01-02"), t.Format("15:04:05")
	out["year"], out["month"], out["day"] = t.Format("2006"), t.Format("01"), t.Format("02")
	out["hour"], out["minute"], out["second"] = t.Format("15"), t.Format("04"), t.Format("05")
	out["tz"], out["tz_offset"], out["epoch"] = f[3], f[2], f[4]
	out["iso8601"] = t.UTC().Format("2006-01-02T15:04:05Z")
	if len(f) >= 6 {
		out["weekday"] = f[5]
	}
	return out
}

// filterFacts keeps the facts whose names match one of globs.
func filterFacts(facts map[string]any, globs []string) map[string]any {
	out := map[string]any{}
	for k, v := range facts {
		for _, g := range globs {
			if ok, _ := path.Match(g, k); ok {
				out[k] = v
				break
			}
		}
	}
	return out
}
