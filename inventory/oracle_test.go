package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
)

// oracleCases are inventories in the shapes real ones take, each read by omsbook and by
// Ansible's own ansible-inventory. Paths are relative to testdata/ansible/oracle/NAME.
var oracleCases = []struct {
	name        string
	inventories []string
	playbookDir string // for ansible-inventory --playbook-dir and AddPlaybookVars
}{
	{name: "ini-ranges", inventories: []string{"hosts"}},
	{name: "yaml", inventories: []string{"hosts.yml"}},
	{name: "groupvars-files", inventories: []string{"hosts"}},
	{name: "groupvars-dirs", inventories: []string{"hosts"}},
	{name: "dir-sources", inventories: []string{"inventory"}},
	{name: "multi-i", inventories: []string{"site-a/hosts", "site-b/hosts.yml"}},
	{name: "playbook-dir", inventories: []string{"inventory"}, playbookDir: "playbooks"},
	{name: "connection", inventories: []string{"hosts"}},
}

// TestListMatchesAnsibleInventory holds List against the real thing: for each inventory,
// the groups, their hosts and children and every host's variables equal what
// `ansible-inventory --list` prints, compared as parsed JSON. Nothing is normalised: both
// sides are decoded from JSON, so 1000 and 1000.0 are the same number. Secrets are compared
// unmasked here (List does not mask; the command does).
func TestListMatchesAnsibleInventory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible-inventory (the oracle); not with -short")
	}
	bin, err := exec.LookPath("ansible-inventory")
	if err != nil {
		testutil.SkipOrFail(t, "ansible-inventory is not installed: apt-get install ansible-core (lab/deps.sh does it as root)")
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "ansible.cfg")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range oracleCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "ansible", "oracle", tc.name)
			var paths []string
			args := []string{"--list"}
			for _, p := range tc.inventories {
				paths = append(paths, filepath.Join(dir, p))
				args = append(args, "-i", filepath.Join(dir, p))
			}
			inv, err := Load(paths...)
			if err != nil {
				t.Fatal(err)
			}
			if tc.playbookDir != "" {
				if err := inv.AddPlaybookVars(filepath.Join(dir, tc.playbookDir)); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--playbook-dir", filepath.Join(dir, tc.playbookDir))
			}
			mine, err := json.Marshal(inv.List())
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = oracleEnv(home, cfg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			theirs, err := cmd.Output()
			if err != nil {
				t.Fatalf("ansible-inventory %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var got, want map[string]any
			if err := json.Unmarshal(mine, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(theirs, &want); err != nil {
				t.Fatalf("ansible-inventory printed no JSON: %v\n%s", err, theirs)
			}
			if diff := jsonDiff(got, want); diff != "" {
				t.Fatalf("omsbook's list differs from ansible-inventory --list (-omsbook +ansible):\n%s", diff)
			}
		})
	}
}

// oracleEnv is the environment ansible-inventory runs in: no configuration of the machine
// or the user, a UTF-8 locale (Ansible requires one), and a source that does not parse fails
// instead of being skipped with a warning.
func oracleEnv(home, cfg string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ANSIBLE_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"HOME="+home,
		"LC_ALL=C.UTF-8",
		"ANSIBLE_CONFIG="+cfg,
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_INVENTORY_UNPARSED_FAILED=true",
		"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true",
		"ANSIBLE_NOCOLOR=1",
	)
}

// jsonDiff lists the differences between two decoded JSON documents, one path a line.
func jsonDiff(got, want any) string {
	var lines []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok {
			keys := map[string]bool{}
			for k := range am {
				keys[k] = true
			}
			for k := range bm {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				av, ain := am[k]
				bv, bin := bm[k]
				switch {
				case !ain:
					lines = append(lines, fmt.Sprintf("+ %s.%s: %v", path, k, bv))
				case !bin:
					lines = append(lines, fmt.Sprintf("- %s.%s: %v", path, k, av))
				default:
					walk(path+"."+k, av, bv)
				}
			}
			return
		}
		if !reflect.DeepEqual(a, b) {
			lines = append(lines, fmt.Sprintf("- %s: %#v\n+ %s: %#v", path, a, path, b))
		}
	}
	walk("", got, want)
	return strings.Join(lines, "\n")
}
