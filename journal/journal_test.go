package journal

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
)

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct{ playbook, want string }{
		{"playbooks/up.yml", "playbooks/.omsbook/runs"},
		{"up.yml", ".omsbook/runs"},
		{"/srv/pb/up.yml", "/srv/pb/.omsbook/runs"},
	} {
		if got := DefaultDir(tc.playbook); got != filepath.FromSlash(tc.want) {
			t.Errorf("DefaultDir(%q) = %q, want %q", tc.playbook, got, tc.want)
		}
	}
}

func TestJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "nested")
	now := time.Date(2026, 11, 26, 15, 4, 5, 0, time.FixedZone("CST", 8*3600))
	j, err := Open(dir, "playbooks/upgrade-422-to-423.yml", now)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "20261126T070405Z-upgrade-422-to-423.jsonl")
	if j.Path() != want {
		t.Errorf("Path = %q, want %q", j.Path(), want)
	}
	evs := []events.Event{
		{Kind: events.RunStart, Playbook: "upgrade-422-to-423.yml"},
		{Kind: events.HostResult, Host: "oms-hz-1", Status: events.Changed, Result: map[string]any{"stdin": "s3cret-stdin", "rc": 0}},
		{Kind: events.RunEnd, ExitCode: 0},
	}
	for _, e := range evs {
		j.Emit(e)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j.Emit(events.Event{Kind: events.Warning, Msg: "after close"}) // dropped, no panic
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	fi, err := os.Stat(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("journal dir mode %v, want 0700", di.Mode().Perm())
	}
	f, err := os.Open(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var kinds []string
	for sc.Scan() {
		var e events.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if strings.Contains(sc.Text(), "s3cret-stdin") {
			t.Errorf("journal holds a command's stdin: %s", sc.Text())
		}
		kinds = append(kinds, string(e.Kind))
	}
	if got := strings.Join(kinds, ","); got != "run_start,host_result,run_end" {
		t.Errorf("journal events %s, want run_start,host_result,run_end", got)
	}
}

func TestOpenSameSecond(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var paths []string
	for i := 0; i < 3; i++ {
		j, err := Open(dir, "site.yml", now)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(j.Path()))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := "20260102T030405Z-site.jsonl,20260102T030405Z-site-2.jsonl,20260102T030405Z-site-3.jsonl"
	if got := strings.Join(paths, ","); got != want {
		t.Errorf("paths %s, want %s", got, want)
	}
}

func TestOpenUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(file, "runs"), "site.yml", time.Now())
	if err == nil || !strings.Contains(err.Error(), "--journal-dir") {
		t.Errorf("Open under a file: err %v, want one that points to --journal-dir", err)
	}
}
