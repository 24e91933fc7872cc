package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
)

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	sink := NewJSON(&buf)
	evs := scripts["run"].events
	for _, e := range evs {
		sink.Emit(e)
	}
	sink.Emit(events.Event{Kind: events.HostResult, Host: "x", Result: map[string]any{"fn": func() {}}})
	if err := sink.Err(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var n int
	for sc.Scan() {
		var got map[string]any
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", n+1, err, sc.Text())
		}
		if n < len(evs) && got["event"] != string(evs[n].Kind) {
			t.Errorf("line %d: event %v, want %s", n+1, got["event"], evs[n].Kind)
		}
		if strings.Contains(sc.Text(), "hunter22") {
			t.Errorf("line %d shows a command's stdin: %s", n+1, sc.Text())
		}
		n++
	}
	if n != len(evs)+1 {
		t.Errorf("got %d lines, want %d", n, len(evs)+1)
	}
}

func TestScrub(t *testing.T) {
	in := map[string]any{
		"stdin":           "hunter22",
		"become_password": "pw",
		"rc":              0,
		"empty_password":  "",
		"results":         []any{map[string]any{"stdin": "x", "stdout": "y"}},
		"nested":          map[string]any{"Password": "p"},
	}
	got := Scrub(in)
	want := map[string]any{
		"stdin":           "********",
		"become_password": "********",
		"rc":              0,
		"empty_password":  "",
		"results":         []any{map[string]any{"stdin": "********", "stdout": "y"}},
		"nested":          map[string]any{"Password": "********"},
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("Scrub = %s, want %s", gb, wb)
	}
	if in["stdin"] != "hunter22" {
		t.Error("Scrub changed its input")
	}
	if Scrub(nil) != nil {
		t.Error("Scrub(nil) is not nil")
	}
}
