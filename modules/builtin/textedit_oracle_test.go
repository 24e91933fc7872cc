package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/modules"
)

// oracleCase is one edit run by Ansible (ansible-playbook -c local) and by omsbook on the same
// input file; the resulting files and the changed/failed flags must be equal.
type oracleCase struct {
	name    string
	module  modules.Module
	initial *string // nil: the file does not exist
	args    map[string]any
}

func str(s string) *string { return &s }

func textOracleCases() []oracleCase {
	const conf = "# comment\nPort 22\nListenAddress 0.0.0.0\n#Port 2222\nPermitRootLogin yes\nPort 23\n"
	li, bi, re := LineInFile{}, BlockInFile{}, Replace{}
	return []oracleCase{
		{"li regexp last match wins", li, str(conf), map[string]any{"regexp": "^Port ", "line": "Port 2200"}},
		{"li regexp firstmatch", li, str(conf), map[string]any{"regexp": "^Port ", "line": "Port 2200", "firstmatch": true}},
		{"li regexp no match appends", li, str(conf), map[string]any{"regexp": "^MaxAuth", "line": "MaxAuthTries 3"}},
		{"li regexp no match but line exists", li, str(conf), map[string]any{"regexp": "^NoSuch", "line": "Port 22"}},
		{"li line already there", li, str(conf), map[string]any{"line": "PermitRootLogin yes"}},
		{"li insertafter regexp last", li, str(conf), map[string]any{"line": "X after", "insertafter": "^Port"}},
		{"li insertafter regexp first", li, str(conf), map[string]any{"line": "X after", "insertafter": "^Port", "firstmatch": true}},
		{"li insertbefore regexp last", li, str(conf), map[string]any{"line": "X before", "insertbefore": "^Port"}},
		{"li insertbefore regexp first", li, str(conf), map[string]any{"line": "X before", "insertbefore": "^Port", "firstmatch": true}},
		{"li insertbefore BOF", li, str(conf), map[string]any{"line": "# top", "insertbefore": "BOF"}},
		{"li insertafter EOF no final newline", li, str("a\nb"), map[string]any{"line": "c", "insertafter": "EOF"}},
		{"li insertafter no match appends", li, str(conf), map[string]any{"line": "Z", "insertafter": "^Nothing"}},
		{"li insertafter last line", li, str("a\nb\n"), map[string]any{"line": "c", "insertafter": "^b"}},
		{"li backrefs", li, str(conf), map[string]any{"regexp": `^(Permit\w+) (\w+)$`, "line": `\1 no # was \2`, "backrefs": true}},
		{"li backrefs named", li, str(conf), map[string]any{"regexp": `^ListenAddress (?P<ip>\S+)`, "line": `Listen \g<ip>:22`, "backrefs": true}},
		{"li backrefs no match changes nothing", li, str(conf), map[string]any{"regexp": `^Nope (.*)`, "line": `\1`, "backrefs": true}},
		{"li search_string", li, str(conf), map[string]any{"search_string": "#Port", "line": "Port 2222"}},
		{"li absent regexp", li, str(conf), map[string]any{"regexp": "^Port", "state": "absent"}},
		{"li absent line", li, str(conf), map[string]any{"line": "Port 22", "state": "absent"}},
		{"li absent search_string", li, str(conf), map[string]any{"search_string": "Port", "state": "absent"}},
		{"li absent missing file", li, nil, map[string]any{"line": "x", "state": "absent"}},
		{"li missing file fails", li, nil, map[string]any{"line": "x"}},
		{"li create", li, nil, map[string]any{"line": "x", "create": true}},
		{"li crlf line kept", li, str("a\r\nb\r\n"), map[string]any{"line": "b"}},
		{"li dollar in line", li, str("a\n"), map[string]any{"regexp": "^a$", "line": "a=$HOME"}},

		{"bi append default markers", bi, str("one\ntwo\n"), map[string]any{"block": "x=1\ny=2"}},
		{"bi replace existing block", bi, str("one\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\ntwo\n"), map[string]any{"block": "new\n"}},
		{"bi same block is ok", bi, str("one\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\n"), map[string]any{"block": "new"}},
		{"bi insertbefore BOF", bi, str("one\ntwo\n"), map[string]any{"block": "top", "insertbefore": "BOF"}},
		{"bi insertafter regexp last", bi, str("[a]\nk=1\n[a]\nk=2\n[b]\n"), map[string]any{"block": "k=3", "insertafter": `^\[a\]`}},
		{"bi insertbefore regexp", bi, str("[a]\nk=1\n[b]\nk=2\n"), map[string]any{"block": "k=3", "insertbefore": `^\[b\]`}},
		{"bi custom marker", bi, str("one\n"), map[string]any{"block": "b", "marker": "<!-- {mark} managed -->", "marker_begin": "start", "marker_end": "stop"}},
		{"bi absent", bi, str("one\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\ntwo\n"), map[string]any{"state": "absent"}},
		{"bi empty block removes", bi, str("one\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\n"), map[string]any{"block": ""}},
		{"bi no final newline", bi, str("one"), map[string]any{"block": "b"}},
		{"bi create", bi, nil, map[string]any{"block": "b", "create": true}},
		{"bi missing fails", bi, nil, map[string]any{"block": "b"}},

		{"re simple", re, str("foo bar foo\nbaz foo\n"), map[string]any{"regexp": "foo", "replace": "qux"}},
		{"re groups", re, str("a=1\nb=2\n"), map[string]any{"regexp": `^(\w)=(\d)$`, "replace": `\2=\1`}},
		{"re named group", re, str("host: old.example\n"), map[string]any{"regexp": `(?P<h>old)\.example`, "replace": `\g<h>.test`}},
		{"re after", re, str("x\n[s]\nx\nx\n"), map[string]any{"regexp": "^x$", "replace": "y", "after": `\[s\]`}},
		{"re before", re, str("x\n[s]\nx\n"), map[string]any{"regexp": "^x$", "replace": "y", "before": `\[s\]`}},
		{"re after and before", re, str("x\n<a>\nx\n</a>\nx\n"), map[string]any{"regexp": "x", "replace": "y", "after": "<a>", "before": "</a>"}},
		{"re after no match", re, str("x\n"), map[string]any{"regexp": "x", "replace": "y", "after": "nothing"}},
		{"re no match ok", re, str("x\n"), map[string]any{"regexp": "z", "replace": "y"}},
		{"re remove lines", re, str("keep\ndrop 1\nkeep\ndrop 2\n"), map[string]any{"regexp": "^drop.*\n", "replace": ""}},
		{"re missing fails", re, nil, map[string]any{"regexp": "x", "replace": "y"}},
	}
}

// TestTextModulesMatchAnsible runs lineinfile, blockinfile and replace cases through Debian's
// ansible-playbook (the oracle) and through omsbook on copies of the same files, and wants the
// same file contents and the same changed / failed outcome.
func TestTextModulesMatchAnsible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible-playbook; skipped with -short")
	}
	ap, err := exec.LookPath("ansible-playbook")
	if err != nil {
		testutil.SkipOrFail(t, "ansible-playbook (Debian's ansible-core, lab/deps.sh) is not installed: %v", err)
	}
	cases := textOracleCases()
	dir := t.TempDir()
	ansDir, ourDir := filepath.Join(dir, "ansible"), filepath.Join(dir, "omsbook")
	var tasks []map[string]any
	for i, c := range cases {
		for _, d := range []string{ansDir, ourDir} {
			if c.initial != nil {
				writeTestFile(t, filepath.Join(d, fmt.Sprintf("c%02d.txt", i)), *c.initial, 0o644)
			} else if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		args := map[string]any{"path": filepath.Join(ansDir, fmt.Sprintf("c%02d.txt", i))}
		for k, v := range c.args {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{"name": c.name, "ansible.builtin." + c.module.Name(): args, "ignore_errors": true})
	}
	pb, _ := json.Marshal([]map[string]any{{"hosts": "localhost", "connection": "local", "gather_facts": false, "tasks": tasks}})
	pbPath := filepath.Join(dir, "oracle.yml")
	if err := os.WriteFile(pbPath, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ap, "-i", "localhost,", pbPath)
	cmd.Env = append(append(os.Environ(), testutil.AnsibleJSONEnv()...),
		"ANSIBLE_INVENTORY_UNPARSED_WARNING=false", "ANSIBLE_HOME="+filepath.Join(dir, "ansible-home"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	var report struct {
		Plays []struct {
			Tasks []struct {
				Hosts map[string]struct {
					Changed bool   `json:"changed"`
					Failed  bool   `json:"failed"`
					Msg     string `json:"msg"`
				} `json:"hosts"`
			} `json:"tasks"`
		} `json:"plays"`
	}
	if err := json.Unmarshal(out, &report); err != nil || len(report.Plays) != 1 || len(report.Plays[0].Tasks) != len(cases) {
		t.Fatalf("ansible-playbook's JSON report: %v\n%s", err, out)
	}
	h := newGenHost(t, nil)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := report.Plays[0].Tasks[i].Hosts["localhost"]
			args := map[string]any{"path": filepath.Join(ourDir, fmt.Sprintf("c%02d.txt", i))}
			for k, v := range c.args {
				args[k] = v
			}
			res, err := c.module.Apply(context.Background(), h.Host, coerceArgs(t, c.module, args))
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != want.Failed || (!res.Failed && res.Changed != want.Changed) {
				t.Errorf("omsbook: changed=%v failed=%v msg=%q; ansible: changed=%v failed=%v msg=%q", res.Changed, res.Failed, res.Msg, want.Changed, want.Failed, want.Msg)
			}
			if !res.Failed && res.Msg != want.Msg {
				t.Errorf("msg: omsbook %q, ansible %q", res.Msg, want.Msg)
			}
			gotB, gotErr := os.ReadFile(filepath.Join(ourDir, fmt.Sprintf("c%02d.txt", i)))
			wantB, wantErr := os.ReadFile(filepath.Join(ansDir, fmt.Sprintf("c%02d.txt", i)))
			if (gotErr == nil) != (wantErr == nil) || string(gotB) != string(wantB) {
				t.Errorf("file differs:\nomsbook (%v):\n%q\nansible (%v):\n%q", gotErr, gotB, wantErr, wantB)
			}
		})
	}
}
