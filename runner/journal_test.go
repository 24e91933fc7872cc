package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestRunWritesItsJournal: the runner itself honours Options.JournalDir: Run writes every
// event there, names the file on the RunEnd event, and a directory that cannot be made stops
// the run before anything runs.
func TestRunWritesItsJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - rec: hello
`, Options{JournalDir: dir}, nil)
	plan := &Plan{impl: e.plan}
	if code := plan.Run(context.Background(), e.sink); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	end := e.sink.end()
	if filepath.Dir(end.Journal) != dir {
		t.Fatalf("RunEnd names journal %q, want one in %s", end.Journal, dir)
	}
	data, err := os.ReadFile(end.Journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event":"run_start"`, `"task":"rec"`, `"event":"run_end"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("journal lacks %s:\n%s", want, data)
		}
	}

	blocked := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: hello\n", Options{JournalDir: filepath.Join(end.Journal, "under-a-file")}, nil)
	plan = &Plan{impl: blocked.plan}
	if _, err := plan.Start(); err == nil || !strings.Contains(err.Error(), "--journal-dir") {
		t.Fatalf("Start under a file: %v, want an error pointing at --journal-dir", err)
	}
	if code := plan.Run(context.Background(), blocked.sink); code != ExitBadInput {
		t.Fatalf("Run with no journal: exit %d, want %d", code, ExitBadInput)
	}
	if got := blocked.rec.all(); len(got) != 0 {
		t.Fatalf("tasks ran without a journal: %v", got)
	}
}

// TestRunStartSaysWhoRanIt: the run's start names the command line with its secrets masked,
// the user (and who became it with sudo), the controller and the working directory.
func TestRunStartSaysWhoRanIt(t *testing.T) {
	t.Setenv("SUDO_USER", "alice-from-sudo")
	e := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: hello\n", Options{JournalDir: filepath.Join(t.TempDir(), "runs"),
		Command: []string{"omsbook", "run", "play.yml", "-e", "db={password: hunter2secret}"}}, nil)
	plan := &Plan{impl: e.plan}
	if code := plan.Run(context.Background(), e.sink); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	start := e.sink.all()[0]
	wd, _ := os.Getwd()
	host, _ := os.Hostname()
	if start.Command != "omsbook run play.yml -e 'db={password: ********}'" || !strings.HasSuffix(start.User, " (through sudo, by alice-from-sudo)") ||
		start.Dir != wd || start.Controller != host {
		t.Errorf("RunStart: command %q, user %q, controller %q, dir %q", start.Command, start.User, start.Controller, start.Dir)
	}
}

// TestRunNamesTransfersForItsRun: the runner gives its run id (its journal's name) to the
// transfers of its tasks: a copy removes the temporary file of its destination that an older
// run left, and keeps the one named with this run's id.
func TestRunNamesTransfersForItsRun(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.conf")
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := mustLoad(t, `
- hosts: hz-1
  tasks:
    - copy: {content: "new\n", dest: "`+dest+`"}
`, Options{JournalDir: filepath.Join(t.TempDir(), "runs"), Now: func() time.Time { return start }}, nil)
	older := ".app.conf.omsbook-tmp-20261130T080000Z-play-0123456789ab"
	own := ".app.conf.omsbook-tmp-20261201T120000Z-play-0123456789ab"
	testutil.WriteOld(t, dir, older, own)
	if code := (&Plan{impl: e.plan}).Run(context.Background(), e.sink); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
	if got := filepath.Base(e.sink.end().Journal); got != "20261201T120000Z-play.jsonl" {
		t.Fatalf("journal %s; the test expects the run id 20261201T120000Z-play", got)
	}
	if got := testutil.DirNames(t, dir); got != own+" app.conf" {
		t.Fatalf("after the run the directory holds %s; want this run's temporary file and app.conf", got)
	}
}
