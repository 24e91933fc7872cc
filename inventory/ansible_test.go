package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/yamlsrc"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             format
	}{
		{"omsbook", "inv.yml", "regions:\n  hz:\n    nodes: {a: {}}\n", formatOmsbook},
		{"omsbook settings only", "inv.yml", "user: root\n", formatOmsbook},
		{"omsbook unknown key", "inv.yml", "usr: root\n", formatOmsbook},
		{"omsbook list", "inv.yml", "- a\n", formatOmsbook},
		{"ansible yaml", "hosts.yml", "all:\n  hosts:\n    web1:\n", formatAnsibleYAML},
		{"ansible yaml group named like an omsbook key", "hosts.yml", "vars:\n  hosts:\n    web1:\n", formatAnsibleYAML},
		{"ansible yaml empty group", "hosts.yml", "web:\n", formatAnsibleYAML},
		{"ini sections", "hosts", "[web]\nweb1\n", formatINI},
		{"ini host lines", "hosts", "web1 ansible_host=10.0.0.1\nweb2\n", formatINI},
		{"ini host with port", "hosts", "web1:2222\n", formatINI},
		{"ini by extension", "hosts.ini", "all:\n  hosts: {}\n", formatINI},
		{"ini in a .yml file", "hosts.yml", "[web]\nweb1 a=\"x: y\"\n", formatINI},
		{"comments only", "hosts", "# nothing yet\n", formatEmpty},
		{"empty", "hosts", "", formatEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := detect(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if s.format != tt.want {
				t.Fatalf("format %v, want %v", s.format, tt.want)
			}
		})
	}
	// Broken YAML that reads like YAML is reported as a YAML error, not read as INI.
	if _, err := detect("inv.yml", []byte("regions:\n  hz:\n    nodes: [a, b\n")); err == nil || !strings.Contains(err.Error(), "malformed YAML") {
		t.Fatalf("broken YAML: %v", err)
	}
}

func TestAnsibleINI(t *testing.T) {
	inv, err := Parse("hosts", []byte(`
bastion
[web]
web[1:2] http_port=80
[db]
db1
web1
[prod:children]
db
web
[prod:vars]
env=prod
[web:vars]
env=web
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inv.Hosts); !reflect.DeepEqual(got, []string{"bastion", "web1", "web2", "db1"}) {
		t.Fatalf("hosts = %q", got)
	}
	wantGroups := map[string][]string{
		"all":       {"bastion", "web1", "web2", "db1"},
		"ungrouped": {"bastion"},
		"web":       {"web1", "web2"},
		"db":        {"web1", "db1"},
		"prod":      {"web1", "web2", "db1"},
		"localhost": {"localhost"},
	}
	if !reflect.DeepEqual(inv.Groups, wantGroups) {
		t.Fatalf("groups = %v", inv.Groups)
	}
	if want := []string{"all", "ungrouped", "web", "db", "prod", "localhost"}; !reflect.DeepEqual(inv.GroupOrder, want) {
		t.Fatalf("group order = %q", inv.GroupOrder)
	}
	// web is deeper than prod, so its vars win; db1 has only prod's.
	for host, want := range map[string]any{"web1": "web", "db1": "prod", "bastion": nil} {
		if got := inv.Host(host).Vars["env"]; got != want {
			t.Errorf("%s env = %v, want %v", host, got, want)
		}
	}
	if got := inv.Host("web2").Vars["http_port"]; got != 80 {
		t.Errorf("http_port = %#v, want the number 80", got)
	}
	if got := inv.Host("web1").Pos.String(); got != "hosts:4:1" {
		t.Errorf("web1 pos = %s", got)
	}
	hs, err := inv.Match("prod:!db")
	if err != nil || !reflect.DeepEqual(names(hs), []string{"web2"}) {
		t.Fatalf("Match(prod:!db) = %q, %v", names(hs), err)
	}
	if l := inv.Localhost(); !l.Implicit || l.Conn.Connection != "local" {
		t.Fatalf("localhost = %+v", l)
	}
}

func TestAnsibleConnection(t *testing.T) {
	home, _ := os.UserHomeDir()
	inv, err := Load("testdata/ansible/oracle/connection/hosts")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host                                string
		connection, address, user, key, jmp string
		port                                int // 0: not set (~/.ssh/config's, else 22)
		password                            string
		become                              bool
		becomeUser, becomePassword          string
	}{
		{host: "web01", connection: "ssh", address: "10.0.0.11", port: 2222, user: "admin", key: filepath.Join(home, ".ssh/deploy"), becomePassword: "group-sudo-s3cr3t"},
		// Of ansible_become_password (on the host) and ansible_become_pass (on its group), the
		// later name in Ansible's list wins, wherever each was set: Ansible does the same.
		{host: "web02", connection: "ssh", address: "10.0.0.12", password: "s3cr3t-web02", become: true, becomeUser: "oms", becomePassword: "group-sudo-s3cr3t"},
		{host: "web03", connection: "ssh", address: "web03", jmp: "jump@bastion.example.com:2200", becomePassword: "group-sudo-s3cr3t"},
		{host: "web04", connection: "ssh", address: "web04", jmp: "ops@bastion.example.com", becomePassword: "group-sudo-s3cr3t"},
		{host: "web05", connection: "ssh", address: "web05", jmp: "bastion.example.com", becomePassword: "group-sudo-s3cr3t"},
		{host: "controller", connection: "local", address: "controller"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			h := inv.Host(tt.host)
			c := h.Conn
			if c.Name != tt.host || c.Connection != tt.connection || c.Address != tt.address || c.Port != tt.port || c.User != tt.user || c.SSHKey != tt.key || c.Jump != tt.jmp || c.SSHPassword != tt.password {
				t.Fatalf("conn = %+v", c)
			}
			if h.Become != tt.become || h.BecomeUser != tt.becomeUser || h.BecomePassword != tt.becomePassword {
				t.Fatalf("become = %v %q %q", h.Become, h.BecomeUser, h.BecomePassword)
			}
		})
	}
	// The variables stay visible, as Ansible shows them, and the secret ones are secrets.
	if v := inv.Host("web01").Vars["ansible_port"]; v != 2222 {
		t.Fatalf("ansible_port = %#v", v)
	}
	if want := []string{"ansible_password", "ansible_become_password", "ansible_become_pass"}; !reflect.DeepEqual(inv.Secrets, want) {
		t.Fatalf("secrets = %q", inv.Secrets)
	}
}

func TestJumpFromSSHArgs(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "-o StrictHostKeyChecking=no", want: ""},
		{in: "-o ProxyJump=ops@bastion:2200", want: "ops@bastion:2200"},
		{in: "-oProxyJump=bastion", want: "bastion"},
		{in: `-o "ProxyJump bastion"`, want: "bastion"},
		{in: "-o proxyjump=ssh://ops@bastion", want: "ops@bastion"},
		{in: "-J ops@bastion -o ServerAliveInterval=30", want: "ops@bastion"},
		{in: "-Jbastion:2222", want: "bastion:2222"},
		{in: "-o ProxyJump=none", want: ""},
		{in: `-o ProxyCommand="ssh -W %h:%p -q ops@bastion"`, want: "ops@bastion"},
		{in: `-o ProxyCommand="ssh -i ~/.ssh/k -p 2200 -l ops -W %h:%p bastion"`, want: "ops@bastion:2200"},
		{in: `-o ProxyCommand="/usr/bin/ssh -W %h:%p bastion"`, want: "bastion"},
		{in: `-o ProxyCommand="nc -x proxy %h %p"`, err: "not one omsbook can follow"},
		{in: `-o ProxyCommand="ssh bastion nc %h %p"`, err: "not one omsbook can follow"},
		{in: "-J a@hop1,b@hop2", err: "several hosts"},
		{in: `-o "unclosed`, err: "no closing quotation"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := jumpFromSSHArgs(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestAnsibleRegions(t *testing.T) {
	tests := []struct {
		name, data  string
		regions     []string
		regionOf    map[string]string
		regionNodes map[string][]string
		groupOf     map[string][]string // groups the regions make, when no group has the name
	}{
		{
			name:        "children of regions",
			data:        "[regions:children]\nhangzhou\nshanghai\n[hangzhou]\nhz1\nhz2\n[shanghai]\nsh1\n[web]\nhz1\nother\n",
			regions:     []string{"hangzhou", "shanghai"},
			regionOf:    map[string]string{"hz1": "hangzhou", "hz2": "hangzhou", "sh1": "shanghai", "other": ""},
			regionNodes: map[string][]string{"hangzhou": {"hz1", "hz2"}, "shanghai": {"sh1"}},
		},
		{
			name:        "region variable",
			data:        "[hz]\nhz1\nhz2\n[hz:vars]\nregion=hz\n[sh]\nsh1 region=sh\n[edge]\nedge1 region=far\n",
			regions:     []string{"hz", "sh", "far"},
			regionOf:    map[string]string{"hz1": "hz", "sh1": "sh", "edge1": "far"},
			regionNodes: map[string][]string{"hz": {"hz1", "hz2"}, "sh": {"sh1"}, "far": {"edge1"}},
			groupOf:     map[string][]string{"far": {"edge1"}},
		},
		{
			name:        "nested under a region",
			data:        "[regions:children]\nhz\n[hz:children]\nhz_web\n[hz_web]\nw1 region=hz\n",
			regions:     []string{"hz"},
			regionOf:    map[string]string{"w1": "hz"},
			regionNodes: map[string][]string{"hz": {"w1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse("hosts", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Regions, tt.regions) {
				t.Fatalf("regions = %q", inv.Regions)
			}
			for h, r := range tt.regionOf {
				if got := inv.Host(h).Region; got != r {
					t.Errorf("%s region = %q, want %q", h, got, r)
				}
			}
			for r, want := range tt.regionNodes {
				if got := inv.RegionNodes(r); !reflect.DeepEqual(got, want) {
					t.Errorf("RegionNodes(%s) = %q, want %q", r, got, want)
				}
			}
			for r, want := range tt.groupOf {
				hs, err := inv.Match(r)
				if err != nil || !reflect.DeepEqual(names(hs), want) {
					t.Errorf("Match(%s) = %q, %v", r, names(hs), err)
				}
			}
		})
	}
}

// writeTree writes files (path: content) under a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGroupVarsPrecedence(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"inv/hosts": "[web]\nweb1 h=inventory-host\nweb2\n[a_web]\nweb2\n[z_web]\nweb2\n[hi]\nweb2\n" +
			"[web:vars]\nv=inventory-web\ng=inventory-web\n[hi:vars]\nansible_group_priority=9\nprio=hi\n[z_web:vars]\nprio=z_web\n[a_web:vars]\nprio=a_web\n[all:vars]\nv=inventory-all\na=inventory-all\n",
		"inv/group_vars/all.yml":     "a: group_vars-all\nv: group_vars-all\n",
		"inv/group_vars/web.yml":     "g: group_vars-web\n",
		"inv/host_vars/web1.yml":     "h: host_vars\n",
		"play/group_vars/all.yml":    "a: play-all\npb: play-all\n",
		"play/group_vars/web.yml":    "g: play-web\nansible_user: deploy\n",
		"play/host_vars/web1/x.yaml": "h: play-host\n",
	})
	inv, err := Load(filepath.Join(dir, "inv/hosts"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(host string, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if got := inv.Host(host).Vars[k]; got != v {
				t.Errorf("%s %s = %#v, want %#v", host, k, got, v)
			}
		}
	}
	check("web1", map[string]any{
		"v": "group_vars-all", // group_vars/all over the inventory's web vars
		"g": "group_vars-web",
		"h": "host_vars",
		"a": "group_vars-all",
	})
	// Same depth: by priority, then by name; the highest priority merges last.
	check("web2", map[string]any{"prio": "hi"})
	if inv.Host("web1").Conn.User != "" {
		t.Fatalf("user before the playbook's vars = %q", inv.Host("web1").Conn.User)
	}
	if err := inv.AddPlaybookVars(filepath.Join(dir, "play")); err != nil {
		t.Fatal(err)
	}
	check("web1", map[string]any{"a": "play-all", "pb": "play-all", "g": "play-web", "h": "play-host", "v": "group_vars-all"})
	if got := inv.Host("web1").Conn.User; got != "deploy" {
		t.Fatalf("ansible_user from the playbook's group_vars: user = %q", got)
	}
	if got := inv.Localhost().Vars["pb"]; got != "play-all" {
		t.Fatalf("localhost pb = %#v", got)
	}
	// A directory without group_vars/ or host_vars/ changes nothing.
	if err := inv.AddPlaybookVars(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	check("web1", map[string]any{"a": "play-all"})
}

func TestSourcesOfOneKind(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"oms.yml":                  "regions: {hz: {nodes: {a: {}}}}\n",
		"hosts":                    "[web]\nw1\n",
		"empty/.keep":              "",
		"vault/hosts":              "[web]\nw1\n",
		"vault/group_vars/web.yml": "$ANSIBLE_VAULT;1.1;AES256\n6231336539\n",
	})
	_, err := Load(filepath.Join(dir, "oms.yml"), filepath.Join(dir, "hosts"))
	if err == nil || !strings.Contains(err.Error(), "cannot be merged") {
		t.Fatalf("omsbook and INI together: %v", err)
	}
	_, err = Load(filepath.Join(dir, "empty"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("a directory without inventories: %v", err)
	}
	_, err = Load(filepath.Join(dir, "vault/hosts"))
	var pe *yamlsrc.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "ansible-vault") || !strings.HasSuffix(pe.Pos.File, "web.yml") {
		t.Fatalf("a vault-encrypted group_vars file: %v", err)
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(script); err == nil || !strings.Contains(err.Error(), "inventory script") {
		t.Fatalf("an inventory script: %v", err)
	}
}

// TestAnsibleLoadErrors: every bad Ansible inventory stops the load with a *yamlsrc.Error at
// file:line:column that says what to do (testdata/ansible/errors/NAME.golden).
func TestAnsibleLoadErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/ansible/errors/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		t.Run(name, func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s): no error", f)
			}
			var pe *yamlsrc.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *yamlsrc.Error: %v", err, err)
			}
			if pe.Pos.File != f || pe.Pos.Line == 0 {
				t.Fatalf("error is at %q, want a line of %q", pe.Pos, f)
			}
			testutil.Golden(t, filepath.Join("testdata", "ansible/errors/"+name+".golden"), []byte(err.Error()+"\n"))
		})
	}
	if n == 0 {
		t.Fatal("no error cases")
	}
}

func TestSSHArgsKnownHosts(t *testing.T) {
	tests := []struct {
		in   string
		want sshOptions
	}{
		{"-o UserKnownHostsFile=/etc/ssh/fleet_hosts", sshOptions{knownHosts: "/etc/ssh/fleet_hosts"}},
		{`-o "UserKnownHostsFile ~/.ssh/kh /other" -o StrictHostKeyChecking=accept-new`, sshOptions{knownHosts: "~/.ssh/kh", acceptNew: true}},
		{"-o StrictHostKeyChecking=no -J admin@bastion:2200", sshOptions{jump: "admin@bastion:2200", acceptNew: true}},
		{"-o StrictHostKeyChecking=yes", sshOptions{}},
	}
	for _, tt := range tests {
		got, err := sshArgs(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("sshArgs(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	path := filepath.Join(t.TempDir(), "hosts.ini")
	if err := os.WriteFile(path, []byte("[web]\nweb1 ansible_ssh_common_args='-o UserKnownHostsFile=/srv/kh'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := inv.Host("web1"); h == nil || h.Conn.KnownHosts != "/srv/kh" {
		t.Fatalf("web1's known_hosts: %+v", h)
	}
}
