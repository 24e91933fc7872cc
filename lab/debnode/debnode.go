// Package debnode builds a Debian node image from Debian's packages and runs target nodes from
// it, for the tests of the modules that change users, packages, services and system settings:
// they change a container, never the machine the tests run on.
//
// Build runs mmdebstrap (Debian's package mmdebstrap) for bookworm with openssh-server, sudo,
// cron, procps, iproute2, systemd and a few tools into a root file system tarball, and imports
// it with `docker import` as Tag. The image carries a hash of its inputs (the suite, the
// package list, the customize script, this package's format version) as label LabelInputs and
// is rebuilt only when that hash changes; concurrent builds are serialised by a flock on
// <CacheDir>/debnode.lock. The image has no apt sources, so nothing a test does reaches the
// network.
//
// Start runs one container per loopback address with `--network host`: each node's sshd
// listens on its own loopback address and port (addr:2222), so that every packet of a test
// stays on loopback; containers are never reached through Docker's bridge. Each node has its
// own ed25519 host key, listed in a known_hosts file, and one client key authorized for root
// through /etc/ssh/omsbook_authorized_keys (so that a test may rewrite root's own
// ~/.ssh/authorized_keys without locking itself out). Nodes run a shell as PID 1 that starts
// sshd and cron through their sysvinit scripts (/etc/init.d), unless Config.Systemd asks for
// systemd as PID 1 (see SystemdAvailable). Containers carry the label LabelNode and the pid of
// the process that started them; Sweep removes those whose process is gone.
//
// Addresses: the module tests use 127.0.5.1-127.0.5.19 port 2222.
package debnode

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/omsbook/omsbook/internal/flockwait"
	"github.com/omsbook/omsbook/lab/sshd"
)

// Tag is the node image's name.
const Tag = "omsbook-debnode:bookworm"

// Labels the image and the containers carry.
const (
	LabelInputs = "org.omsbook.debnode.inputs" // hash of the image's inputs
	LabelNode   = "org.omsbook.debnode"        // on every node container
	LabelPid    = "org.omsbook.debnode.pid"    // the pid of the process that started it
)

// Suite and Mirror are what the image is built from.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// formatVersion changes whenever the way the image is made changes.
const formatVersion = "debnode v1"

// Packages are installed into the image on top of mmdebstrap's apt variant.
var Packages = []string{
	"openssh-server", "sudo", "cron", "procps", "iproute2", "systemd", "systemd-sysv", "dbus",
	"passwd", "adduser", "apt-utils", "ca-certificates", "less",
}

// customize runs in the root file system after the packages are installed ($1 is its path).
const customize = `set -e
root="$1"
# No apt sources: the tests install from a file: repository of their own.
rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
# The node's sshd is configured at start (ListenAddress on its own loopback address).
rm -f "$root"/etc/ssh/ssh_host_*
# systemd in a container: nothing that needs a real machine.
# systemd-sysctl and binfmt would write kernel settings that are not namespaced (fs.*), and
# those of the host's network namespace (net.*), when a node's /proc/sys is writable.
for u in systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
  systemd-modules-load.service systemd-timesyncd.service getty@tty1.service console-getty.service systemd-logind.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
echo debnode > "$root"/etc/hostname
cat > "$root"/usr/local/sbin/omsbook-node-init <<'EOF'
#!/bin/sh
# PID 1 of a node without systemd: sshd and cron through their sysvinit scripts.
/etc/init.d/ssh start
/etc/init.d/cron start
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
EOF
chmod 755 "$root"/usr/local/sbin/omsbook-node-init
`

// Inputs is the hash of everything the image is made of.
func Inputs() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s", formatVersion, Suite, Mirror, strings.Join(Packages, ","), customize)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Available says why nodes cannot run here, or nil.
func Available(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("the docker client is not installed")
	}
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Errorf("the Docker Engine does not answer: %s", strings.TrimSpace(string(out)))
	}
	if imageInputs(ctx) == Inputs() {
		return nil
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return errors.New("mmdebstrap is not installed (Debian package mmdebstrap; lab/deps.sh installs it)")
	}
	if os.Geteuid() != 0 {
		return errors.New("building the node image needs root (mmdebstrap in root mode)")
	}
	return nil
}

func imageInputs(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format",
		"{{ index .Config.Labels \""+LabelInputs+"\" }}", Tag).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// CacheDir is where the lock file and the build's scratch space live.
func CacheDir() string {
	if d := os.Getenv("OMSBOOK_DEBNODE_CACHE"); d != "" {
		return d
	}
	return "/var/tmp/omsbook-debnode"
}

// Build makes sure Tag is built from the current inputs. It reports whether it built it.
func Build(ctx context.Context) (built bool, err error) {
	want := Inputs()
	if imageInputs(ctx) == want {
		return false, nil
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("debnode: %w", err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, "debnode.lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	if imageInputs(ctx) == want { // another process built it while we waited
		return false, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return false, fmt.Errorf("debnode: %w", err)
	}
	defer os.RemoveAll(tmp)
	hook := filepath.Join(tmp, "customize.sh")
	if err := os.WriteFile(hook, []byte(customize), 0o755); err != nil {
		return false, fmt.Errorf("debnode: %w", err)
	}
	tarball := filepath.Join(tmp, "rootfs.tar")
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=apt", "--mode=root",
		"--include="+strings.Join(Packages, ","),
		"--customize-hook=sh "+hook+` "$1"`,
		Suite, tarball, Mirror)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("debnode: mmdebstrap %s: %w\n%s", Suite, err, lastLines(string(out), 20))
	}
	imp := exec.CommandContext(ctx, "docker", "import",
		"--change", "LABEL "+LabelInputs+"="+want,
		"--change", `CMD ["/usr/local/sbin/omsbook-node-init"]`,
		"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		tarball, Tag)
	if out, err := imp.CombinedOutput(); err != nil {
		return false, fmt.Errorf("debnode: docker import: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return true, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lock(ctx context.Context, path string) (func(), error) {
	release, err := flockwait.Acquire(ctx, path, 100*time.Millisecond, "another build of the node image")
	if err != nil {
		return nil, fmt.Errorf("debnode: %w", err)
	}
	return release, nil
}

// Config says which nodes to start.
type Config struct {
	// Dir holds the keys and known_hosts. Required.
	Dir string
	// Addrs are loopback addresses, one node each.
	Addrs []string
	// Port is sshd's port on every node; 0 means 2222.
	Port int
	// NamePrefix names the nodes (default "debnode").
	NamePrefix string
	// Systemd boots /lib/systemd/systemd as PID 1 instead of the sysvinit shell.
	Systemd bool
	// WritableProcSys mounts /proc/sys read-write (security-opt systempaths=unconfined), for
	// the sysctl tests. Only the kernel settings of the node's own IPC and UTS namespaces
	// (kernel.msg*, kernel.shm*, kernel.sem, kernel.hostname) may be written there: with host
	// networking net.* are the host's, and fs.*, vm.* and most kernel.* are global.
	WritableProcSys bool
}

// Cluster is a set of running nodes.
type Cluster struct {
	Nodes      []*Node
	KnownHosts string
	ClientKey  string
	User       string
}

// Node is one running node container.
type Node struct {
	Name      string
	Container string
	Addr      string
	Port      int
	Systemd   bool
	procSys   bool
}

// Address is "addr:port".
func (n *Node) Address() string { return net.JoinHostPort(n.Addr, strconv.Itoa(n.Port)) }

// Exec runs a shell line in the node with docker exec (the test's hand on the node, not
// omsbook's), returning its combined output.
func (n *Node) Exec(ctx context.Context, line string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "exec", n.Container, "sh", "-c", line).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker exec %s %q: %w: %s", n.Container, line, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Start builds the image if needed and starts the nodes; on error it removes what it started.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" || len(cfg.Addrs) == 0 {
		return nil, errors.New("debnode: Config.Dir and Config.Addrs are required")
	}
	if cfg.Port == 0 {
		cfg.Port = 2222
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "debnode"
	}
	_ = Sweep(ctx)
	if _, err := Build(ctx); err != nil {
		return nil, err
	}
	c := &Cluster{KnownHosts: filepath.Join(cfg.Dir, "known_hosts"), ClientKey: filepath.Join(cfg.Dir, "client_ed25519"), User: "root"}
	clientPub, err := writeKey(c.ClientKey)
	if err != nil {
		return nil, err
	}
	var known strings.Builder
	for i, addr := range cfg.Addrs {
		if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("debnode: %q is not a loopback address", addr)
		}
		n := &Node{Name: cfg.NamePrefix + strconv.Itoa(i+1), Addr: addr, Port: cfg.Port, Systemd: cfg.Systemd, procSys: cfg.WritableProcSys}
		n.Container = "omsbook-debnode-" + strings.ReplaceAll(addr, ".", "-")
		hostKey := filepath.Join(cfg.Dir, n.Name+"_host_ed25519")
		hostPub, err := writeKey(hostKey)
		if err != nil {
			_ = c.Stop()
			return nil, err
		}
		known.WriteString(sshd.KnownHostsLine(addr, n.Port, hostPub) + "\n")
		if err := startNode(ctx, n, hostKey, clientPub); err != nil {
			_ = c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := os.WriteFile(c.KnownHosts, []byte(known.String()), 0o644); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("debnode: %w", err)
	}
	for _, n := range c.Nodes {
		if err := waitSSH(ctx, n); err != nil {
			_ = c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func writeKey(path string) (ssh.PublicKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "omsbook-debnode")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("debnode: %w", err)
	}
	return ssh.NewPublicKey(priv.Public())
}

// SystemdArgs are the docker run options under which systemd runs as PID 1 without
// --privileged on a cgroup v1 engine.
var SystemdArgs = []string{
	"--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
	"-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
	"--cap-add", "SYS_ADMIN", "-e", "container=docker", "--stop-signal", "SIGRTMIN+3",
}

func startNode(ctx context.Context, n *Node, hostKey string, clientPub ssh.PublicKey) error {
	_ = exec.CommandContext(ctx, "docker", "rm", "-f", n.Container).Run()
	args := []string{"create", "--name", n.Container, "--network", "host",
		"--label", LabelNode + "=1", "--label", LabelPid + "=" + strconv.Itoa(os.Getpid()),
		// sethostname (hostname module) in the node's own UTS namespace: Docker gives the
		// container its own UTS and IPC namespaces also with host networking.
		"--hostname", n.Name, "--cap-add", "SYS_ADMIN",
	}
	if n.procSys {
		args = append(args, "--security-opt", "systempaths=unconfined")
	}
	cmd := []string{}
	if n.Systemd {
		args = append(args, SystemdArgs...)
		cmd = []string{"/lib/systemd/systemd"}
	}
	args = append(args, Tag)
	args = append(args, cmd...)
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("debnode: docker create %s: %w: %s", n.Container, err, strings.TrimSpace(string(out)))
	}
	dir, err := os.MkdirTemp("", "debnode-files-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key, err := os.ReadFile(hostKey)
	if err != nil {
		return err
	}
	conf := strings.Join([]string{
		"# written by omsbook lab/debnode",
		"ListenAddress " + n.Address(),
		"HostKey /etc/ssh/ssh_host_ed25519_key",
		"AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/omsbook_authorized_keys",
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM yes",
		"PrintMotd no",
		"UseDNS no",
		"MaxSessions 64",
		"MaxStartups 100",
		"Subsystem sftp internal-sftp",
	}, "\n") + "\n"
	files := map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"sshd_config":             {[]byte(conf), 0o644},
		"ssh_host_ed25519_key":    {key, 0o600},
		"omsbook_authorized_keys": {ssh.MarshalAuthorizedKey(clientPub), 0o644},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, "docker", "cp", p, n.Container+":/etc/ssh/"+name).CombinedOutput(); err != nil {
			return fmt.Errorf("debnode: docker cp %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.CommandContext(ctx, "docker", "start", n.Container).CombinedOutput(); err != nil {
		return fmt.Errorf("debnode: docker start %s: %w: %s", n.Container, err, strings.TrimSpace(string(out)))
	}
	// Docker bind-mounts /etc/hostname, which then cannot be replaced (hostnamectl renames a
	// new file over it): the node gets a file of its own, as a machine has.
	fix := "umount /etc/hostname 2>/dev/null; echo " + n.Name + " > /etc/hostname"
	if out, err := exec.CommandContext(ctx, "docker", "exec", n.Container, "sh", "-c", fix).CombinedOutput(); err != nil {
		return fmt.Errorf("debnode: %s: own /etc/hostname: %w: %s", n.Container, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func waitSSH(ctx context.Context, n *Node) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.Address(), time.Second)
		if err == nil {
			buf := make([]byte, 4)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, rerr := c.Read(buf)
			c.Close()
			if rerr == nil && string(buf) == "SSH-" {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logs, _ := exec.Command("docker", "logs", "--tail", "30", n.Container).CombinedOutput()
			return fmt.Errorf("debnode: %s (%s) does not answer ssh: %v\n%s", n.Name, n.Address(), err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop removes the nodes' containers.
func (c *Cluster) Stop() error {
	var errs []error
	for _, n := range c.Nodes {
		if out, err := exec.Command("docker", "rm", "-f", "-v", n.Container).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("debnode: docker rm %s: %w: %s", n.Container, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// Sweep removes node containers left behind by processes that are gone.
func Sweep(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+LabelNode,
		"--format", "{{.ID}} {{.Label \""+LabelPid+"\"}}").Output()
	if err != nil {
		return fmt.Errorf("debnode: docker ps: %w", err)
	}
	var stale []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pid := 0
		if len(f) > 1 {
			pid, _ = strconv.Atoi(f[1])
		}
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			continue
		}
		stale = append(stale, f[0])
	}
	if len(stale) == 0 {
		return nil
	}
	return exec.CommandContext(ctx, "docker", append([]string{"rm", "-f", "-v"}, stale...)...).Run()
}
