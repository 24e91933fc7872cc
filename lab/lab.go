// Package lab stands up and tears down an OMS lab on one machine: a MariaDB MetaDB
// (lab/mariadb), one real sshd per node on its own loopback address (lab/sshd), the simulator's
// images (lab/images), one config.yaml per region, the old OMS containers started as the guide
// starts them, seeded MetaDB content, and an inventory in omsbook's format that describes it
// all. It is the Go API behind `omslab up|down|status` and the lab's integration tests.
//
// Several labs can run at once when their instance names and addresses differ: the name
// prefixes their databases, containers and state directory. The default instance ("default")
// is the one `make lab-up` brings up, on 127.0.0.11.. with inventories/lab.yml.
//
// Up records every id it starts (container ids, sshd pids) in <Dir>/state.json as soon as it
// has it, so Down, from this process or another one (Load), stops exactly what Up started.
//
// Files. The lab state root is $OMSBOOK_LAB_DIR, default /var/tmp/omsbook-lab (MariaDB drops
// root, so the root must be traversable by the mysql user: not a 0700 test temp dir):
//
//	mariadb/                     the MetaDB server's datadir, socket, pid file, log (lab/mariadb)
//	packages/oms_<v>-ce.tar      installation packages written by docker save (lab/images)
//	<name>.lock                  serialises Up and Down of instance <name>
//	<name>/state.json            what Up started: container ids, sshd pids, names, paths
//	<name>/sshd/                 known_hosts, client_ed25519 (root's key on every node), nodeN/
//	<name>/regions/<r>/config.yaml   a region's config.yaml (shared by its nodes)
//	<name>/nodes/<node>/{logs,store,run}  a node's mounts (+ config.yaml with PerNodeConfig)
//	<name>/nodes/<node>/run/omssim-faults/<fault>  the simulator's fault switches (SetFault)
//	<name>/nodes/<node>/run/omssim-profile  the simulator's profile (Config.Profile)
//	<name>/bin/docker-recorder   the inventory's docker_cmd: logs each call, execs docker
//	<name>/docker-argv.log       the recorder's log, one JSON line per call (DockerArgv)
//	<name>/backups/              backup_root of the inventory: the playbooks' dumps
//	<name>/inventory.yml         the inventory of an instance other than the default
//
// Containers carry the label org.omsbook.lab=<name> and are named <node>_<vtag> (oms-hz-1_422,
// and oms-hz-1_423 for the upgrade's new one), prefixed "<name>_" for instances other than the
// default, as are the databases (rm_422, cm_422, cm_hb_422_<n>).
package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/lab/images"
	"github.com/omsbook/omsbook/lab/mariadb"
	"github.com/omsbook/omsbook/lab/omssim"
	"github.com/omsbook/omsbook/lab/sshd"
)

// Config says which lab to bring up. The zero value is the default lab.
type Config struct {
	// Name is the instance name ("" means DefaultName): lower-case letters and digits.
	Name string `json:"name"`
	// Dir is the instance's state directory; default <RootDir>/<Name>.
	Dir string `json:"dir"`
	// RootDir is the lab state root shared by every instance: MariaDB's files, the images'
	// build state and the installation packages. Default: mariadb.StateDir()
	// ($OMSBOOK_LAB_DIR or /var/tmp/omsbook-lab).
	RootDir string `json:"root_dir"`
	// Regions lists the regions and their node counts; default DefaultRegions().
	Regions []Region `json:"regions"`
	// FirstIP is the first node's loopback address; the others follow it. Default 127.0.0.11.
	FirstIP string `json:"first_ip"`
	// SSHPort is every node's sshd port; default 2222.
	SSHPort int `json:"ssh_port"`
	// StartVersion is the version deployed: "4.2.2" (default) or "4.1.0".
	StartVersion string `json:"start_version"`
	// WithoutOMSVersionTable drops rm's oms_version table after the deploy, reproducing the
	// guide's "Version before 4.1.1 is not allowed to upgrade." case.
	WithoutOMSVersionTable bool `json:"without_oms_version_table"`
	// SeedRows is about how many rows of migration projects and heartbeat sequence to seed in
	// all; default 3000.
	SeedRows int `json:"seed_rows"`
	// PerNodeConfig gives each node its own config.yaml instead of one per region (then
	// docker_init.sh runs on every node).
	PerNodeConfig bool `json:"per_node_config"`
	// OwnMetaDBPort, when not 0, gives the lab a MariaDB server of its own on this port, with its
	// files in the lab's directory, so that a test may restart it (RestartMetaDB); 0 means the
	// server on 3306 that every lab shares.
	OwnMetaDBPort int `json:"own_metadb_port,omitempty"`
	// SSLMounts deploys the old containers with the console's SSL certificate and key mounted
	// (the guide's optional -v https_crt:/etc/pki/nginx/oms_server.crt and https_key), from
	// files in each node's mount directory.
	SSLMounts bool `json:"ssl_mounts"`
	// Profile is the simulator's profile on every node: "" (the default profile) or "strict"
	// (only confirmed behaviour: lab/README.md, "Profiles"). Up writes it to each node's
	// run/omssim-profile, which the containers the playbooks start on the same mounts read
	// too.
	Profile string `json:"profile,omitempty"`
	// StrictStartup is how long a strict console takes to start (the product takes minutes,
	// the guide sleeps 300 s); default 8s for the lab. Strict only.
	StrictStartup time.Duration `json:"strict_startup,omitempty"`
	// InventoryPath is where the inventory is written; default inventories/lab.yml of the
	// source tree for the default instance, <Dir>/inventory.yml for the others.
	InventoryPath string `json:"inventory_path"`
	// ModuleRoot is the omsbook source tree (images build the simulator from it); default: the
	// tree this package was compiled from.
	ModuleRoot string `json:"module_root"`
	// Log receives one line per step (nil: none).
	Log io.Writer `json:"-"`
}

// Lab is a lab that Up brought up (or Load re-opened). Its exported fields are its state, as
// saved in <Dir>/state.json.
type Lab struct {
	Name       string        `json:"name"`
	Dir        string        `json:"dir"`
	Version    string        `json:"version"`     // the deployed (old) version
	NewVersion string        `json:"new_version"` // the version the playbooks upgrade to
	Regions    []*RegionInfo `json:"regions"`
	Nodes      []*Node       `json:"nodes"`
	DB         DBNames       `json:"db"`
	MetaDB     MetaDB        `json:"metadb"`
	// InventoryPath is the inventory written for this lab.
	InventoryPath string `json:"inventory_path"`
	SSHPort       int    `json:"ssh_port"`
	KnownHosts    string `json:"known_hosts"` // every node's host key
	ClientKey     string `json:"client_key"`  // the key root logs in with on every node
	PackageDir    string `json:"package_dir"` // installation packages (docker save files)
	BackupRoot    string `json:"backup_root"` // the playbooks' dump directory on the controller
	// Privileged reports whether the containers run with --privileged=true, as the guide
	// starts them. Some Docker Engines (one nested in a container, say) refuse privileged
	// containers; the lab then starts them without it and says so in the inventory variable
	// oms_privileged, which the playbooks pass on to the new containers.
	Privileged bool `json:"privileged"`
	// MariaDBStarted reports whether the lab started MariaDB (rather than reusing one).
	MariaDBStarted bool   `json:"mariadb_started"`
	Config         Config `json:"config"`

	cluster *sshd.Cluster // the nodes' sshd, when Up ran in this process
	saveMu  sync.Mutex
	log     io.Writer
}

// RegionInfo is one region of a lab.
type RegionInfo struct {
	Name        string `json:"name"`
	Location    int    `json:"location"`   // cm_location
	IsDefault   bool   `json:"is_default"` // cm_is_default
	HeartbeatDB string `json:"heartbeat_db"`
	// SharedConfig: the region's nodes share ConfigFile; otherwise each node has its own.
	SharedConfig bool     `json:"shared_config"`
	ConfigFile   string   `json:"config_file,omitempty"`
	Nodes        []string `json:"nodes"` // node names, in order
}

// Node is one node of a lab.
type Node struct {
	Name         string `json:"name"`
	Region       string `json:"region"`
	IP           string `json:"ip"`
	OldContainer string `json:"old_container"`
	NewContainer string `json:"new_container"`
	// MountDir holds the node's logs/, store/ and run/ (mounted at /home/admin/logs,
	// /home/ds/store and /home/ds/run).
	MountDir   string `json:"mount_dir"`
	ConfigFile string `json:"config_file"` // mounted at /home/admin/conf/config.yaml
	// ContainerID is the id of the old container Up started.
	ContainerID string `json:"container_id,omitempty"`
	// SSHPid is the node's sshd pid; SSHConfig its sshd_config (a recorded pid is only
	// signalled while its command line still names this file).
	SSHPid    int    `json:"ssh_pid,omitempty"`
	SSHConfig string `json:"ssh_config,omitempty"`
}

// MetaDB is how to reach the lab's MetaDB.
type MetaDB struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// DefaultStrictStartup is the strict console's start-up time in a lab (the product's default
// in the simulator is omssim.StrictStartupDefault, 300 s).
const DefaultStrictStartup = 8 * time.Second

// ProfileLine is the content of every node's run/omssim-profile.
func (l *Lab) ProfileLine() string {
	if l.Config.Profile != omssim.ProfileStrict {
		return "default\n"
	}
	return fmt.Sprintf("strict startup=%s\n", l.Config.StrictStartup)
}

// healthTimeout bounds how long a fresh container of this lab may take to report healthy.
func (l *Lab) healthTimeout() time.Duration {
	return healthTimeout + l.Config.StrictStartup
}

// stateFile is the name of the state file in a lab's directory.
const stateFile = "state.json"

// WithDefaults returns cfg with every unset field given its default, and checks it.
func WithDefaults(cfg Config) (Config, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if !instanceName.MatchString(cfg.Name) {
		return cfg, fmt.Errorf("lab: instance name %q: use lower-case letters and digits, starting with a letter", cfg.Name)
	}
	if cfg.RootDir == "" {
		cfg.RootDir = mariadb.StateDir()
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(cfg.RootDir, cfg.Name)
	}
	var err error
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return cfg, fmt.Errorf("lab: state directory %s: %w", cfg.Dir, err)
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = DefaultRegions()
	}
	for _, r := range cfg.Regions {
		if !regionName.MatchString(r.Name) || r.Nodes < 1 {
			return cfg, fmt.Errorf("lab: region %q with %d node(s): need a lower-case name and at least one node", r.Name, r.Nodes)
		}
	}
	if cfg.FirstIP == "" {
		cfg.FirstIP = "127.0.0.11"
	}
	if cfg.SSHPort == 0 {
		cfg.SSHPort = sshd.DefaultPort
	}
	if cfg.StartVersion == "" {
		cfg.StartVersion = Version422
	}
	if cfg.StartVersion != Version422 && cfg.StartVersion != Version410 {
		return cfg, fmt.Errorf("lab: start version %q: the lab deploys %s or %s", cfg.StartVersion, Version422, Version410)
	}
	switch cfg.Profile {
	case omssim.ProfileDefault:
		if cfg.StrictStartup != 0 {
			return cfg, fmt.Errorf("lab: StrictStartup %s is for the strict profile only", cfg.StrictStartup)
		}
	case omssim.ProfileStrict:
		if cfg.StrictStartup == 0 {
			cfg.StrictStartup = DefaultStrictStartup
		}
		if cfg.StrictStartup < 0 {
			return cfg, fmt.Errorf("lab: StrictStartup %s is negative", cfg.StrictStartup)
		}
	default:
		return cfg, fmt.Errorf("lab: profile %q: want \"\" (default) or %q", cfg.Profile, omssim.ProfileStrict)
	}
	if cfg.SeedRows <= 0 {
		cfg.SeedRows = 3000
	}
	if cfg.ModuleRoot == "" {
		cfg.ModuleRoot = moduleRoot()
	}
	if cfg.InventoryPath == "" {
		if cfg.Name == DefaultName && cfg.ModuleRoot != "" {
			cfg.InventoryPath = filepath.Join(cfg.ModuleRoot, "inventories", "lab.yml")
		} else {
			cfg.InventoryPath = filepath.Join(cfg.Dir, "inventory.yml")
		}
	}
	return cfg, nil
}

// moduleRoot is the omsbook source tree this package was compiled from or, for a binary
// built with -trimpath, the one the working directory is in; "" when there is none.
func moduleRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
		if isOmsbookRoot(root) {
			return root
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isOmsbookRoot(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isOmsbookRoot reports whether dir holds omsbook's go.mod.
func isOmsbookRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && strings.Contains(string(b), "module github.com/omsbook/omsbook\n")
}

// Plan computes the lab Up would bring up, with every name, address and path, without
// touching anything.
func Plan(cfg Config) (*Lab, error) {
	cfg, err := WithDefaults(cfg)
	if err != nil {
		return nil, err
	}
	l, err := layout(cfg)
	if err != nil {
		return nil, err
	}
	l.MetaDB = MetaDB{Host: mariadb.Host, Port: mariadb.Port, User: mariadb.User, Password: mariadb.Password}
	if l.Config.OwnMetaDBPort != 0 {
		l.MetaDB.Port = l.Config.OwnMetaDBPort
	}
	return l, nil
}

// Load re-opens the lab whose state directory is dir, from its state.json.
func Load(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("lab: no lab in %s (no %s): bring one up with `omslab up`: %w", dir, stateFile, err)
		}
		return nil, fmt.Errorf("lab: read state: %w", err)
	}
	l := &Lab{}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("lab: %s is damaged (%w): remove the lab's containers and processes by hand, then the directory", filepath.Join(dir, stateFile), err)
	}
	return l, nil
}

// save writes the lab's state atomically.
func (l *Lab) save() error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: encode state: %w", err)
	}
	path := filepath.Join(l.Dir, stateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("lab: write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("lab: write state: %w", err)
	}
	return nil
}

// SetLog sends the lab's progress lines and warnings to w (nil: nowhere). Up uses
// Config.Log; a lab re-opened with Load starts silent.
func (l *Lab) SetLog(w io.Writer) { l.log = w }

func (l *Lab) logf(format string, args ...any) {
	if l.log != nil {
		fmt.Fprintf(l.log, "lab %s: "+format+"\n", append([]any{l.Name}, args...)...)
	}
}

// Node returns the node called name, or nil.
func (l *Lab) Node(name string) *Node {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Region returns the region called name, or nil.
func (l *Lab) Region(name string) *RegionInfo {
	for _, r := range l.Regions {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// RegionNodes lists the nodes of a region, in order.
func (l *Lab) RegionNodes(region string) []*Node {
	var out []*Node
	for _, n := range l.Nodes {
		if n.Region == region {
			out = append(out, n)
		}
	}
	return out
}

// mustNode returns the node called name or an error naming the nodes there are.
func (l *Lab) mustNode(name string) (*Node, error) {
	if n := l.Node(name); n != nil {
		return n, nil
	}
	var names []string
	for _, n := range l.Nodes {
		names = append(names, n.Name)
	}
	return nil, fmt.Errorf("lab %s: no node %q (nodes: %s)", l.Name, name, strings.Join(names, ", "))
}

// Image is the image tag of a version.
func imageTag(version string) string { return images.Tag(version) }

// PackagePath is the installation package (docker save file) of a version.
func (l *Lab) PackagePath(version string) string {
	return filepath.Join(l.PackageDir, images.PackageName(version))
}

// RestartMetaDB stops the lab's own MariaDB server (Config.OwnMetaDBPort) and starts it again,
// as an operator's or a crash's restart does: every client connection is cut.
func (l *Lab) RestartMetaDB(ctx context.Context) error {
	if l.Config.OwnMetaDBPort == 0 {
		return fmt.Errorf("lab %s: no MariaDB of its own to restart (set OwnMetaDBPort)", l.Name)
	}
	if err := mariadb.StopAt(ctx, l.Dir); err != nil {
		return err
	}
	_, err := mariadb.EnsureAt(ctx, l.Dir, l.Config.OwnMetaDBPort)
	return err
}

// MetaDBServer is the MetaDB as a mariadb.Server, for DSNs and connections.
func (l *Lab) MetaDBServer() *mariadb.Server {
	return &mariadb.Server{Host: l.MetaDB.Host, Port: l.MetaDB.Port, User: l.MetaDB.User, Password: l.MetaDB.Password}
}

// sameConfig reports whether two defaulted configs describe the same lab.
func sameConfig(a, b Config) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// since formats the time since start for progress lines.
func since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }
