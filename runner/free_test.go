package runner

import (
	"strings"
	"testing"
	"time"
)

// TestStrategyFree: with strategy free a host goes on to its next task without waiting for
// the others; facts one host sets are visible through hostvars to the others' later tasks
// (the race detector watches the reads); run_once is warned about and runs everywhere.
func TestStrategyFree(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1:hz-2:hz-3
  strategy: free
  tasks:
    - rec: {msg: first, sleep: '{{ if eq .inventory_hostname "hz-1" }}300ms{{ else }}1ms{{ end }}'}
    - set_fact: {mark: 'from-{{ .inventory_hostname }}'}
    - rec: 'second sees {{ len .hostvars }} hosts'
    - rec: once
      run_once: true
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
	}
	var slowFirstEnd, fastSecond time.Time
	for _, c := range e.rec.all() {
		switch {
		case c.Host == "hz-1" && c.Msg == "first":
			slowFirstEnd = c.Start.Add(300 * time.Millisecond)
		case c.Host == "hz-2" && strings.HasPrefix(c.Msg, "second"):
			fastSecond = c.Start
		}
	}
	if fastSecond.IsZero() || !fastSecond.Before(slowFirstEnd) {
		t.Fatalf("hz-2 started its second task at %v, not before hz-1's first ended (%v): it waited", fastSecond, slowFirstEnd)
	}
	if hosts := e.hostsFor("once"); len(hosts) != 3 {
		t.Fatalf("run_once under free ran on %v, want every host", hosts)
	}
	if !strings.Contains(e.sink.jsonText(t), "run_once with the free strategy runs the task on every host") {
		t.Fatal("no warning for run_once under free")
	}
	if st := e.sink.recap()["hz-3"]; st.OK != 4 {
		t.Fatalf("hz-3 recap %+v", *st)
	}
}
