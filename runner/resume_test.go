package runner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestResumeRestoresNotificationsAndLoops: a host that failed after a task notified a handler
// gets the handler run when the resumed run flushes; a loop that finished is not run again.
func TestResumeRestoresNotificationsAndLoops(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ready")
	journals := t.TempDir()
	pb := `
- hosts: hz-1
  tasks:
    - name: loop
      rec: 'item {{ .item }}'
      loop: [a, b]
    - name: change
      rec: {msg: changed, change: true}
      notify: restart
    - name: gate
      shell: test -e ` + marker + `
    - name: after
      rec: after
  handlers:
    - name: restart
      rec: restarted
`
	e := mustLoad(t, pb, Options{JournalDir: journals}, nil)
	if code := (&Plan{impl: e.plan}).Run(context.Background(), e.sink); code != ExitFailed {
		t.Fatalf("first run: exit %d", code)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"item a", "item b", "changed"}) {
		t.Fatalf("first run ran %q", got)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The same playbook and inventory files, resumed.
	opts := e.plan.opts
	opts.Resume = "last"
	p, err := loadWith(context.Background(), opts, e.lookup)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	p.dial = e.plan.dial
	if code := (&Plan{impl: p}).Run(context.Background(), e.sink); code != ExitOK {
		t.Fatalf("resumed run: exit %d; events:\n%s", code, e.sink.jsonText(t))
	}
	if got := e.msgsOf("hz-1")[3:]; !reflect.DeepEqual(got, []string{"after", "restarted"}) {
		t.Fatalf("the resumed run ran %q, want the rest and the handler the first run owed", got)
	}
	if !strings.Contains(e.sink.jsonText(t), `"resume":"`) {
		t.Fatal("the resumed run's start does not name the journal it goes on from")
	}
}

// TestInputHashMasksSecrets: the hash of the extra vars the journal keeps is taken over them
// with secrets masked, so it gives nothing to guess a weak password back from.
func TestInputHashMasksSecrets(t *testing.T) {
	pb := "- hosts: hz-1\n  secrets: [token]\n  tasks:\n    - rec: x\n"
	a := mustLoad(t, pb, Options{ExtraVars: []string{"token=abc123"}}, nil)
	b := mustLoad(t, pb, Options{ExtraVars: []string{"token=zzz999"}}, nil)
	c := mustLoad(t, pb, Options{ExtraVars: []string{"other=1"}}, nil)
	ha, hb, hc := a.plan.inputHashes()["-e"], b.plan.inputHashes()["-e"], c.plan.inputHashes()["-e"]
	if ha != hb {
		t.Fatal("the hash of the extra vars depends on a secret's value")
	}
	if ha == hc {
		t.Fatal("the hash of the extra vars does not see a changed plain variable")
	}
}
