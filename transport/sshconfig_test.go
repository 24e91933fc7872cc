package transport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSSHConfig(t *testing.T, text string) *SSHConfig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadSSHConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSSHConfigApply(t *testing.T) {
	home, _ := os.UserHomeDir()
	cfg := writeSSHConfig(t, `
Host web-*
  User deploy
  IdentityFile ~/.ssh/web_%h

Host web-1
  HostName 10.0.0.11
  Port 2201
  ProxyJump bastion,edge:2022

Host bastion
  HostName 192.0.2.10
  User jumper
  Port 2200

Host legacy
  StrictHostKeyChecking no
  UserKnownHostsFile /etc/ssh/legacy_hosts /other

Host *
  User fallback
`)
	tests := []struct {
		name string
		in   Spec
		want Spec
		warn bool
	}{
		{"alias with pattern and host entries, first value wins",
			Spec{Name: "web-1", Address: "web-1"},
			Spec{Name: "web-1", Address: "10.0.0.11", Port: 2201, User: "deploy", SSHKey: filepath.Join(home, ".ssh/web_web-1"),
				Jump: "jumper@192.0.2.10:2200,fallback@edge:2022"}, false},
		{"the inventory wins",
			Spec{Name: "web-1", Address: "web-1", Port: 22, User: "root", SSHKey: "/k", Jump: "ops@b:22"},
			Spec{Name: "web-1", Address: "10.0.0.11", Port: 22, User: "root", SSHKey: "/k", Jump: "ops@b:22"}, false},
		{"StrictHostKeyChecking no is accept-new, with a warning",
			Spec{Name: "legacy", Address: "legacy"},
			Spec{Name: "legacy", Address: "legacy", User: "fallback", KnownHosts: "/etc/ssh/legacy_hosts", AcceptNewHostKeys: true}, true},
		{"a local connection is left alone",
			Spec{Name: "web-2", Address: "web-2", Connection: "local"},
			Spec{Name: "web-2", Address: "web-2", Connection: "local"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings, err := cfg.Apply(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if (len(warnings) > 0) != tc.warn {
				t.Fatalf("warnings %q", warnings)
			}
		})
	}
	if _, err := LoadSSHConfig(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "--ssh-config") {
		t.Fatalf("a named file that is missing: %v", err)
	}
}

// TestSSHConfigTwoHopJump reaches a real sshd node through two real jump hosts named only in
// an ssh config: aliases, HostName, Port and a two-hop ProxyJump chain.
func TestSSHConfigTwoHopJump(t *testing.T) {
	c := lab(t)
	waitNoConnections(c)
	before0, before1 := c.Connections(0), c.Connections(1)
	n0, n1, n2 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	cfg := writeSSHConfig(t, fmt.Sprintf(`
Host hop-a
  HostName %s
  Port %d
Host hop-b
  HostName %s
  Port %d
Host target
  HostName %s
  Port %d
  ProxyJump hop-a,hop-b
Host *
  User %s
  IdentityFile %s
  UserKnownHostsFile %s
`, n0.Addr, n0.Port, n1.Addr, n1.Port, n2.Addr, n2.Port, c.User, c.ClientKey, c.KnownHosts))
	spec, _, err := cfg.Apply(Spec{Name: "target", Address: "target"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatalf("dial through two hops (%s): %v", spec.Jump, err)
	}
	defer conn.Close()
	res, err := conn.Exec(t.Context(), &Cmd{Shell: `echo "$SSH_CONNECTION"`})
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(string(res.Stdout)); len(fields) != 4 || fields[2] != n2.Addr {
		t.Errorf("SSH_CONNECTION on the target = %q, want the target's address", res.Stdout)
	}
	if got0, got1 := c.Connections(0), c.Connections(1); got0 != before0+1 || got1 != before1+1 {
		t.Errorf("the hops serve %d and %d connections, want %d and %d (ours through each)", got0, got1, before0+1, before1+1)
	}
}
