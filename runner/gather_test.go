package runner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
)

// TestGatherFacts: a play gathers facts first unless it says gather_facts: false (or the
// policy is explicit); --tags does not leave the gathering out; facts reach hostvars;
// gathering smart asks each host once per run; listings do not show the gathering.
func TestGatherFacts(t *testing.T) {
	pb := `
- hosts: hz-1
  tasks:
    - rec: 'os {{ .ansible_os_family }} {{ .ansible_facts.os_family }} user {{ .ansible_user_id }}'
      tags: x
- hosts: hz-2
  gather_facts: false
  tasks:
    - rec: 'hz-1 seen as {{ (index .hostvars "hz-1").ansible_user_id }}'
- hosts: hz-1
  gather_subset: [min]
  tasks:
    - rec: again
`
	gatherings := func(e *env) []string {
		var out []string
		for _, ev := range e.sink.results(gatheringName) {
			out = append(out, ev.Host)
		}
		return out
	}
	e := mustLoad(t, pb, Options{Tags: []string{"x"}, Gathering: "implicit"}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
	}
	msgs := e.msgsOf("hz-1")
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "os ") || strings.Contains(msgs[0], "<no value>") {
		t.Fatalf("hz-1 ran %q", msgs)
	}
	if got := gatherings(e); !reflect.DeepEqual(got, []string{"hz-1", "hz-1"}) {
		t.Fatalf("gathered on %v, want hz-1 in the first and the last play", got)
	}
	for _, tk := range e.plan.tasks() {
		if tk.Name == gatheringName {
			t.Fatal("list-tasks shows the fact gathering")
		}
	}

	e = mustLoad(t, pb, Options{Gathering: "smart"}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("smart: exit %d", code)
	}
	if got := gatherings(e); !reflect.DeepEqual(got, []string{"hz-1"}) {
		t.Fatalf("smart gathered on %v, want hz-1 once", got)
	}
	if got := e.msgsOf("hz-2"); len(got) != 1 || got[0] == "hz-1 seen as " {
		t.Fatalf("hostvars of hz-1 lack its facts: %q", got)
	}

	// Without gathering nothing defines the facts: the check says so before the run.
	if _, err := loadEnv(t, pb, Options{Gathering: "explicit"}, nil); err == nil || !strings.Contains(err.Error(), "ansible_os_family") {
		t.Fatalf("explicit gathering: %v", err)
	}
	e = mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: x\n- hosts: hz-1\n  gather_facts: true\n  tasks:\n    - rec: y\n", Options{Gathering: "explicit"}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("explicit: exit %d", code)
	}
	n := 0
	for _, ev := range e.sink.all() {
		if ev.Kind == events.TaskStart && ev.Task == gatheringName {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("explicit gathering gathered in %d plays, want only the one that asks", n)
	}
}

// TestStartAtTaskStillGathers: facts are gathered before --start-at-task's task, and the
// gathering is never where a resume starts.
func TestStartAtTaskStillGathers(t *testing.T) {
	e := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: first\n    - name: second\n      rec: 'on {{ .ansible_os_family }}'\n", Options{StartAtTask: "second", Gathering: "implicit"}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); len(got) != 1 || !strings.HasPrefix(got[0], "on ") {
		t.Fatalf("ran %q, want only the second task, with facts", got)
	}
	if n := len(e.sink.results(gatheringName)); n != 1 {
		t.Fatalf("%d gathering results, want 1", n)
	}
}
