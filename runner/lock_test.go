package runner

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunLock: a changing run holds its inventory's lock; a second one is refused naming the
// holder; a dry run needs none; a lock its holder died with is taken over with a warning.
func TestRunLock(t *testing.T) {
	t.Setenv("OMSBOOK_LOCK_DIR", t.TempDir())
	pb := "- hosts: hz-1\n  tasks:\n    - rec: x\n"
	first := mustLoad(t, pb, Options{}, nil)
	firstPlan := &Plan{impl: first.plan}
	if _, err := firstPlan.Start(); err != nil {
		t.Fatal(err)
	}
	second := mustLoad(t, pb, Options{Inventories: first.plan.opts.Inventories}, nil)
	_, err := (&Plan{impl: second.plan}).Start()
	if err == nil || !strings.Contains(err.Error(), "another run holds the inventory's lock: pid "+itoa(os.Getpid())) {
		t.Fatalf("second run: %v, want refused naming this process", err)
	}
	check := mustLoad(t, pb, Options{Inventories: first.plan.opts.Inventories, Check: true}, nil)
	if _, err := (&Plan{impl: check.plan}).Start(); err != nil {
		t.Fatalf("a dry run wants no lock: %v", err)
	}
	if code := firstPlan.Run(context.Background(), first.sink); code != ExitOK {
		t.Fatalf("first run: exit %d", code)
	}
	// The lock went with the run: a new run takes it.
	if _, err := (&Plan{impl: second.plan}).Start(); err != nil {
		t.Fatalf("after the first run ended: %v", err)
	}
	second.plan.closeJournal(nil)

	// A holder that died: its file says so, and the next run takes over, warning.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	data := `{"pid":` + itoa(dead.Process.Pid) + `,"user":"ops","host":"ctl","run_id":"r1","started":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	if err := os.WriteFile(lockPath(first.plan.opts.Inventories), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	third := mustLoad(t, pb, Options{Inventories: first.plan.opts.Inventories}, nil)
	if code := (&Plan{impl: third.plan}).Run(context.Background(), third.sink); code != ExitOK {
		t.Fatalf("third run: exit %d", code)
	}
	if !strings.Contains(third.sink.jsonText(t), "took over the inventory's lock from pid "+itoa(dead.Process.Pid)) {
		t.Fatalf("no warning for the lock taken over:\n%s", third.sink.jsonText(t))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
