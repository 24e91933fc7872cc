package lab

import (
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseRegions(t *testing.T) {
	tests := []struct {
		in      string
		want    []Region
		wantErr string
	}{
		{in: "hangzhou=2,shanghai=1", want: []Region{{"hangzhou", 2}, {"shanghai", 1}}},
		{in: " beijing ", want: []Region{{"beijing", 1}}},
		{in: "a=3,b", want: []Region{{"a", 3}, {"b", 1}}},
		{in: "", wantErr: "no regions"},
		{in: "hz=0", wantErr: "not a positive number"},
		{in: "hz=x", wantErr: "not a positive number"},
		{in: "Hang=1", wantErr: "lower-case"},
		{in: "a,a", wantErr: "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRegions(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRegions(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseRegions(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestDBNames(t *testing.T) {
	tests := []struct {
		name, version string
		regions       int
		want          DBNames
	}{
		{DefaultName, "4.2.2", 2, DBNames{RM: "rm_422", CM: "cm_422", Heartbeat: []string{"cm_hb_422_1", "cm_hb_422_2"}}},
		{"smoke", "4.2.2", 1, DBNames{RM: "smoke_rm_422", CM: "smoke_cm_422", Heartbeat: []string{"smoke_cm_hb_422_1"}}},
		{DefaultName, "4.1.0", 1, DBNames{RM: "rm_410", CM: "cm_410", Heartbeat: []string{"cm_hb_410_1"}}},
	}
	for _, tc := range tests {
		if got := dbNames(tc.name, tc.version, tc.regions); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("dbNames(%q, %q, %d) = %+v, want %+v", tc.name, tc.version, tc.regions, got, tc.want)
		}
	}
}

func TestNextIP(t *testing.T) {
	tests := []struct {
		ip      string
		n       int
		want    string
		wantErr bool
	}{
		{"127.0.0.11", 0, "127.0.0.11", false},
		{"127.0.0.11", 2, "127.0.0.13", false},
		{"127.0.0.250", 10, "127.0.1.4", false},
		{"127.255.255.255", 1, "", true},
	}
	for _, tc := range tests {
		got, err := nextIP(net.ParseIP(tc.ip), tc.n)
		if (err != nil) != tc.wantErr {
			t.Errorf("nextIP(%s, %d) error = %v", tc.ip, tc.n, err)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("nextIP(%s, %d) = %s, want %s", tc.ip, tc.n, got, tc.want)
		}
	}
}

func TestWithDefaultsRejects(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string
	}{
		{Config{Name: "Bad-Name"}, "instance name"},
		{Config{StartVersion: "4.2.3"}, "start version"},
		{Config{Regions: []Region{{"hz", 0}}}, "at least one node"},
	}
	for _, tc := range tests {
		if _, err := WithDefaults(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("WithDefaults(%+v) error = %v, want one containing %q", tc.cfg, err, tc.wantErr)
		}
	}
	if _, err := Plan(Config{FirstIP: "10.0.0.1"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Plan with a non-loopback FirstIP: error = %v", err)
	}
}

func TestLayout(t *testing.T) {
	l := planFor(t, Config{Name: "smoke", FirstIP: "127.0.0.21", PerNodeConfig: true})
	var got []string
	for _, n := range l.Nodes {
		got = append(got, n.Name+"@"+n.IP+" "+n.OldContainer+"/"+n.NewContainer)
		if !strings.HasPrefix(n.ConfigFile, n.MountDir) {
			t.Errorf("per-node config %s not under the node's directory %s", n.ConfigFile, n.MountDir)
		}
	}
	want := []string{
		"oms-hz-1@127.0.0.21 smoke_oms-hz-1_422/smoke_oms-hz-1_423",
		"oms-hz-2@127.0.0.22 smoke_oms-hz-2_422/smoke_oms-hz-2_423",
		"oms-sh-1@127.0.0.23 smoke_oms-sh-1_422/smoke_oms-sh-1_423",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nodes = %v, want %v", got, want)
	}
	if l.Dir != "/var/tmp/omsbook-lab/smoke" || l.InventoryPath != "/var/tmp/omsbook-lab/smoke/inventory.yml" {
		t.Errorf("dir %s inventory %s", l.Dir, l.InventoryPath)
	}
	if !l.Regions[0].IsDefault || l.Regions[1].IsDefault || l.Regions[1].Location != 1 {
		t.Errorf("regions: %+v %+v", *l.Regions[0], *l.Regions[1])
	}
}

func TestSeedIsDeterministicAndSized(t *testing.T) {
	a := planFor(t, Config{}).seedSQL()
	b := planFor(t, Config{}).seedSQL()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of the same lab seed different rows")
	}
	rows := 0
	for db, stmts := range a {
		for _, s := range stmts {
			rows += strings.Count(s, "),(") + 1
			if !strings.HasPrefix(s, "INSERT INTO ") {
				t.Errorf("%s: not an INSERT: %.60s", db, s)
			}
		}
	}
	if rows < 2000 || rows > 4000 {
		t.Errorf("default seed has %d rows, want a few thousand", rows)
	}
	for _, db := range []string{"rm_422", "cm_hb_422_1", "cm_hb_422_2"} {
		if len(a[db]) == 0 {
			t.Errorf("no seed rows for %s", db)
		}
	}
	for _, status := range []string{"'RUNNING'", "'SUSPEND'", "'FINISHED'"} {
		if !strings.Contains(strings.Join(a["rm_422"], ""), status) {
			t.Errorf("no seeded project with status %s", status)
		}
	}
}
