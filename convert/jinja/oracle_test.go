package jinja

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/tmpl"
)

// TestMatchesAnsible renders every case's Jinja with Debian's ansible-playbook (the template
// module, on localhost) and its translation with omsbook's tmpl, on the same variables, and
// wants the same text: the oracle for the expected values of the tables.
func TestMatchesAnsible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible-playbook; skipped with -short")
	}
	ap, err := exec.LookPath("ansible-playbook")
	if err != nil {
		testutil.SkipOrFail(t, "ansible-playbook (Debian's ansible-core, lab/deps.sh) is not installed: %v", err)
	}
	t.Setenv("OMSBOOK_CONVERT_TEST", "from-env")
	// The expressions go in one template, a line each between separators; the templates each
	// in a file of their own (trim_blocks and the trailing newlines are the file's).
	type oracleCase struct{ name, jinja string }
	const sep = "\n--8<--\n"
	all := ""
	for i, c := range exprCases {
		if i > 0 {
			all += sep
		}
		all += c.jinja
	}
	cases := []oracleCase{{"expressions", all}}
	for _, c := range templateCases {
		if c.name != "variables in a loop" {
			cases = append(cases, oracleCase{c.name, c.jinja})
		}
	}
	dir := t.TempDir()
	vars, err := json.Marshal(sampleVars())
	if err != nil {
		t.Fatal(err)
	}
	varsPath := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(varsPath, vars, 0o644); err != nil {
		t.Fatal(err)
	}
	var tasks []map[string]any
	for i, c := range cases {
		src := filepath.Join(dir, fmt.Sprintf("c%03d.j2", i))
		if err := os.WriteFile(src, []byte(c.jinja), 0o644); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, map[string]any{"ansible.builtin.template": map[string]any{"src": src, "dest": src + ".out"}, "ignore_errors": true})
	}
	pb, _ := json.Marshal([]map[string]any{{"hosts": "localhost", "connection": "local", "gather_facts": false, "vars_files": []string{varsPath}, "tasks": tasks}})
	pbPath := filepath.Join(dir, "oracle.yml")
	if err := os.WriteFile(pbPath, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ap, "-i", "localhost,", pbPath)
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCALHOST_WARNING=false",
		"ANSIBLE_INVENTORY_UNPARSED_WARNING=false", "ANSIBLE_HOME="+filepath.Join(dir, "ansible-home"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	v := sampleVars()
	for i, c := range cases {
		want, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("c%03d.j2.out", i)))
		if err != nil {
			t.Errorf("%s: Ansible rendered nothing: %v", c.name, err)
			continue
		}
		r := Template(c.jinja, Options{})
		got, err := tmpl.RenderString(r.Text, v)
		if err != nil {
			t.Errorf("%s: %s: %v", c.name, r.Text, err)
			continue
		}
		if i == 0 {
			gots, wants := strings.Split(got, sep), strings.Split(string(want), sep)
			if len(gots) != len(exprCases) || len(wants) != len(exprCases) {
				t.Fatalf("expressions: %d and %d results for %d cases", len(gots), len(wants), len(exprCases))
			}
			for j, e := range exprCases {
				if gots[j] != wants[j] {
					t.Errorf("%s: omsbook renders %q, Ansible %q", e.jinja, gots[j], wants[j])
				}
			}
			continue
		}
		if got != string(want) {
			t.Errorf("%s: omsbook renders %q, Ansible %q", c.name, got, want)
		}
	}
}
