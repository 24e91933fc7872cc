package runner

import (
	"strings"
	"testing"
)

// TestInventoryVarsRenderedWhereUsed: a top-level inventory variable that reads a node's
// variable breaks no run that leaves localhost alone, and is an error where a play or a
// delegate_to uses a host it cannot render for.
func TestInventoryVarsRenderedWhereUsed(t *testing.T) {
	inv := map[string]string{"inv.yml": `
connection: local
vars:
  endpoint: 'http://{{ .node_ip }}:8080'
regions:
  hz:
    nodes:
      hz-1: {vars: {node_ip: 10.0.0.11}}
`}
	e := mustLoad(t, "- hosts: all\n  tasks:\n    - rec: '{{ .endpoint }}'\n", Options{}, inv)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); len(got) != 1 || got[0] != "http://10.0.0.11:8080" {
		t.Fatalf("ran %q", got)
	}
	for _, pb := range []string{
		"- hosts: localhost\n  tasks:\n    - rec: x\n",
		"- hosts: hz-1\n  tasks:\n    - rec: x\n      delegate_to: localhost\n",
	} {
		_, err := loadEnv(t, pb, Options{}, inv)
		if err == nil || !strings.Contains(err.Error(), `host localhost: variable "endpoint"`) {
			t.Errorf("%q: err %v, want the endpoint variable of localhost named", pb, err)
		}
	}
}

// TestListOnlyNeedsNoTaskVariables: list-hosts and list-tasks load without checking tasks,
// as ansible-playbook --list-hosts does; validate still checks them.
func TestListOnlyNeedsNoTaskVariables(t *testing.T) {
	pb := "- hosts: hz-1\n  tasks:\n    - name: uses an -e variable\n      rec: '{{ .release }}'\n"
	e := mustLoad(t, pb, Options{ListOnly: true}, nil)
	if tasks := e.plan.tasks(); len(tasks) != 1 || tasks[0].Name != "uses an -e variable" {
		t.Fatalf("tasks %+v", tasks)
	}
	if _, err := loadEnv(t, pb, Options{}, nil); err == nil || !strings.Contains(err.Error(), `undefined variable "release"`) {
		t.Fatalf("full load: %v", err)
	}
}

// TestSoftLookupRenderedAfterTheNameIsSet: a variable that looks a name up softly
// ({{ get . "who" }}) copes with its absence before the task that sets it, and gives its value
// after it, as a variable that refers to it directly does.
func TestSoftLookupRenderedAfterTheNameIsSet(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1
  vars:
    greeting: '{{ get . "who" | default "nobody" }}'
    mode: '{{ get . "mode" | default "safe" }}'  # reads itself softly: no cycle
  tasks:
    - rec: '{{ .greeting }}'
    - set_fact: {who: alice}
    - rec: '{{ .greeting }}'
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); strings.Join(got, ",") != "nobody,alice" {
		t.Fatalf("ran %q, want nobody then alice", got)
	}
	if _, err := loadEnv(t, "- hosts: hz-1\n  vars:\n    mode: '{{ .mode }}x'\n  tasks:\n    - rec: '{{ .mode }}'\n", Options{}, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a variable that refers to itself directly: %v, want a cycle", err)
	}
}
