package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/debnode"
)

// systemPasswordHash is `openssl passwd -6 -salt omsbooksalt 'correct horse'`.
const systemPasswordHash = "$6$omsbooksalt$5hr8KUYHW6423M3UjB9bJSzTXcM7EckGoj1kog9yU4BiaLLPg1.wCzIMT.Gz6YwJBT.DJNk/MSa5ruC/QP8Dg/"

// TestSystemModulesPlaybook runs a playbook of the system modules with the command, over ssh,
// on a Debian node that boots systemd (lab/debnode, 127.0.5.3:2222): --check --diff changes
// nothing, the run changes, the second run changes nothing, and the user's password hash
// (a secret argument) appears nowhere in the output or the journal.
func TestSystemModulesPlaybook(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a Debian node container; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := debnode.Available(ctx); err != nil {
		testutil.SkipOrFail(t, "debian nodes unavailable: %v", err)
	}
	dir := t.TempDir()
	c, err := debnode.Start(ctx, debnode.Config{Dir: dir, Addrs: []string{"127.0.5.3"}, Systemd: true, NamePrefix: "play"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	n := c.Nodes[0]
	inv := filepath.Join(dir, "inventory.yml")
	pb := filepath.Join(dir, "system.yml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(inv, fmt.Sprintf("user: root\nknown_hosts: %s\nssh_key: %s\nregions:\n  lab:\n    nodes:\n      %s: {address: %s, port: %d}\n",
		c.KnownHosts, c.ClientKey, n.Name, n.Addr, n.Port))
	write(pb, `- name: system modules
  hosts: all
  gather_facts: false
  tasks:
    - name: a group
      group: {name: ops, gid: 2500}
    - name: a user with a password hash
      user: {name: carol, groups: [ops], shell: /bin/bash, password: '`+systemPasswordHash+`'}
    - name: her nightly job
      cron: {name: nightly, user: carol, minute: "30", hour: "1", job: /usr/bin/true}
    - name: cron stopped
      service: {name: cron, state: stopped, enabled: false}
    - name: the host's name
      hostname: {name: node-a}
`)
	run := func(extra ...string) (int, string) {
		var out, errOut bytes.Buffer
		args := append([]string{"run", pb, "-i", inv, "--journal-dir", filepath.Join(dir, "journal")}, extra...)
		code := Main(args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		return code, out.String() + errOut.String()
	}
	recap := regexp.MustCompile(`changed=(\d+)`)
	changed := func(out string) string {
		m := recap.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no recap in:\n%s", out)
		}
		return m[1]
	}
	code, out := run("--check", "--diff")
	t.Logf("--check --diff:\n%s", out)
	if code != 0 || changed(out) != "4" || !strings.Contains(out, "password: (changed)") || !strings.Contains(out, "unknown=1") {
		t.Fatalf("--check --diff: exit %d\n%s", code, out)
	}
	if got, _ := n.Exec(ctx, "getent passwd carol || echo none"); strings.TrimSpace(got) != "none" {
		t.Fatalf("--check created the user: %s", got)
	}
	if code, out = run(); code != 0 || changed(out) != "5" {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	if code, out = run("--diff"); code != 0 || changed(out) != "0" {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if got, _ := n.Exec(ctx, "getent shadow carol | cut -d: -f2"); strings.TrimSpace(got) != systemPasswordHash {
		t.Fatalf("the password was not set: %q", got)
	}
	journals, _ := filepath.Glob(filepath.Join(dir, "journal", "*"))
	all := out
	for _, j := range journals {
		b, _ := os.ReadFile(j)
		all += string(b)
	}
	if len(journals) == 0 || strings.Contains(all, systemPasswordHash) || strings.Contains(all, "omsbooksalt") {
		t.Fatalf("the password hash leaked (or no journal, %d files)", len(journals))
	}
}
