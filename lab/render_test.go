package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/internal/testutil"
)

// planFor plans a lab with fixed paths, so that its files do not depend on the machine.
func planFor(t *testing.T, cfg Config) *Lab {
	t.Helper()
	cfg.RootDir = "/var/tmp/omsbook-lab"
	cfg.ModuleRoot = "/src/omsbook"
	l, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestGoldenFiles(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"smoke", Config{Name: "smoke", FirstIP: "127.0.0.21"}},
		{"v410-pernode", Config{Name: "old", StartVersion: Version410, PerNodeConfig: true,
			Regions: []Region{{"hangzhou", 2}, {"shanghai", 1}, {"beijing", 1}}, FirstIP: "127.0.0.31", SSHPort: 2300}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := planFor(t, tc.cfg)
			inv := l.InventoryYAML()
			testutil.Golden(t, filepath.Join("testdata", tc.name+".inventory.yml"), []byte(inv))
			for _, r := range l.Regions {
				testutil.Golden(t, filepath.Join("testdata", tc.name+"."+r.Name+".config.yaml"), []byte(l.ConfigYAML(r)))
			}
			// Both must be valid YAML.
			var v map[string]any
			if err := yaml.Unmarshal([]byte(inv), &v); err != nil {
				t.Errorf("inventory is not YAML: %v", err)
			}
			for _, r := range l.Regions {
				if err := yaml.Unmarshal([]byte(l.ConfigYAML(r)), &v); err != nil {
					t.Errorf("config.yaml of %s is not YAML: %v", r.Name, err)
				}
			}
		})
	}
}

// TestInventoryVariables decodes the default inventory and checks the variables the
// playbooks rely on, so a change of format cannot slip through a golden update unnoticed.
func TestInventoryVariables(t *testing.T) {
	l := planFor(t, Config{})
	var inv struct {
		User       string         `yaml:"user"`
		Port       int            `yaml:"port"`
		KnownHosts string         `yaml:"known_hosts"`
		SSHKey     string         `yaml:"ssh_key"`
		Vars       map[string]any `yaml:"vars"`
		Regions    map[string]struct {
			Vars  map[string]any `yaml:"vars"`
			Nodes map[string]struct {
				Address string         `yaml:"address"`
				Vars    map[string]any `yaml:"vars"`
			} `yaml:"nodes"`
		} `yaml:"regions"`
		Secrets []string `yaml:"secrets"`
	}
	if err := yaml.Unmarshal([]byte(l.InventoryYAML()), &inv); err != nil {
		t.Fatal(err)
	}
	if inv.User != "root" || inv.Port != 2222 || inv.KnownHosts == "" || inv.SSHKey == "" {
		t.Errorf("connection defaults: user %q port %d known_hosts %q ssh_key %q", inv.User, inv.Port, inv.KnownHosts, inv.SSHKey)
	}
	for _, k := range []string{"metadb", "rm_db", "cm_db", "oms_old_version", "oms_new_version", "old_image", "new_image", "package_path", "backup_root", "docker_cmd"} {
		if _, ok := inv.Vars[k]; !ok {
			t.Errorf("top-level var %s missing", k)
		}
	}
	md, _ := inv.Vars["metadb"].(map[string]any)
	for _, k := range []string{"host", "port", "user", "password"} {
		if _, ok := md[k]; !ok {
			t.Errorf("metadb.%s missing", k)
		}
	}
	if len(inv.Secrets) != 1 || inv.Secrets[0] != "metadb.password" {
		t.Errorf("secrets = %v, want [metadb.password]", inv.Secrets)
	}
	wantNodes := map[string]string{"oms-hz-1": "127.0.0.11", "oms-hz-2": "127.0.0.12", "oms-sh-1": "127.0.0.13"}
	wantHB := map[string]string{"hangzhou": "cm_hb_422_1", "shanghai": "cm_hb_422_2"}
	for rname, r := range inv.Regions {
		if r.Vars["cm_hb_db"] != wantHB[rname] {
			t.Errorf("region %s cm_hb_db = %v, want %s", rname, r.Vars["cm_hb_db"], wantHB[rname])
		}
		if r.Vars["shared_config"] != true || !strings.HasSuffix(r.Vars["config_file"].(string), "/"+rname+"/config.yaml") {
			t.Errorf("region %s config vars = %v", rname, r.Vars)
		}
		for nname, n := range r.Nodes {
			if n.Address != wantNodes[nname] || n.Vars["oms_host_ip"] != wantNodes[nname] {
				t.Errorf("node %s address %q oms_host_ip %v, want %s", nname, n.Address, n.Vars["oms_host_ip"], wantNodes[nname])
			}
			for _, k := range []string{"old_container", "new_container", "mount_dir"} {
				if s, _ := n.Vars[k].(string); s == "" {
					t.Errorf("node %s var %s missing", nname, k)
				}
			}
			delete(wantNodes, nname)
		}
	}
	if len(wantNodes) != 0 {
		t.Errorf("nodes missing from the inventory: %v", wantNodes)
	}
}

// TestCommittedLabInventory keeps inventories/lab.yml equal to what `omslab up` writes for the
// default lab with the default state directory.
func TestCommittedLabInventory(t *testing.T) {
	t.Setenv("OMSBOOK_LAB_DIR", "")
	l, err := Plan(Config{})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "inventories", "lab.yml"))
	if err != nil {
		t.Fatalf("inventories/lab.yml: %v (write it with `go run ./lab/cmd/omslab inventory`)", err)
	}
	// oms_privileged depends on the machine's Docker Engine (Up probes it); either value is
	// what Up writes somewhere.
	plannedPriv := l.InventoryYAML()
	l.Privileged = true
	if string(committed) != plannedPriv && string(committed) != l.InventoryYAML() {
		t.Errorf("inventories/lab.yml is not what `omslab up` writes for the default lab; rewrite it with `go run ./lab/cmd/omslab inventory`")
	}
}
