package output

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/testutil"
)

// fakeTerm is a Text with a status line on a terminal of width columns whose clock and
// ticks the test drives.
type fakeTerm struct {
	buf  bytes.Buffer
	text *Text
	now  time.Time
}

func newFakeTerm(width int, color bool) *fakeTerm {
	ft := &fakeTerm{now: t0}
	ft.text = NewText(&ft.buf, TextOptions{Progress: true, Color: color, Width: func() int { return width }})
	ft.text.clock = func() time.Time { return ft.now }
	ft.text.manualTick = true
	return ft
}

// at moves the clock to sec seconds after t0 and emits e (a tick when e is nil).
func (ft *fakeTerm) at(sec float64, e *events.Event) {
	ft.now = at(sec)
	if e == nil {
		ft.text.mu.Lock()
		ft.text.status.draw(ft.now)
		ft.text.mu.Unlock()
		return
	}
	e.Time = ft.now
	ft.text.Emit(*e)
}

func progress(task, host, phase string, done, total int64, unit string) *events.Event {
	return &events.Event{Kind: events.Progress, Task: task, Host: host, Progress: &events.TaskProgress{Phase: phase, Done: done, Total: total, Unit: unit}}
}

// statusScript is a run with a long backup, a wait_online, and a failing host.
func statusScript(ft *fakeTerm) {
	const backup, wait = "U422-04 back up rm, cm and every region's heartbeat database", "U422-10 wait until every node is Online"
	const mib = 1 << 20
	ft.at(0, &events.Event{Kind: events.PlayStart, Play: "U422-02..05", Hosts: []string{"oms-hz-1", "oms-sh-1"}})
	ft.at(0, &events.Event{Kind: events.TaskStart, Task: backup})
	ft.at(0, progress(backup, "", events.PhaseTask, 0, 1, ""))
	ft.at(0, progress(backup, "oms-hz-1", events.PhaseHostStart, 0, 0, ""))
	ft.at(0.5, nil) // too soon: a short task never shows the line
	ft.at(1.2, progress(backup, "oms-hz-1", events.PhaseModule, 1*mib, 4*mib, "bytes"))
	ft.at(1.25, progress(backup, "oms-hz-1", events.PhaseModule, 2*mib, 4*mib, "bytes")) // within 100ms: not drawn
	ft.at(1.4, nil)
	ft.at(1.45, nil) // nothing new: nothing written
	ft.at(2.0, progress(backup, "oms-hz-1", events.PhaseModule, 5*mib, 4*mib, "bytes"))
	ft.at(2.1, &events.Event{Kind: events.HostResult, Task: backup, Host: "oms-hz-1", Status: events.Changed, Duration: 2100 * time.Millisecond})
	okEnd := progress(backup, "oms-hz-1", events.PhaseHostEnd, 0, 0, "")
	okEnd.Status = events.Changed
	ft.at(2.1, okEnd)
	ft.at(2.3, nil) // every host done: the line is gone and stays gone

	ft.at(3, &events.Event{Kind: events.TaskStart, Task: wait})
	ft.at(3, progress(wait, "", events.PhaseTask, 0, 2, ""))
	ft.at(3, progress(wait, "oms-hz-1", events.PhaseHostStart, 0, 0, ""))
	ft.at(3, progress(wait, "oms-sh-1", events.PhaseHostStart, 0, 0, ""))
	ft.at(4.5, progress(wait, "oms-hz-1", events.PhaseModule, 1, 3, "nodes Online"))
	ft.at(4.6, &events.Event{Kind: events.HostResult, Task: wait, Host: "oms-sh-1", Status: events.Failed, Msg: "timed out"})
	failedEnd := progress(wait, "oms-sh-1", events.PhaseHostEnd, 0, 0, "")
	failedEnd.Status = events.Failed
	ft.at(4.6, failedEnd)
	ft.at(4.7, nil)
	ft.at(4.8, &events.Event{Kind: events.Progress, Progress: &events.TaskProgress{Phase: events.PhasePrompt}})
	ft.at(5.0, nil) // a prompt is open: no line
	ft.at(5.1, &events.Event{Kind: events.Progress, Progress: &events.TaskProgress{Phase: events.PhasePromptDone}})
	ft.at(5.2, nil)
	ft.at(6, &events.Event{Kind: events.Recap, Stats: map[string]*events.Stats{"oms-hz-1": {Changed: 1}, "oms-sh-1": {Failed: 1}}})
}

// visible shows a byte stream's carriage returns and escapes, one write per line kept as
// written: the golden file shows what the terminal receives.
func visible(b []byte) []byte {
	s := strings.NewReplacer("\r", `\r`, "\x1b", `\e`).Replace(string(b))
	return []byte(s)
}

// TestStatusLineGolden: the exact bytes a terminal receives: the line drawn after a task has
// run a second, at most every 100ms, redrawn only when it changes, erased (\r\e[K) before
// every output line, while a prompt is open and when the task ends, cut to the width.
func TestStatusLineGolden(t *testing.T) {
	ft := newFakeTerm(100, false)
	statusScript(ft)
	testutil.Golden(t, filepath.Join("testdata", "status.golden"), visible(ft.buf.Bytes()))

	narrow := newFakeTerm(40, false)
	statusScript(narrow)
	for _, line := range strings.Split(narrow.buf.String(), "\r") {
		line = strings.TrimSuffix(strings.TrimPrefix(line, "\x1b[K"), "\x1b[K")
		if first, _, _ := strings.Cut(line, "\n"); len([]rune(first)) > 39 && strings.HasPrefix(first, "[") {
			t.Errorf("status line wider than the terminal (40): %q", first)
		}
	}

	colored := newFakeTerm(200, true)
	statusScript(colored)
	if !strings.Contains(colored.buf.String(), "\x1b[31m, 1 failed\x1b[0m") {
		t.Errorf("coloured status line lacks the red failed count:\n%s", visible(colored.buf.Bytes()))
	}
}

// TestNoProgressWithoutATerminal: a text sink without Progress (a pipe, a file) and the JSON
// sink write not one byte for progress events.
func TestNoProgressWithoutATerminal(t *testing.T) {
	var text, js bytes.Buffer
	sinks := []events.Sink{NewText(&text, TextOptions{Color: true}), NewJSON(&js)}
	for _, s := range sinks {
		for _, e := range []*events.Event{progress("t", "", events.PhaseTask, 0, 2, ""), progress("t", "h", events.PhaseHostStart, 0, 0, ""),
			progress("t", "h", events.PhaseModule, 5, 10, "bytes"), {Kind: events.Progress, Progress: &events.TaskProgress{Phase: events.PhasePrompt}}} {
			s.Emit(*e)
		}
	}
	if text.Len() != 0 || js.Len() != 0 {
		t.Fatalf("progress events wrote text %q and JSON %q", text.String(), js.String())
	}
}

func TestDescribeProgress(t *testing.T) {
	for _, tc := range []struct {
		p    events.TaskProgress
		want string
	}{
		{events.TaskProgress{Done: 2, Total: 3, Unit: "nodes Online"}, "2/3 nodes Online"},
		{events.TaskProgress{Done: 7, Unit: "items"}, "7 items"},
		{events.TaskProgress{Done: 3 << 20, Total: 12 << 20, Unit: "bytes"}, "3.0 MiB/12.0 MiB (25%)"},
		{events.TaskProgress{Done: 13 << 20, Total: 12 << 20, Unit: "bytes"}, "13.0 MiB"},
		{events.TaskProgress{Done: 512, Unit: "bytes"}, "512 B"},
		{events.TaskProgress{Done: 3 << 30, Total: 0, Unit: "bytes"}, "3.0 GiB"},
	} {
		if got := describeProgress(&tc.p); got != tc.want {
			t.Errorf("describeProgress(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
