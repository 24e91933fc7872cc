package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
)

// The security node is one real sshd on 127.0.0.104 port 2226 whose sessions see, in the
// node's private mount namespace only, users of their own: an overlay over /etc holds copies
// of /etc/passwd, /etc/group and /etc/shadow with two more users, and a sudo rule for them. Nothing outside the namespace changes: no user is created on the machine, no sudo rule
// is added to it. The node also has a 512 KiB tmpfs (to fill a disk that is not the
// machine's), a host certificate signed by a CA the test makes with ssh-keygen, and
// keyboard-interactive logins switched on, as PAM-less servers that list it have them.
const (
	secAddr = "127.0.0.104"
	secPort = 2226
	// secSudoUser may run anything through sudo after typing its password; secNoPwUser
	// without a password (NOPASSWD).
	secSudoUser = "omsbook-sudo"
	secNoPwUser = "omsbook-nopw"
)

type secLab struct {
	cluster  *sshd.Cluster
	dir      string
	password string // the login and sudo password of both users (random per run)
	small    string // the tmpfs, as the node's sessions see it
	caKey    string // the host CA's private key
	caPub    string // its public key, "ssh-ed25519 AAAA..."
}

var (
	secOnce sync.Once
	secNode *secLab
	secErr  error
)

// seclab returns the security node, starting it on first use; it skips (fails with CI=true)
// where the node cannot run.
func seclab(t *testing.T) *secLab {
	t.Helper()
	lab(t) // the same requirements, and the shared lab's skip messages
	for _, tool := range []string{"ssh-keygen", "openssl", "sudo", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "skipping: %s not installed (the security node needs it)", tool)
		}
	}
	secOnce.Do(func() { secNode, secErr = startSecLab() })
	if secErr != nil {
		t.Fatalf("start the security node: %v", secErr)
	}
	return secNode
}

func stopSecLab() {
	if secNode != nil {
		_ = secNode.cluster.Stop()
		os.RemoveAll(secNode.dir)
	}
}

func startSecLab() (*secLab, error) {
	dir, err := os.MkdirTemp("", "omsbook-transport-sec-")
	if err != nil {
		return nil, err
	}
	// The users' home directories are inside: they must be able to get there.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s := &secLab{dir: dir, password: "Sec-" + hex.EncodeToString(b), small: filepath.Join(dir, "small")}
	fail := func(err error) (*secLab, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	hash, err := cryptPassword(s.password)
	if err != nil {
		return fail(err)
	}
	etc := filepath.Join(dir, "etc")
	sudoers := filepath.Join(dir, "sudoers.d")
	for _, d := range []string{etc, sudoers, s.small, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	var passwd, group, shadow strings.Builder
	for i, name := range []string{secSudoUser, secNoPwUser} {
		uid, err := freeID(64100 + 10*i)
		if err != nil {
			return fail(err)
		}
		home := filepath.Join(dir, "home", name)
		if err := os.Mkdir(home, 0o755); err != nil {
			return fail(err)
		}
		if err := os.Chown(home, uid, uid); err != nil {
			return fail(err)
		}
		fmt.Fprintf(&passwd, "%s:x:%d:%d:omsbook test user:%s:/bin/sh\n", name, uid, uid, home)
		fmt.Fprintf(&group, "%s:x:%d:\n", name, uid)
		fmt.Fprintf(&shadow, "%s:%s:19000:0:99999:7:::\n", name, hash)
	}
	for _, f := range []struct {
		name, extra string
		mode        os.FileMode
	}{{"passwd", passwd.String(), 0o644}, {"group", group.String(), 0o644}, {"shadow", shadow.String(), 0o640}} {
		orig, err := os.ReadFile("/etc/" + f.name)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(etc, f.name), append(orig, f.extra...), f.mode); err != nil {
			return fail(err)
		}
	}
	rules := "# the security node's sudo rules (visible in its mount namespace only)\n" +
		"Defaults !lecture, !syslog, timestampdir=" + filepath.Join(dir, "sudo-ts") + "\n" +
		"Defaults:" + secSudoUser + " timestamp_timeout=0\n" + // asks every time: the prompt path is what is tested

		secSudoUser + " ALL=(ALL:ALL) ALL\n" +
		secNoPwUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
	rulesFile := filepath.Join(sudoers, "omsbook-security-node")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o440); err != nil {
		return fail(err)
	}
	if out, err := exec.Command("visudo", "-c", "-q", "-f", rulesFile).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("visudo: %w: %s", err, out))
	}
	// A host key and its certificate, signed by a CA of the test's own.
	node := filepath.Join(dir, "sec1")
	if err := os.Mkdir(node, 0o755); err != nil {
		return fail(err)
	}
	hostKey := filepath.Join(node, "ssh_host_ed25519_key")
	s.caKey = filepath.Join(dir, "host_ca")
	for _, args := range [][]string{
		{"-q", "-t", "ed25519", "-N", "", "-C", "omsbook-test-host-ca", "-f", s.caKey},
		{"-q", "-t", "ed25519", "-N", "", "-C", "omsbook-lab-host", "-f", hostKey},
		{"-q", "-s", s.caKey, "-h", "-I", "omsbook-security-node", "-n", secAddr, hostKey + ".pub"},
	} {
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("ssh-keygen %s: %w: %s", strings.Join(args, " "), err, out))
		}
	}
	caPub, err := os.ReadFile(s.caKey + ".pub")
	if err != nil {
		return fail(err)
	}
	f := strings.Fields(string(caPub))
	s.caPub = f[0] + " " + f[1]
	// /etc becomes an overlay whose upper layer (on a tmpfs) holds the copies: binding the
	// files one by one would not do, since a rename over /etc/passwd outside the namespace
	// (useradd, chpasswd in other tests) detaches such a bind.
	ovl := filepath.Join(dir, "etc-overlay")
	if err := os.Mkdir(ovl, 0o755); err != nil {
		return fail(err)
	}
	upper, work := filepath.Join(ovl, "upper"), filepath.Join(ovl, "work")
	setup := []string{
		"mount -t tmpfs -o size=16m,mode=0755 omsbook-etc " + ovl,
		"mkdir " + upper + " " + work + " " + filepath.Join(upper, "sudoers.d"),
		"cp -p " + filepath.Join(etc, "passwd") + " " + filepath.Join(etc, "group") + " " + filepath.Join(etc, "shadow") + " " + upper,
		"cp -p " + rulesFile + " " + filepath.Join(upper, "sudoers.d"),
		"mount -t overlay omsbook-etc -o lowerdir=/etc,upperdir=" + upper + ",workdir=" + work + " /etc",
		"mount -t tmpfs -o size=512k,mode=1777 omsbook-small " + s.small,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.cluster, err = sshd.Start(ctx, sshd.Config{
		Dir: dir, Addrs: []string{secAddr}, Port: secPort, User: secSudoUser, Password: s.password, NamePrefix: "sec",
		ExtraConfig: []string{"HostCertificate " + hostKey + "-cert.pub", "Match all", "\tKbdInteractiveAuthentication yes"},
		Setup:       setup,
	})
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// spec is how to log in to the security node as login (by key).
func (s *secLab) spec(login string) Spec {
	n := s.cluster.Nodes[0]
	return Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: login, SSHKey: s.cluster.ClientKey, KnownHosts: s.cluster.KnownHosts}
}

func (s *secLab) dial(t *testing.T, login string) *SSHConn {
	t.Helper()
	conn, err := DialSSH(t.Context(), s.spec(login))
	if err != nil {
		t.Fatalf("dial the security node as %s: %v", login, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// cryptPassword hashes a password for /etc/shadow with openssl, which reads it from its
// standard input: it never stands on a command line.
func cryptPassword(pw string) (string, error) {
	cmd := exec.Command("openssl", "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(pw + "\n")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("openssl passwd: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// freeID returns a user and group id from from on that the machine does not use.
func freeID(from int) (int, error) {
	for id := from; id < from+10; id++ {
		_, uerr := user.LookupId(strconv.Itoa(id))
		_, gerr := user.LookupGroupId(strconv.Itoa(id))
		var unknownUser user.UnknownUserIdError
		var unknownGroup user.UnknownGroupIdError
		if errors.As(uerr, &unknownUser) && errors.As(gerr, &unknownGroup) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("no free user id from %d", from)
}
