// Package sshd starts real OpenSSH servers on loopback addresses, one per node, for the
// transport tests, the OMS lab, the runner and CLI tests and the benchmark.
//
// Every node is a separate /usr/sbin/sshd -D -e -f <config> listening on its own address and
// port, with its own ed25519 host key. One generated ed25519 client key is authorized for the
// configured user on every node, and a known_hosts file lists every node's host key, so the
// client side can verify host keys exactly as it would in production.
//
// State lives under Config.Dir:
//
//	client_ed25519, client_ed25519.pub   the client key (OpenSSH format, no passphrase)
//	authorized_keys                      the client public key
//	known_hosts                          "[addr]:port key" for every node (plain "addr" for port 22)
//	<node>/ssh_host_ed25519_key          the node's host key
//	<node>/sshd_config, sshd.pid, sshd.log
//
// Root's shell start-up files on the build machines are slow (pyenv in ~/.bashrc costs about
// 170 ms per command). So that commands run as root start cleanly, and without editing the
// machine's files, each sshd runs in a private mount namespace (unshare -m) where /dev/null is
// bound over /root/.bashrc, /root/.profile and friends. Nothing outside the namespace changes.
//
// Start needs root: sshd's privilege separation and logins as other users require it. It also
// creates sshd's empty privilege separation directory /run/sshd when missing. Available reports
// whether the machine can run the nodes; tests skip with its reason (and fail when CI=true).
//
// Typical use in a test:
//
//	c, err := sshd.Start(ctx, sshd.Config{Dir: t.TempDir(), Addrs: []string{"127.0.0.101"}, Port: 2222})
//	defer c.Stop()
//	// dial c.Nodes[0].Addr:c.Nodes[0].Port as c.User with key c.ClientKey, verifying c.KnownHosts
//
// Nodes run in their own process group and outlive a crashed caller; StopDir(dir) stops the
// nodes of a state dir from their pid files (lab-down). StopNode/StartNode restart one node;
// FreezeNode/ThawNode make one stop answering without closing connections. EnsureUser creates
// the local test user (TestUser, TestUserPassword) for become tests.
//
// Addresses and ports are shared machine-wide: each package's tests use their own. This
// package's tests use 127.0.0.101-103 port 2223 (and, opt-in, 127.0.1.x port 2229); the
// transport tests 127.0.0.101-103 port 2222, 127.0.0.103 port 2225, 127.0.0.104 port 2226 and
// 127.0.0.105 port 22.
package sshd

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHDPath is the OpenSSH server binary the nodes run.
const SSHDPath = "/usr/sbin/sshd"

// privsepDir is the empty directory sshd chroots its unprivileged child into.
const privsepDir = "/run/sshd"

// DefaultPort is the port every node listens on unless Config.Port says otherwise.
const DefaultPort = 2222

// startConcurrency bounds how many nodes start at once, so that 200 nodes start on two cores
// without timing out.
const startConcurrency = 16

// startTimeout bounds how long one node may take to accept connections.
const startTimeout = 20 * time.Second

// Config says which nodes to start.
type Config struct {
	// Dir is the state directory (keys, configs, pid files, logs). It is created if missing.
	// Starting twice with the same Dir reuses its client key, so known clients stay trusted.
	Dir string
	// Addrs are the loopback addresses to listen on, one node per address, e.g. 127.0.0.101.
	Addrs []string
	// Port is the port every node listens on; 0 means DefaultPort (2222).
	Port int
	// User is the login user the client key is authorized for; "" means root. Key logins are
	// accepted for any user, but User is what Cluster.User reports and what PermitRootLogin
	// and password auth are set up for.
	User string
	// Password, when set, also enables password authentication. sshd checks it against the
	// system's password database (UsePAM no), so the user must have this password, e.g. one
	// created by EnsureUser. For root, PermitRootLogin becomes "yes".
	Password string
	// NamePrefix names the nodes NamePrefix1, NamePrefix2, ...; "" means "node".
	NamePrefix string
	// ExtraConfig lines are appended to every node's sshd_config (e.g. HostCertificate).
	ExtraConfig []string
	// Setup is shell commands run inside each node's private mount namespace before sshd
	// starts (e.g. a tmpfs or bind mounts that only the node's sessions see). They must not
	// change anything outside the namespace.
	Setup []string
}

// Cluster is a set of running nodes.
type Cluster struct {
	Nodes      []*Node
	Dir        string
	KnownHosts string // path of the known_hosts file listing every node's host key
	ClientKey  string // path of the client's private key (ed25519, OpenSSH format)
	User       string // login user the client key is meant for
	Port       int

	cfg Config
}

// Node is one sshd.
type Node struct {
	Name string
	Addr string
	Port int
	// HostKeyFingerprint is the SHA256 fingerprint of the node's host key, as ssh-keygen -l
	// prints it ("SHA256:...").
	HostKeyFingerprint string
	// HostKeyLine is the node's known_hosts line.
	HostKeyLine string
	Dir         string // the node's state directory
	LogFile     string // sshd's log (-e sends it to stderr, captured here)

	mu   sync.Mutex
	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed when the sshd process has been reaped
}

// Address returns "addr:port", ready for net.Dial.
func (n *Node) Address() string { return net.JoinHostPort(n.Addr, strconv.Itoa(n.Port)) }

// Pid returns the process id of the node's listening sshd, or 0 when it is stopped.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pid
}

// Available returns nil when this machine can run nodes, or an error that says why not.
func Available() error {
	if _, err := os.Stat(SSHDPath); err != nil {
		return fmt.Errorf("openssh server not installed (%s missing): install openssh-server", SSHDPath)
	}
	if os.Geteuid() != 0 {
		return errors.New("sshd test nodes need root (sshd privilege separation and logins as other users)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return errors.New("unshare (util-linux) not found: it gives each sshd a clean login environment")
	}
	return nil
}

// Start starts one sshd per address and waits until each accepts SSH connections. On error,
// every node it started is stopped again.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, errors.New("sshd: Config.Dir is empty: give a state directory")
	}
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("sshd: Config.Addrs is empty: give at least one loopback address")
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "node"
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("sshd: state dir %s: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sshd: create state dir: %w", err)
	}
	c := &Cluster{
		Dir:        dir,
		KnownHosts: filepath.Join(dir, "known_hosts"),
		ClientKey:  filepath.Join(dir, "client_ed25519"),
		User:       cfg.User,
		Port:       cfg.Port,
		cfg:        cfg,
	}
	// sshd refuses to start without its privilege separation directory, which systemd's
	// tmpfiles would create at boot; containers often lack it. It is empty and root-owned.
	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		return nil, fmt.Errorf("sshd: create %s: %w", privsepDir, err)
	}
	pub, err := ensureClientKey(c.ClientKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		return nil, fmt.Errorf("sshd: write authorized_keys: %w", err)
	}
	var known strings.Builder
	for i, addr := range cfg.Addrs {
		n, err := c.prepareNode(i, addr)
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
		known.WriteString(n.HostKeyLine)
		known.WriteByte('\n')
	}
	if err := os.WriteFile(c.KnownHosts, []byte(known.String()), 0o644); err != nil {
		return nil, fmt.Errorf("sshd: write known_hosts: %w", err)
	}

	sem := make(chan struct{}, startConcurrency)
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = c.StartNode(ctx, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// ensureClientKey loads the client key at path, or generates and writes one.
func ensureClientKey(path string) (ssh.PublicKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("sshd: client key %s: %w (delete it to generate a new one)", path, err)
		}
		return signer.PublicKey(), nil
	}
	pub, _, err := writeKey(path, "omsbook-lab-client")
	return pub, err
}

// writeKey generates an ed25519 key and writes it (0600) and its .pub (0644) to path.
func writeKey(path, comment string) (ssh.PublicKey, ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("sshd: generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, fmt.Errorf("sshd: encode key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, nil, fmt.Errorf("sshd: write key: %w", err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("sshd: public key: %w", err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		return nil, nil, fmt.Errorf("sshd: write public key: %w", err)
	}
	return pub, priv, nil
}

// prepareNode writes node i's host key and sshd_config.
func (c *Cluster) prepareNode(i int, addr string) (*Node, error) {
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sshd: address %q is not a loopback IP: test nodes listen on 127.0.0.0/8 only", addr)
	}
	n := &Node{
		Name: c.cfg.NamePrefix + strconv.Itoa(i+1),
		Addr: addr,
		Port: c.cfg.Port,
	}
	n.Dir = filepath.Join(c.Dir, n.Name)
	n.LogFile = filepath.Join(n.Dir, "sshd.log")
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sshd: node dir: %w", err)
	}
	hostKey := filepath.Join(n.Dir, "ssh_host_ed25519_key")
	pub, err := loadOrWriteHostKey(hostKey)
	if err != nil {
		return nil, err
	}
	n.HostKeyFingerprint = ssh.FingerprintSHA256(pub)
	n.HostKeyLine = KnownHostsLine(addr, n.Port, pub)
	if err := os.WriteFile(filepath.Join(n.Dir, "sshd_config"), []byte(c.sshdConfig(n, hostKey)), 0o644); err != nil {
		return nil, fmt.Errorf("sshd: write sshd_config: %w", err)
	}
	return n, nil
}

// loadOrWriteHostKey keeps a node's host key across restarts of the same state dir, so the
// known_hosts of earlier runs stays valid.
func loadOrWriteHostKey(path string) (ssh.PublicKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		if signer, err := ssh.ParsePrivateKey(b); err == nil {
			return signer.PublicKey(), nil
		}
	}
	pub, _, err := writeKey(path, "omsbook-lab-host")
	return pub, err
}

// KnownHostsLine formats a known_hosts line for a host key: "[addr]:port type key" when port
// is not 22, "addr type key" otherwise.
func KnownHostsLine(addr string, port int, key ssh.PublicKey) string {
	host := addr
	if port != 22 {
		host = "[" + addr + "]:" + strconv.Itoa(port)
	}
	return host + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

func (c *Cluster) sshdConfig(n *Node, hostKey string) string {
	rootLogin := "prohibit-password"
	passwordAuth := "no"
	if c.cfg.Password != "" {
		passwordAuth = "yes"
		if c.cfg.User == "root" {
			rootLogin = "yes"
		}
	}
	authorized := filepath.Join(c.Dir, "authorized_keys")
	lines := []string{
		"# written by omsbook lab/sshd for node " + n.Name,
		"ListenAddress " + n.Address(),
		"HostKey " + hostKey,
		"PidFile " + filepath.Join(n.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + authorized,
		// Users other than root may not be able to read a file under the state dir (test
		// temp dirs are 0700); the command runs as root and reads the same file.
		"AuthorizedKeysCommand " + catPath() + " " + authorized,
		"AuthorizedKeysCommandUser root",
		"StrictModes no",
		"PermitRootLogin " + rootLogin,
		"PubkeyAuthentication yes",
		"PasswordAuthentication " + passwordAuth,
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"PrintMotd no",
		"PrintLastLog no",
		"UseDNS no",
		"MaxSessions 64",
		"MaxStartups 200",
		"MaxAuthTries 20",
		"LoginGraceTime 30",
		"ClientAliveInterval 15",
		"ClientAliveCountMax 4",
		"LogLevel INFO",
		// curve25519 first: the OpenSSH default (sntrup761x25519) doubles handshake cost.
		"KexAlgorithms " + kexAlgorithms(),
		"Subsystem sftp internal-sftp",
		"AcceptEnv LANG LC_*",
	}
	lines = append(lines, c.cfg.ExtraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// preferredKex is the key exchange order the nodes offer: curve25519 first, because the
// OpenSSH default (sntrup761x25519) doubles the cost of a handshake.
var preferredKex = []string{
	"curve25519-sha256", "curve25519-sha256@libssh.org", "mlkem768x25519-sha256",
	"sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
	"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
}

var kexOnce = sync.OnceValue(func() string {
	// Older sshd refuse a config naming an algorithm they do not know (9.2 has no mlkem):
	// offer only what the installed OpenSSH supports.
	out, err := exec.Command("ssh", "-Q", "kex").Output()
	if err != nil {
		return "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256"
	}
	have := map[string]bool{}
	for _, k := range strings.Fields(string(out)) {
		have[k] = true
	}
	var list []string
	for _, k := range preferredKex {
		if have[k] {
			list = append(list, k)
		}
	}
	return strings.Join(list, ",")
})

func kexAlgorithms() string { return kexOnce() }

func catPath() string {
	for _, p := range []string{"/usr/bin/cat", "/bin/cat"} {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return "/bin/cat"
}

// cleanHomeFiles are root's shell start-up files hidden (bound to /dev/null) inside each
// node's mount namespace.
var cleanHomeFiles = []string{"/root/.bashrc", "/root/.profile", "/root/.bash_profile", "/root/.bash_login", "/root/.bash_logout"}

// launchScript runs inside the new mount namespace: hide the start-up files, run the setup
// commands, then become sshd (exec keeps the pid, so the recorded pid is sshd's).
func launchScript(config string, setup []string) string {
	var b strings.Builder
	b.WriteString("set -e; ")
	for _, f := range cleanHomeFiles {
		if _, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "mount --bind /dev/null %s; ", f)
		}
	}
	for _, cmd := range setup {
		b.WriteString(cmd + "; ")
	}
	fmt.Fprintf(&b, "exec %s -D -e -f %s", SSHDPath, config)
	return b.String()
}

// StartNode (re)starts node i and waits until it accepts SSH connections.
func (c *Cluster) StartNode(ctx context.Context, i int) error {
	if i < 0 || i >= len(c.Nodes) {
		return fmt.Errorf("sshd: no node %d (have %d)", i, len(c.Nodes))
	}
	n := c.Nodes[i]
	n.mu.Lock()
	if n.pid != 0 {
		n.mu.Unlock()
		return nil
	}
	// A leftover server on the address would answer the readiness probe in place of ours.
	if conn, err := net.DialTimeout("tcp", n.Address(), time.Second); err == nil {
		conn.Close()
		n.mu.Unlock()
		return fmt.Errorf("sshd: %s is already in use by another process (a leftover test node?): stop it or choose another address or port", n.Address())
	}
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.mu.Unlock()
		return fmt.Errorf("sshd: %s log: %w", n.Name, err)
	}
	config := filepath.Join(n.Dir, "sshd_config")
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "/bin/sh", "-c", launchScript(config, c.cfg.Setup))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C meant for the test run does not reach it, and Stop can
	// kill the listener together with the connection handlers it forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		n.mu.Unlock()
		return fmt.Errorf("sshd: start %s: %w", n.Name, err)
	}
	logf.Close()
	done := make(chan struct{})
	n.cmd, n.pid, n.done = cmd, cmd.Process.Pid, done
	n.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()

	if err := waitAccepting(ctx, n.Address(), done); err != nil {
		_ = c.StopNode(i)
		return fmt.Errorf("sshd: node %s on %s did not come up: %w (log: %s)", n.Name, n.Address(), err, tail(n.LogFile))
	}
	return nil
}

// waitAccepting waits until addr sends an SSH banner, the process exits, or time runs out.
func waitAccepting(ctx context.Context, addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	delay := 5 * time.Millisecond
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-") {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("sshd exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unreadable"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "empty"
	}
	return s
}

// StopNode stops node i: its listening sshd and every connection handler it forked, so that
// open connections to it break too. It waits until the listener is gone.
func (c *Cluster) StopNode(i int) error {
	if i < 0 || i >= len(c.Nodes) {
		return fmt.Errorf("sshd: no node %d (have %d)", i, len(c.Nodes))
	}
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pid == 0 {
		return nil
	}
	pid, done := n.pid, n.done
	// Connection handlers are children of the listener; session shells are their children.
	for _, p := range descendants(pid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("sshd: node %s (pid %d) did not exit after SIGKILL", n.Name, pid)
	}
	n.pid, n.cmd = 0, nil
	return nil
}

// Stop stops every node, by the pids it recorded.
func (c *Cluster) Stop() error {
	var errs []error
	for i := range c.Nodes {
		if err := c.StopNode(i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// descendants lists the process ids below pid, read from /proc, parents before their
// children: killing the connection handlers first makes clients see a dead host, not a
// command that was killed.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := parentPid(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, ch := range children[p] {
			out = append(out, ch)
			walk(ch)
		}
	}
	walk(pid)
	return out
}

// parentPid reads the parent pid from /proc/<pid>/stat ("pid (comm) state ppid ...").
func parentPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(fields[1])
	return pp
}

// Connections returns how many client connections node i is serving right now: each accepted
// connection is one direct child process of the listening sshd.
func (c *Cluster) Connections(i int) int {
	pid := c.Nodes[i].Pid()
	if pid == 0 {
		return 0
	}
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parentPid(p) == pid {
			n++
		}
	}
	return n
}

// FreezeNode makes node i stop answering without closing anything, as a hung host or a
// network partition would: it stops (SIGSTOP) the listening sshd and every process below it.
// ThawNode resumes them.
func (c *Cluster) FreezeNode(i int) error { return c.signalTree(i, syscall.SIGSTOP) }

// ThawNode resumes a node frozen by FreezeNode.
func (c *Cluster) ThawNode(i int) error { return c.signalTree(i, syscall.SIGCONT) }

func (c *Cluster) signalTree(i int, sig syscall.Signal) error {
	if i < 0 || i >= len(c.Nodes) {
		return fmt.Errorf("sshd: no node %d (have %d)", i, len(c.Nodes))
	}
	pid := c.Nodes[i].Pid()
	if pid == 0 {
		return fmt.Errorf("sshd: node %s is not running", c.Nodes[i].Name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("sshd: signal node %s: %w", c.Nodes[i].Name, err)
	}
	for _, p := range descendants(pid) {
		_ = syscall.Kill(p, sig)
	}
	return nil
}

// StopDir stops the nodes a Start with this state dir left running, for a process other than
// the one that started them (e.g. lab-down after lab-up). It reads each node's pid file and
// kills that pid only if it is still an sshd run with that node's config, so a reused pid is
// never hit. Nodes already stopped are skipped.
func StopDir(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("sshd: state dir %s: %w", dir, err)
	}
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "*", "sshd.pid"))
	var errs []error
	for _, pf := range pidFiles {
		b, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		config := filepath.Join(filepath.Dir(pf), "sshd_config")
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), config) {
			continue // not running, or the pid now belongs to something else
		}
		for _, p := range descendants(pid) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			errs = append(errs, fmt.Errorf("sshd: stop pid %d (%s): %w", pid, config, err))
			continue
		}
		for i := 0; i < 100 && processAlive(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		_ = os.Remove(pf)
	}
	return errors.Join(errs...)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if end := strings.LastIndexByte(s, ')'); end >= 0 {
		if f := strings.Fields(s[end+1:]); len(f) > 0 && f[0] == "Z" {
			return false
		}
	}
	return true
}
