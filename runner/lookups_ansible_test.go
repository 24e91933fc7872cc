package runner

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/playbook"
)

// loopCases are with_X loops over values written the same in omsbook and Ansible (no
// templates), so that ansible-playbook can say which items each gives.
var loopCases = []struct{ keyword, value string }{
	{"with_items", `[a, [b, c], [[d]], 7]`},
	{"with_items", `solo`},
	{"with_list", `[a, [b, c]]`},
	{"loop", `[1, [2, 3]]`},
	{"with_dict", `{web: {port: 80}, db: {port: 3306}}`},
	{"with_sequence", `start=1 end=5`},
	{"with_sequence", `start=0 end=10 stride=4 format=node%02d`},
	{"with_sequence", `count=3`},
	{"with_sequence", `4-8/2`},
	{"with_nested", `[[a, b], [1, 2, 3]]`},
	{"with_subelements", `[[{name: alice, keys: [k1, k2]}, {name: bob, keys: [k3]}], keys]`},
	{"with_subelements", `[[{name: alice, keys: [k1]}, {name: carol}], keys, {skip_missing: true}]`},
	{"with_fileglob", `['*.conf']`},
}

// TestLoopItemsAsAnsible runs every case through ansible-playbook (Debian's ansible) and
// through omsbook's lookups and wants the same items, in the same order.
func TestLoopItemsAsAnsible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible-playbook")
	}
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		testutil.SkipOrFail(t, "ansible-playbook is not installed (lab/deps.sh installs Debian's ansible): %v", err)
	}
	dir := t.TempDir()
	for _, f := range []string{"files/b.conf", "files/a.conf", "files/skip.txt"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pb strings.Builder
	pb.WriteString("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
	for _, c := range loopCases {
		pb.WriteString("    - debug: {msg: ok}\n      " + c.keyword + ": " + c.value + "\n")
	}
	path := filepath.Join(dir, "loops.yml")
	if err := os.WriteFile(path, []byte(pb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "-c", "local", path)
	cmd.Env = append(os.Environ(), testutil.AnsibleJSONEnv()...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	var report struct {
		Plays []struct {
			Tasks []struct {
				Hosts map[string]struct {
					Results []struct {
						Item any `json:"item"`
					} `json:"results"`
				} `json:"hosts"`
			} `json:"tasks"`
		} `json:"plays"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("read ansible's report: %v\n%s", err, out)
	}
	tasks := report.Plays[0].Tasks
	if len(tasks) != len(loopCases) {
		t.Fatalf("ansible ran %d tasks, want %d", len(tasks), len(loopCases))
	}
	vars := map[string]any{"playbook_dir": dir}
	for i, c := range loopCases {
		var want []any
		for _, r := range tasks[i].Hosts["localhost"].Results {
			want = append(want, r.Item)
		}
		// The value as the playbook loader gives it to the runner.
		pbFile := filepath.Join(dir, "one.yml")
		if err := os.WriteFile(pbFile, []byte("- hosts: all\n  tasks:\n    - debug: {msg: ok}\n      "+c.keyword+": "+c.value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pbl, err := playbook.LoadWith(pbFile, playbook.Options{Lookup: func(string) (playbook.ModuleInfo, bool) { return playbook.ModuleInfo{}, true }})
		if err != nil {
			t.Fatal(err)
		}
		v := pbl.Plays[0].Tasks[0].Loop.V
		got, err := lookupItems(strings.TrimPrefix(c.keyword, "with_"), normalize(v), vars)
		if err != nil {
			t.Errorf("%s: %s: %v", c.keyword, c.value, err)
			continue
		}
		g, w := asJSON(t, got), asJSON(t, want)
		if c.keyword == "with_fileglob" {
			// Ansible lists a directory's matches in the order the file system gives them;
			// omsbook sorts them, so that a run does the same on every machine (README says so).
			sortStrings(w)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s:\n omsbook %v\n ansible %v", c.keyword, c.value, g, w)
		}
	}
}

// asJSON round-trips v through JSON, so that numbers and lists compare alike.
func asJSON(t *testing.T, v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// sortStrings sorts a JSON list of strings in place.
func sortStrings(v any) {
	l, _ := v.([]any)
	sort.Slice(l, func(i, j int) bool { return l[i].(string) < l[j].(string) })
}
