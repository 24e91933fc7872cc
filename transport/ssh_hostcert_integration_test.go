package transport

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/omsbook/omsbook/lab/sshd"
)

// openSSHAccepts reports whether OpenSSH's own client accepts the host key of addr:port
// with known_hosts kh (and logs in with key as user), or false and why not. It is the
// reference omsbook's decisions are held to.
func openSSHAccepts(t *testing.T, kh, key, user, addr string, port int) (bool, string) {
	t.Helper()
	cmd := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "UpdateHostKeys=no", "-i", key, "-p", strconv.Itoa(port), user+"@"+addr, "true")
	out, err := cmd.CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// TestSSHHostCertificates: host certificates signed by a @cert-authority are accepted in
// every form OpenSSH accepts, refused where OpenSSH refuses them, and a key is called changed
// only when one really changed. Each case is also put to OpenSSH's ssh, when installed, and
// both must decide alike.
func TestSSHHostCertificates(t *testing.T) {
	sec := seclab(t)
	_, sshErr := exec.LookPath("ssh")
	ca := "@cert-authority %s " + sec.caPub
	plain := strings.SplitN(sec.cluster.Nodes[0].HostKeyLine, " ", 2)[1]
	otherCA := filepath.Join(t.TempDir(), "other_ca")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherCA).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	otherPub, _ := os.ReadFile(otherCA + ".pub")
	other := strings.Join(strings.Fields(string(otherPub))[:2], " ")
	line := func(format, hosts string) string { return strings.Replace(format, "%s", hosts, 1) }

	nodes := map[string]certNode{"2226": {sec.spec("root"), sec.cluster.ClientKey}}
	// A node on port 22, where a plain host name (no [host]:port) applies.
	if n22, err := startPort22Node(t, sec); err != nil {
		t.Logf("no node on %s port 22 (%v): the port-22 forms are not tried", port22Addr, err)
	} else {
		nodes["22"] = n22
	}
	tests := []struct {
		name, node string
		lines      []string
		accept     bool
		want       string // what a refusal says
	}{
		{"[host]:port", "2226", []string{line(ca, "[127.0.0.104]:2226")}, true, ""},
		{"wildcard", "2226", []string{line(ca, "*")}, true, ""},
		{"bracketed wildcard", "2226", []string{line(ca, "[127.0.0.10?]:2226")}, true, ""},
		{"hashed [host]:port", "2226", []string{line(ca, knownhosts.HashHostname("[127.0.0.104]:2226"))}, true, ""},
		{"in a pattern list", "2226", []string{line(ca, "db.example,[127.0.0.104]:2226")}, true, ""},
		{"with the plain key listed too", "2226", []string{line(ca, "[127.0.0.104]:2226"), "[127.0.0.104]:2226 " + plain}, true, ""},
		{"plain host, on another port too", "2226", []string{line(ca, "127.0.0.104")}, true, ""},
		{"hashed plain host", "2226", []string{line(ca, knownhosts.HashHostname("127.0.0.104"))}, true, ""},
		{"unbracketed wildcard", "2226", []string{line(ca, "127.0.0.*")}, true, ""},
		{"negated with the port only", "2226", []string{line(ca, "![127.0.0.104]:2226,*")}, true, ""},
		{"negated both ways", "2226", []string{line(ca, "!127.0.0.104,![127.0.0.104]:2226,*")}, false, "not known"},
		{"another host", "2226", []string{line(ca, "db.example,[127.0.0.104]:22")}, false, "not known"},
		{"another authority: not a changed key", "2226", []string{line("@cert-authority %s "+other, "[127.0.0.104]:2226")}, false, "is not trusted for [127.0.0.104]:2226"},
		{"revoked authority", "2226", []string{line(ca, "*"), "@revoked * " + sec.caPub}, false, "revoked"},
		{"revoked host key", "2226", []string{line(ca, "*"), "@revoked * " + plain}, false, "revoked"},
		{"plain host on port 22", "22", []string{line(ca, port22Addr)}, true, ""},
		{"hashed host on port 22", "22", []string{line(ca, knownhosts.HashHostname(port22Addr))}, true, ""},
		{"wildcard on port 22", "22", []string{line(ca, "127.0.0.*")}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := nodes[tt.node]
			if !ok {
				t.Skip("no node on port 22")
			}
			kh := filepath.Join(t.TempDir(), "known_hosts")
			content := "# line 1\n" + strings.Join(tt.lines, "\n") + "\n"
			if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			spec := n.spec
			spec.KnownHosts = kh
			conn, err := DialSSH(t.Context(), spec)
			if sshErr == nil {
				if accepted, why := openSSHAccepts(t, kh, n.key, "root", n.spec.Address, n.spec.Port); accepted != tt.accept {
					t.Errorf("OpenSSH accepted=%v (%s), the test expects %v", accepted, why, tt.accept)
				}
			}
			if tt.accept {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				defer conn.Close()
				if res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); err != nil || res.RC != 0 {
					t.Errorf("exec over the accepted connection: %v %+v", err, res)
				}
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("accepted")
			}
			var hk *HostKeyError
			if !IsUnreachable(err) || !errors.As(err, &hk) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("dial: %v, want a host key refusal saying %q", err, tt.want)
			}
			if hk.Changed || strings.Contains(err.Error(), "CHANGED") || strings.Contains(err.Error(), "attack") {
				t.Errorf("a key that did not change is called changed: %v", err)
			}
			if b, _ := os.ReadFile(kh); string(b) != content {
				t.Errorf("known_hosts was modified:\n%s", b)
			}
		})
	}
}

// certNode is an sshd with a host certificate, and the key that logs in to it.
type certNode struct {
	spec Spec
	key  string
}

// port22Addr is the address of the port-22 certificate node.
const port22Addr = "127.0.0.105"

// startPort22Node starts an sshd on 127.0.0.105 port 22 with a host certificate for that
// address from the security node's CA. It is stopped when the test ends.
func startPort22Node(t *testing.T, sec *secLab) (certNode, error) {
	dir := t.TempDir()
	node := filepath.Join(dir, "ca1")
	if err := os.Mkdir(node, 0o755); err != nil {
		return certNode{}, err
	}
	hostKey := filepath.Join(node, "ssh_host_ed25519_key")
	for _, args := range [][]string{
		{"-q", "-t", "ed25519", "-N", "", "-f", hostKey},
		{"-q", "-s", sec.caKey, "-h", "-I", "omsbook-port22-node", "-n", port22Addr, hostKey + ".pub"},
	} {
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			return certNode{}, errors.New(strings.TrimSpace(string(out)))
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: dir, Addrs: []string{port22Addr}, Port: 22, NamePrefix: "ca",
		ExtraConfig: []string{"HostCertificate " + hostKey + "-cert.pub"}})
	if err != nil {
		return certNode{}, err
	}
	t.Cleanup(func() { _ = c.Stop() })
	return certNode{Spec{Name: c.Nodes[0].Name, Address: port22Addr, Port: 22, User: "root", SSHKey: c.ClientKey, KnownHosts: c.KnownHosts}, c.ClientKey}, nil
}
