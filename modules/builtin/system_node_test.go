package builtin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/debnode"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// The system modules' tests run on two Debian node containers (lab/debnode) on
// 127.0.5.1 and 127.0.5.2 port 2222: one boots systemd as PID 1, the other runs the sysvinit
// scripts under a shell as PID 1 and has a writable /proc/sys (for sysctl, whose test writes
// only kernel.msgmax, a setting of the node's own IPC namespace).
const (
	sysNodeSystemd = "127.0.5.1"
	sysNodeSysv    = "127.0.5.2"
)

// testPasswordHash is `openssl passwd -6 -salt omsbooksalt 'correct horse'`.
const testPasswordHash = "$6$omsbooksalt$5hr8KUYHW6423M3UjB9bJSzTXcM7EckGoj1kog9yU4BiaLLPg1.wCzIMT.Gz6YwJBT.DJNk/MSa5ruC/QP8Dg/"

const (
	testKey1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJOPVl/Vn2hEl0h3hYaf5Wj1t59eOwWLl5VKEVaDF4ZC keyuser@test"
	testKey2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqwLIDFRvF29cjIumCrm/x+2JInTYkq+Wy/uK9xEv3T other@test"
)

// sysNode is one node: its container and a Host whose Conn reaches it over ssh.
type sysNode struct {
	node *debnode.Node
	host *genHost
}

func (n *sysNode) exec(t *testing.T, line string) string {
	t.Helper()
	out, err := n.node.Exec(context.Background(), line)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func startSysNodes(t *testing.T) (systemd, sysv *sysNode) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with Debian node containers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := debnode.Available(ctx); err != nil {
		testutil.SkipOrFail(t, "debian nodes unavailable: %v", err)
	}
	var nodes []*sysNode
	for _, cfg := range []debnode.Config{
		{Addrs: []string{sysNodeSystemd}, Systemd: true, NamePrefix: "sysd"},
		{Addrs: []string{sysNodeSysv}, WritableProcSys: true, NamePrefix: "sysv"},
	} {
		cfg.Dir = t.TempDir()
		c, err := debnode.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		n := c.Nodes[0]
		conn, err := transport.Dial(ctx, transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, SSHKey: c.ClientKey, KnownHosts: c.KnownHosts})
		if err != nil {
			t.Fatalf("dial %s: %v", n.Address(), err)
		}
		t.Cleanup(func() { conn.Close() })
		h := newGenHost(t, map[string]any{"inventory_hostname": n.Name})
		h.Name, h.Conn = n.Name, conn
		nodes = append(nodes, &sysNode{node: n, host: h})
	}
	return nodes[0], nodes[1]
}

// sysCase is one row: apply, apply again (ok), drift by hand, Check (changed with a diff,
// nothing changed), apply (changed), and the state read back after each step.
type sysCase struct {
	name   string
	node   string // "systemd" or "sysv"
	module modules.Module
	args   map[string]any
	setup  string // run on the node first (docker exec)
	probe  string // prints the state the module manages
	want   []string
	drift  string // changes the state by hand
	data   map[string]any
}

func TestSystemModulesOnDebianNodes(t *testing.T) {
	sysd, sysv := startSysNodes(t)
	// The local apt repository: two versions of omsbook-hello (1.1 added later) and a .deb
	// file, made with dpkg-deb and indexed with apt-ftparchive, as a file: source.
	sysd.exec(t, `set -e
mk() { d=$(mktemp -d); mkdir -p "$d/DEBIAN" "$d/usr/share/omsbook"
printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: omsbook tests <tests@omsbook.invalid>\nDescription: omsbook test package\n' "$1" "$2" > "$d/DEBIAN/control"
echo "$1 $2" > "$d/usr/share/omsbook/$1"; dpkg-deb --build --root-owner-group "$d" "$3/$1_$2_all.deb" >/dev/null; rm -rf "$d"; }
mkdir -p /srv/repo; mk omsbook-hello 1.0 /srv/repo; mk omsbook-tool 2.0 /srv
cd /srv/repo && apt-ftparchive packages . > Packages
echo 'deb [trusted=yes] file:/srv/repo ./' > /etc/apt/sources.list.d/omsbook.list
printf '[Unit]\nDescription=omsbook demo\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' > /lib/systemd/system/omsbook-demo.service
useradd -m keyuser; mkdir -p -m 700 /home/keyuser/.ssh; echo '`+testKey2+`' > /home/keyuser/.ssh/authorized_keys`)
	hostMsgmax, _ := os.ReadFile("/proc/sys/kernel/msgmax")
	hostName, _ := os.Hostname()

	cases := []sysCase{
		{name: "service on systemd", node: "systemd", module: Service{},
			args:  map[string]any{"name": "cron", "state": "stopped", "enabled": false},
			probe: "systemctl is-active cron; systemctl is-enabled cron", want: []string{"inactive", "disabled"},
			drift: "systemctl start cron", data: map[string]any{"manager": "systemd", "state": "stopped", "enabled": false}},
		{name: "systemd unit started and enabled after daemon-reload", node: "systemd", module: Systemd{},
			args:  map[string]any{"name": "omsbook-demo", "state": "started", "enabled": true, "daemon_reload": true},
			probe: "systemctl is-active omsbook-demo; systemctl is-enabled omsbook-demo", want: []string{"active", "enabled"},
			drift: "systemctl stop omsbook-demo; systemctl disable omsbook-demo 2>/dev/null", data: map[string]any{"state": "started", "enabled": true}},
		{name: "systemd unit masked", node: "systemd", module: Systemd{},
			args:  map[string]any{"name": "omsbook-demo", "state": "stopped", "masked": true},
			probe: "systemctl is-active omsbook-demo; systemctl is-enabled omsbook-demo", want: []string{"inactive", "masked"},
			drift: "systemctl unmask omsbook-demo 2>/dev/null"},
		{name: "service on sysvinit", node: "sysv", module: Service{},
			args:  map[string]any{"name": "cron", "state": "stopped", "enabled": false},
			probe: "service cron status >/dev/null && echo running || echo stopped; ls /etc/rc2.d | grep cron", want: []string{"stopped", "K01cron"},
			drift: "/etc/init.d/cron start >/dev/null; update-rc.d cron enable", data: map[string]any{"manager": "sysvinit", "state": "stopped", "enabled": false}},
		{name: "service on sysvinit started", node: "sysv", module: Service{},
			args:  map[string]any{"name": "cron", "state": "started", "enabled": true},
			probe: "service cron status >/dev/null && echo running || echo stopped; ls /etc/rc2.d | grep cron", want: []string{"running", "S01cron"},
			drift: "/etc/init.d/cron stop >/dev/null; update-rc.d cron disable", data: map[string]any{"manager": "sysvinit", "state": "started"}},
		{name: "apt present with update_cache", node: "systemd", module: Apt{},
			args:  map[string]any{"name": "omsbook-hello", "update_cache": true, "cache_valid_time": 3600},
			probe: "dpkg-query -W omsbook-hello 2>&1", want: []string{"omsbook-hello\t1.0"},
			drift: "apt-get remove -y -q omsbook-hello >/dev/null"},
		{name: "apt latest", node: "systemd", module: Apt{},
			setup: `set -e; d=$(mktemp -d); mkdir -p "$d/DEBIAN"; printf 'Package: omsbook-hello\nVersion: 1.1\nArchitecture: all\nMaintainer: t <t@omsbook.invalid>\nDescription: t\n' > "$d/DEBIAN/control"; dpkg-deb --build --root-owner-group "$d" /srv/repo/omsbook-hello_1.1_all.deb >/dev/null; cd /srv/repo && apt-ftparchive packages . > Packages`,
			args:  map[string]any{"name": []any{"omsbook-hello"}, "state": "latest", "update_cache": true},
			probe: "dpkg-query -W omsbook-hello 2>&1", want: []string{"omsbook-hello\t1.1"},
			drift: "apt-get install -y -q --allow-downgrades omsbook-hello=1.0 >/dev/null"},
		{name: "apt absent with purge", node: "systemd", module: Apt{},
			args:  map[string]any{"name": "omsbook-hello", "state": "absent", "purge": true},
			probe: "dpkg-query -W -f='${db:Status-Abbrev}' omsbook-hello 2>&1 || true", want: []string{"no packages found"},
			drift: "apt-get install -y -q omsbook-hello >/dev/null"},
		{name: "apt deb file", node: "systemd", module: Apt{},
			args:  map[string]any{"deb": "/srv/omsbook-tool_2.0_all.deb"},
			probe: "dpkg-query -W omsbook-tool 2>&1", want: []string{"omsbook-tool\t2.0"},
			drift: "dpkg -r omsbook-tool >/dev/null"},
		{name: "package picks apt", node: "systemd", module: Package{},
			args:  map[string]any{"name": "omsbook-hello=1.0"},
			probe: "dpkg-query -W omsbook-hello 2>&1", want: []string{"omsbook-hello\t1.0"},
			drift: "apt-get remove -y -q omsbook-hello >/dev/null", data: map[string]any{"manager": "apt"}},
		{name: "group", node: "systemd", module: Group{},
			args:  map[string]any{"name": "omsdev", "gid": 3100},
			probe: "getent group omsdev", want: []string{"omsdev:x:3100:"},
			drift: "groupmod -g 3101 omsdev", data: map[string]any{"gid": 3100}},
		{name: "user with groups and a password hash", node: "systemd", module: User{},
			args: map[string]any{"name": "alice", "uid": 3200, "groups": []any{"omsdev"}, "shell": "/bin/bash",
				"comment": "Alice", "password": testPasswordHash},
			probe: "getent passwd alice; id -Gn alice; getent shadow alice | cut -d: -f2; test -d /home/alice && echo home",
			want:  []string{"alice:x:3200:3200:Alice:/home/alice:/bin/bash", "alice omsdev", testPasswordHash, "home"},
			drift: "usermod -s /bin/sh -G '' -p '$6$x$y' alice", data: map[string]any{"uid": 3200, "groups": "omsdev", "password": "NOT_LOGGING_PASSWORD"}},
		{name: "user absent with remove", node: "systemd", module: User{},
			setup: "useradd -m bob",
			args:  map[string]any{"name": "bob", "state": "absent", "remove": true},
			probe: "getent passwd bob || echo nobob; test -d /home/bob || echo nohome", want: []string{"nobob", "nohome"},
			drift: "useradd -m bob"},
		{name: "group absent", node: "systemd", module: Group{},
			setup: "groupadd tmpgrp",
			args:  map[string]any{"name": "tmpgrp", "state": "absent"},
			probe: "getent group tmpgrp || echo none", want: []string{"none"},
			drift: "groupadd tmpgrp"},
		{name: "cron entry", node: "systemd", module: Cron{},
			args:  map[string]any{"name": "nightly backup", "minute": "5", "hour": "2", "job": "/usr/local/bin/backup.sh", "user": "alice"},
			probe: "crontab -u alice -l", want: []string{"#Ansible: nightly backup\n5 2 * * * /usr/local/bin/backup.sh"},
			drift: "crontab -u alice -l | sed 's/^5 2 /6 3 /' | crontab -u alice -", data: map[string]any{"jobs": []any{"nightly backup"}}},
		{name: "cron special_time disabled", node: "systemd", module: Cron{},
			args:  map[string]any{"name": "at boot", "special_time": "reboot", "job": "echo hi", "disabled": true, "user": "alice"},
			probe: "crontab -u alice -l", want: []string{"#Ansible: nightly backup\n5 2 * * * /usr/local/bin/backup.sh\n#Ansible: at boot\n#@reboot echo hi"},
			drift: "crontab -u alice -l | sed 's/^#@reboot/@reboot/' | crontab -u alice -"},
		{name: "cron absent", node: "systemd", module: Cron{},
			args:  map[string]any{"name": "at boot", "state": "absent", "user": "alice"},
			probe: "crontab -u alice -l | grep -c reboot || true", want: []string{"0"},
			drift: "(crontab -u alice -l; printf '#Ansible: at boot\\n@daily x\\n') | crontab -u alice -"},
		{name: "authorized_key exclusive with options", node: "systemd", module: AuthorizedKey{},
			args:  map[string]any{"user": "keyuser", "key": testKey1, "key_options": `from="127.0.0.1"`, "exclusive": true},
			probe: "cat /home/keyuser/.ssh/authorized_keys; stat -c '%a %U' /home/keyuser/.ssh/authorized_keys",
			want:  []string{`from="127.0.0.1" ` + testKey1 + "\n600 keyuser"},
			drift: "echo '" + testKey2 + "' >> /home/keyuser/.ssh/authorized_keys", data: map[string]any{"keyfile": "/home/keyuser/.ssh/authorized_keys"}},
		{name: "authorized_key absent", node: "systemd", module: AuthorizedKey{},
			args:  map[string]any{"user": "keyuser", "key": testKey1, "state": "absent"},
			probe: "grep -c keyuser@test /home/keyuser/.ssh/authorized_keys || true", want: []string{"0"},
			drift: "echo '" + testKey1 + "' >> /home/keyuser/.ssh/authorized_keys"},
		{name: "hostname with systemd", node: "systemd", module: Hostname{},
			args:  map[string]any{"name": "web-1.example.test"},
			probe: "hostname; cat /etc/hostname", want: []string{"web-1.example.test\nweb-1.example.test"},
			drift: "hostnamectl set-hostname other", data: map[string]any{"use": "systemd"}},
		{name: "hostname on debian without systemd", node: "sysv", module: Hostname{},
			args:  map[string]any{"name": "db-1"},
			probe: "hostname; cat /etc/hostname", want: []string{"db-1\ndb-1"},
			drift: "hostname other", data: map[string]any{"use": "debian"}},
		{name: "sysctl in a file and the running kernel", node: "sysv", module: Sysctl{},
			args:  map[string]any{"name": "kernel.msgmax", "value": "16384", "sysctl_set": true, "sysctl_file": "/etc/sysctl.d/90-omsbook.conf"},
			probe: "sysctl -n kernel.msgmax; cat /etc/sysctl.d/90-omsbook.conf", want: []string{"16384\nkernel.msgmax=16384"},
			drift: "sysctl -q -w kernel.msgmax=8192", data: map[string]any{"current": "16384"}},
		{name: "sysctl file edit reloads", node: "sysv", module: Sysctl{},
			args:  map[string]any{"name": "kernel.msgmnb", "value": "32768", "sysctl_file": "/etc/sysctl.d/90-omsbook.conf"},
			probe: "sysctl -n kernel.msgmnb; cat /etc/sysctl.d/90-omsbook.conf", want: []string{"32768\nkernel.msgmax=16384\nkernel.msgmnb=32768"},
			drift: "sed -i 's/msgmnb=.*/msgmnb=1000/' /etc/sysctl.d/90-omsbook.conf"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := sysd
			if tc.node == "sysv" {
				n = sysv
			}
			if tc.setup != "" {
				n.exec(t, tc.setup)
			}
			args := coerceArgs(t, tc.module, tc.args)
			run := func(step string, check bool) modules.Result {
				t.Helper()
				var res modules.Result
				var err error
				if check {
					res, err = tc.module.Check(ctx, n.host.Host, args)
				} else {
					res, err = tc.module.Apply(ctx, n.host.Host, args)
				}
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if res.Failed || res.Unknown {
					t.Fatalf("%s: %+v", step, res)
				}
				for _, s := range []string{res.Msg, fmtDiff(res.Diff), strings.Join(mapStrings(res.Data), " ")} {
					if strings.Contains(s, testPasswordHash) {
						t.Fatalf("%s: the password hash shows in the result: %q", step, s)
					}
				}
				return res
			}
			checkState := func(step string) {
				t.Helper()
				got := n.exec(t, tc.probe+"; true")
				for _, w := range tc.want {
					if !strings.Contains(got, w) {
						t.Fatalf("%s: the node's state is\n%s\nwant it to contain\n%s", step, got, w)
					}
				}
			}
			first := run("first apply", false)
			checkState("after the first apply")
			for k, v := range tc.data {
				if got := first.Data[k]; !equalData(got, v) {
					t.Errorf("registered %s = %#v, want %#v (%+v)", k, got, v, first.Data)
				}
			}
			if res := run("second apply", false); res.Changed {
				t.Fatalf("second apply changed: %+v diff %s", res, fmtDiff(res.Diff))
			}
			if res := run("check after apply", true); res.Changed {
				t.Fatalf("check after apply says changed: %+v diff %s", res, fmtDiff(res.Diff))
			}
			n.exec(t, tc.drift)
			drifted := n.exec(t, tc.probe+"; true")
			res := run("check after drift", true)
			if !res.Changed || res.Diff == nil || res.Diff.Before == res.Diff.After {
				t.Fatalf("check after drift: %+v diff %s", res, fmtDiff(res.Diff))
			}
			t.Logf("check's diff:\n--- before\n%s+++ after\n%s", res.Diff.Before, res.Diff.After)
			if now := n.exec(t, tc.probe+"; true"); now != drifted {
				t.Fatalf("check changed the node:\n%s\nwas\n%s", now, drifted)
			}
			if res := run("apply after drift", false); !res.Changed {
				t.Fatalf("apply after drift did not change: %+v", res)
			}
			checkState("after the drift was repaired")
		})
	}
	t.Run("the machine itself is untouched", func(t *testing.T) {
		if b, _ := os.ReadFile("/proc/sys/kernel/msgmax"); string(b) != string(hostMsgmax) {
			t.Errorf("the host's kernel.msgmax changed: %q, was %q", b, hostMsgmax)
		}
		if h, _ := os.Hostname(); h != hostName {
			t.Errorf("the host's name changed: %q, was %q", h, hostName)
		}
		if out, _ := exec.Command("getent", "passwd", "alice").Output(); len(out) > 0 {
			t.Errorf("user alice exists on the machine itself: %s", out)
		}
	})
}

func fmtDiff(d *modules.Diff) string {
	if d == nil {
		return "(none)"
	}
	return "--- " + d.BeforeLabel + "\n" + d.Before + "+++ " + d.AfterLabel + "\n" + d.After
}

func mapStrings(m map[string]any) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " ")))
	}
	return out
}

func fmtAny(v any) string { return fmt.Sprint(v) }

func equalData(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
