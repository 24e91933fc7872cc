package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/yamlsrc"
)

func names(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func TestLoadDefaultsAndVars(t *testing.T) {
	inv, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	home, _ := os.UserHomeDir()
	if got := names(inv.Hosts); !reflect.DeepEqual(got, []string{"oms-hz-1", "oms-hz-2", "oms-sh-1", "oms-sh-2"}) {
		t.Fatalf("hosts = %q", got)
	}
	if !reflect.DeepEqual(inv.Regions, []string{"hangzhou", "shanghai"}) {
		t.Fatalf("regions = %q", inv.Regions)
	}
	tests := []struct {
		host       string
		connection string
		address    string
		port       int
		user       string
		jump       string
		becomeUser string
		sshPass    string
		level      any
	}{
		{"oms-hz-1", "ssh", "10.0.0.11", 2222, "admin", "", "", "", "node"},
		{"oms-hz-2", "ssh", "10.0.0.12", 22, "ops", "", "", "node-ssh-secret", "region"},
		{"oms-sh-1", "local", "oms-sh-1", 2222, "root", "admin@10.0.0.11:22", "oms", "", "top"},
		{"oms-sh-2", "local", "oms-sh-2", 2222, "root", "", "", "", "top"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			h := inv.Host(tt.host)
			if h == nil {
				t.Fatal("no such host")
			}
			c := h.Conn
			if c.Name != tt.host || c.Connection != tt.connection || c.Address != tt.address || c.Port != tt.port || c.User != tt.user || c.Jump != tt.jump || c.SSHPassword != tt.sshPass {
				t.Fatalf("conn = %+v", c)
			}
			if c.KnownHosts != filepath.Join(dir, "known_hosts") || c.SSHKey != filepath.Join(home, ".ssh/id_test") {
				t.Fatalf("paths: known_hosts %q ssh_key %q", c.KnownHosts, c.SSHKey)
			}
			if !h.Become || h.BecomeUser != tt.becomeUser || h.BecomePassword != "top-sudo-secret" {
				t.Fatalf("become = %v %q %q", h.Become, h.BecomeUser, h.BecomePassword)
			}
			if h.Vars["level"] != tt.level || h.Vars["only_top"] != 1 {
				t.Fatalf("vars level = %v only_top = %v", h.Vars["level"], h.Vars["only_top"])
			}
			if h.Pos.File != "testdata/good.yml" || h.Pos.Line == 0 {
				t.Fatalf("pos = %v", h.Pos)
			}
		})
	}
	if got := inv.Host("oms-hz-1").Pos.String(); got != "testdata/good.yml:17:7" {
		t.Fatalf("oms-hz-1 pos = %s", got)
	}
	if got := inv.RegionNodes("shanghai"); !reflect.DeepEqual(got, []string{"oms-sh-1", "oms-sh-2"}) {
		t.Fatalf("RegionNodes = %q", got)
	}
	if inv.RegionNodes("nowhere") != nil || inv.Host("nobody") != nil {
		t.Fatal("unknown region or host gave something")
	}
	wantGroups := map[string][]string{
		"all":       {"oms-hz-1", "oms-hz-2", "oms-sh-1", "oms-sh-2"},
		"hangzhou":  {"oms-hz-1", "oms-hz-2"},
		"shanghai":  {"oms-sh-1", "oms-sh-2"},
		"localhost": {"localhost"},
		"canary":    {"oms-hz-1", "oms-sh-1"}, // inventory order, not the order listed
		"east":      {"oms-hz-1", "oms-hz-2"},
	}
	if !reflect.DeepEqual(inv.Groups, wantGroups) {
		t.Fatalf("groups = %v", inv.Groups)
	}
	if !reflect.DeepEqual(inv.GroupOrder, []string{"all", "hangzhou", "shanghai", "localhost", "canary", "east"}) {
		t.Fatalf("group order = %q", inv.GroupOrder)
	}
	if !reflect.DeepEqual(inv.Secrets, []string{"metadb.password"}) {
		t.Fatalf("secrets = %q", inv.Secrets)
	}
	sv := inv.SecretValues()
	sort.Strings(sv)
	if !reflect.DeepEqual(sv, []string{"node-ssh-secret", "top-sudo-secret"}) {
		t.Fatalf("secret values = %q", sv)
	}
	if v, ok := PathValue(inv.Host("oms-hz-1").Vars, "metadb.password"); !ok || v != `{{ env "OMS_META_PASSWORD" }}` {
		t.Fatalf("PathValue = %v %v", v, ok)
	}
	if _, ok := PathValue(inv.Vars, "metadb.nope"); ok {
		t.Fatal("PathValue found a missing key")
	}
}

func TestLocalhost(t *testing.T) {
	inv, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	l := inv.Host("localhost")
	if l == nil || l != inv.Localhost() || !l.Implicit || l.Conn.Connection != "local" || l.Region != "" {
		t.Fatalf("localhost = %+v", l)
	}
	if l.Vars["level"] != "top" {
		t.Fatalf("localhost vars = %v, want the top-level ones", l.Vars)
	}
	// An empty inventory still has the controller.
	empty, err := Parse("empty.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := empty.Match("localhost")
	if err != nil || len(hs) != 1 || hs[0].Name != "localhost" {
		t.Fatalf("Match(localhost) on empty inventory = %v, %v", names(hs), err)
	}
	// A node named localhost is that node.
	own, err := Parse("own.yml", []byte("regions: {r: {nodes: {localhost: {connection: local, vars: {x: 1}}}}}"))
	if err != nil {
		t.Fatal(err)
	}
	if h := own.Localhost(); h.Implicit || h.Vars["x"] != 1 {
		t.Fatalf("own localhost = %+v", h)
	}
	if hs, err := own.Match("all"); err != nil || len(hs) != 1 {
		t.Fatalf("Match(all) = %v, %v", names(hs), err)
	}
}

func TestMerge(t *testing.T) {
	inv, err := Load("testdata/good.yml", "testdata/override.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inv.Hosts); !reflect.DeepEqual(got, []string{"oms-hz-1", "oms-hz-2", "oms-hz-3", "oms-sh-1", "oms-sh-2"}) {
		t.Fatalf("hosts = %q", got)
	}
	h2 := inv.Host("oms-hz-2")
	if h2.Conn.Address != "10.9.9.12" || h2.Conn.User != "ops" || h2.Conn.Port != 22 {
		t.Fatalf("merged oms-hz-2 = %+v", h2.Conn)
	}
	if inv.Host("oms-hz-3").Vars["level"] != "region" || inv.Host("oms-sh-2").Vars["level"] != "override" {
		t.Fatal("later file's vars do not win")
	}
	if !reflect.DeepEqual(inv.Groups["canary"], []string{"oms-hz-3"}) {
		t.Fatalf("canary = %q, want the later definition", inv.Groups["canary"])
	}
	if !reflect.DeepEqual(inv.Secrets, []string{"metadb.password", "other.secret"}) {
		t.Fatalf("secrets = %q", inv.Secrets)
	}
	if !reflect.DeepEqual(inv.Files, []string{"testdata/good.yml", "testdata/override.yml"}) {
		t.Fatalf("files = %q", inv.Files)
	}
}

func TestMatch(t *testing.T) {
	inv, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"all", []string{"oms-hz-1", "oms-hz-2", "oms-sh-1", "oms-sh-2"}},
		{"*", []string{"oms-hz-1", "oms-hz-2", "oms-sh-1", "oms-sh-2"}},
		{"oms-sh-1", []string{"oms-sh-1"}},
		{"hangzhou", []string{"oms-hz-1", "oms-hz-2"}},
		{"oms-hz-*", []string{"oms-hz-1", "oms-hz-2"}},
		{"oms-?z-2", []string{"oms-hz-2"}},
		{"shang*", []string{"oms-sh-1", "oms-sh-2"}},
		{"oms-sh-2:oms-hz-1", []string{"oms-hz-1", "oms-sh-2"}},
		{"oms-sh-2,oms-hz-1,oms-sh-2", []string{"oms-hz-1", "oms-sh-2"}},
		{"all:&canary", []string{"oms-hz-1", "oms-sh-1"}},
		{"all:!canary", []string{"oms-hz-2", "oms-sh-2"}},
		{"hangzhou:shanghai:&canary:!oms-sh-1", []string{"oms-hz-1"}},
		{"!hangzhou", []string{"oms-sh-1", "oms-sh-2"}},
		{"localhost", []string{"localhost"}},
		{"canary:localhost", []string{"oms-hz-1", "oms-sh-1", "localhost"}},
		{" hangzhou : !oms-hz-2 ", []string{"oms-hz-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			hs, err := inv.Match(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(hs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Match(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	inv, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, pattern string }{
		{"pattern-empty", " : "},
		{"pattern-unknown", "all:oms-hz-9"},
		{"pattern-no-host", "hangzhou:&shanghai"},
		{"pattern-bad-glob", "oms-[hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inv.Match(tt.pattern)
			if err == nil {
				t.Fatalf("Match(%q): no error", tt.pattern)
			}
			testutil.Golden(t, filepath.Join("testdata", "errors/"+tt.name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

func TestLoadErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error cases: %v", err)
	}
	files = append(files, "testdata/errors/does-not-exist.yml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		t.Run(name, func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s): no error", f)
			}
			var pe *yamlsrc.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *yamlsrc.Error: %v", err, err)
			}
			if pe.Pos.File != f {
				t.Fatalf("error names %q, want the file %q", pe.Pos.File, f)
			}
			testutil.Golden(t, filepath.Join("testdata", "errors/"+name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}
