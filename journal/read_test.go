package journal

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
)

func TestReadEventsAndFind(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var last string
	for i := 0; i < 3; i++ {
		j, err := Open(dir, "pb/site.yml", now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		j.Emit(events.Event{Kind: events.RunStart, Playbook: "pb/site.yml"})
		j.Emit(events.Event{Kind: events.HostResult, Task: "t", Host: "h", Status: events.Changed, Result: map[string]any{"rc": 0}})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		last = j.Path()
	}
	other, _ := Open(dir, "other.yml", now.Add(time.Hour))
	_ = other.Close()
	got, err := Find(dir, "pb/site.yml", "last")
	if err != nil || got != last {
		t.Fatalf("Find last = %q, %v; want %q", got, err, last)
	}
	// A playbook whose name ends in a number, and a second run of it in the same second.
	var oms string
	for i := 0; i < 2; i++ {
		j, err := Open(dir, "playbooks/upgrade-422-to-423.yml", now.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		_ = j.Close()
		oms = j.Path()
	}
	if !strings.HasSuffix(oms, "-upgrade-422-to-423-2.jsonl") {
		t.Fatalf("second journal of the same second: %s", oms)
	}
	if got, err := Find(dir, "playbooks/upgrade-422-to-423.yml", "last"); err != nil || got != oms {
		t.Fatalf("Find last of upgrade-422-to-423 = %q, %v; want %q", got, err, oms)
	}
	if _, err := Find(dir, "playbooks/upgrade-422-to.yml", "last"); err == nil {
		t.Fatal("Find last of upgrade-422-to finds upgrade-422-to-423's journals")
	}
	if got, err := Find(dir, "", "last"); err != nil || got != other.Path() {
		t.Fatalf("Find last of any playbook = %q, %v; want %q", got, err, other.Path())
	}
	if _, err := Find(t.TempDir(), "", "last"); err == nil || !strings.Contains(err.Error(), "no journal in") {
		t.Fatalf("Find last in an empty directory: %v", err)
	}
	f, err := os.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := ReadEvents(f)
	if err != nil || len(evs) != 2 || evs[1].Host != "h" || evs[1].Status != events.Changed {
		t.Fatalf("ReadEvents = %+v, %v", evs, err)
	}
	if _, err := Find(dir, "pb/site.yml", "nope"); err == nil {
		t.Fatal("Find of a run that is not there")
	}
	// A last line cut short is left out; a bad line before it is an error.
	evs, err = ReadEvents(strings.NewReader(`{"event":"run_start"}` + "\n" + `{"event":"host_res`))
	if err != nil || len(evs) != 1 {
		t.Fatalf("cut short: %+v, %v", evs, err)
	}
	if _, err := ReadEvents(strings.NewReader("not json\n{}\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad line: %v", err)
	}
}

// FuzzReadEvents: any bytes give events or an error, never a panic or a hang.
func FuzzReadEvents(f *testing.F) {
	f.Add([]byte(`{"event":"run_start","time":"2026-12-01T10:00:00Z"}` + "\n"))
	f.Add([]byte(`{"event":"host_result","host":"h","result":{"rc":1,"stdout":"x"}}` + "\n" + `{"eve`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadEvents(bytes.NewReader(data))
	})
}
