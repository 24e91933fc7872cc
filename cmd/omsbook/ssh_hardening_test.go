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

// TestSSHHardeningPlaybook runs playbooks/examples/ssh-hardening on a Debian node that boots
// systemd (lab/debnode, 127.0.5.4:2222) from an Ansible INI inventory: the first run hardens
// sshd and restarts it through the handler, the second changes nothing, and after a drift by
// hand --check --diff shows exactly the drift and changes nothing, which a run then mends.
func TestSSHHardeningPlaybook(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a Debian node container; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := debnode.Available(ctx); err != nil {
		testutil.SkipOrFail(t, "debian nodes unavailable: %v", err)
	}
	dir := t.TempDir()
	c, err := debnode.Start(ctx, debnode.Config{Dir: dir, Addrs: []string{"127.0.5.4"}, Systemd: true, NamePrefix: "harden"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	n := c.Nodes[0]
	inv := filepath.Join(dir, "hosts.ini")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf("[servers]\n%s ansible_host=%s ansible_port=%d ansible_user=root ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s'\n",
		n.Name, n.Addr, n.Port, c.ClientKey, c.KnownHosts)), 0o600); err != nil {
		t.Fatal(err)
	}
	pb, err := filepath.Abs("../../playbooks/examples/ssh-hardening/harden-sshd.yml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (int, string) {
		var out, errOut bytes.Buffer
		args := append([]string{"run", pb, "-i", inv, "--journal-dir", filepath.Join(dir, "journal"), "--color", "never"}, extra...)
		code := Main(args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		return code, out.String() + errOut.String()
	}
	recap := regexp.MustCompile(n.Name + ` +:  ok=\d+ +changed=(\d+)`)
	changed := func(out string) string {
		m := recap.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no recap in:\n%s", out)
		}
		return m[1]
	}
	node := func(line string) string {
		out, err := n.Exec(ctx, line)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sshdPid := func() string { return strings.TrimSpace(node("systemctl show -p MainPID --value ssh")) }

	pidBefore := sshdPid()
	code, out := run()
	if code != 0 || !strings.Contains(out, "RUNNING HANDLER [restart sshd]") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	cfg := node("cat /etc/ssh/sshd_config")
	for _, want := range []string{"X11Forwarding no", "MaxAuthTries 3", "LogLevel VERBOSE", "PasswordAuthentication no", "ListenAddress " + n.Address()} {
		if !strings.Contains(cfg, "\n"+want+"\n") {
			t.Errorf("sshd_config lacks %q:\n%s", want, cfg)
		}
	}
	if got := node("stat -c '%a %U:%G' /etc/ssh/sshd_config /etc/sudoers.d/operators"); got != "600 root:root\n440 root:root\n" {
		t.Errorf("modes %q", got)
	}
	if got := node("id -nG deploy; cat /home/deploy/.ssh/authorized_keys"); !strings.Contains(got, "sudo") || !strings.Contains(got, "deploy@ops") {
		t.Errorf("the operator: %q", got)
	}
	if pid := sshdPid(); pid == pidBefore || pid == "0" {
		t.Errorf("sshd was not restarted (pid %s before, %s after)", pidBefore, pid)
	}

	code, out = run()
	if code != 0 || changed(out) != "0" || strings.Contains(out, "RUNNING HANDLER") {
		t.Fatalf("second run: exit %d, changed=%s\n%s", code, changed(out), out)
	}

	// Drift by hand: a setting put back and a mode loosened.
	node("sed -i 's/^X11Forwarding no$/X11Forwarding yes/' /etc/ssh/sshd_config && chmod 0644 /etc/ssh/sshd_config")
	before := node("sha256sum /etc/ssh/sshd_config; stat -c %a /etc/ssh/sshd_config")
	// Exactly the drift: the setting and the mode would change, so the handler would
	// restart sshd; nothing else would.
	code, out = run("--check", "--diff")
	if code != 0 || changed(out) != "3" || !strings.Contains(out, "RUNNING HANDLER [restart sshd]") {
		t.Fatalf("--check --diff after the drift: exit %d, changed=%s, want 3 (the setting, the mode, the handler)\n%s", code, changed(out), out)
	}
	if n := strings.Count(out, "changed: ["); n != 3 {
		t.Errorf("%d changed results under --check, want the setting's, the mode's and the handler's:\n%s", n, out)
	}
	for _, want := range []string{"-X11Forwarding yes", "+X11Forwarding no", "0644", "0600"} {
		if !strings.Contains(out, want) {
			t.Errorf("--check --diff does not show %q:\n%s", want, out)
		}
	}
	if after := node("sha256sum /etc/ssh/sshd_config; stat -c %a /etc/ssh/sshd_config"); after != before {
		t.Fatalf("--check changed the node: %q -> %q", before, after)
	}
	code, out = run()
	if code != 0 || changed(out) != "3" || !strings.Contains(out, "RUNNING HANDLER [restart sshd]") {
		t.Fatalf("the run mending the drift: exit %d, changed=%s\n%s", code, changed(out), out)
	}
	code, out = run()
	if code != 0 || changed(out) != "0" {
		t.Fatalf("after mending: exit %d, changed=%s\n%s", code, changed(out), out)
	}
}
