package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
)

// TestProgressEvents: with Options.Progress the run says which hosts start and finish each
// task and passes a module's progress on (copy: bytes sent, the last report whole); without
// it, and in the journal either way, there is not one Progress event.
func TestProgressEvents(t *testing.T) {
	pb := `
- name: p
  hosts: hz
  tasks:
    - name: S-01 copy
      copy: {content: "{{ .payload }}", dest: "{{ .out }}/{{ .inventory_hostname }}"}
`
	out := t.TempDir()
	payload := strings.Repeat("x", 100_000)
	extra := []string{"out=" + out, "payload=" + payload}
	for _, on := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "runs")
		e := mustLoad(t, pb, Options{Progress: on, ExtraVars: extra, JournalDir: dir, Command: []string{"omsbook", "run", "play.yml"}}, nil)
		plan := &Plan{impl: e.plan}
		if code := plan.Run(context.Background(), e.sink); code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		phases := map[string]int{}
		var last *events.TaskProgress
		for _, ev := range e.sink.all() {
			if ev.Kind != events.Progress {
				continue
			}
			if ev.Progress == nil || ev.Task != "S-01 copy" {
				t.Fatalf("progress event without its news or task: %+v", ev)
			}
			phases[ev.Progress.Phase]++
			if ev.Progress.Phase == events.PhaseModule && ev.Host == "hz-1" {
				last = ev.Progress
			}
			if ev.Progress.Phase == events.PhaseTask && ev.Progress.Total != 3 {
				t.Errorf("task progress total %d, want 3 hosts", ev.Progress.Total)
			}
		}
		data, err := os.ReadFile(e.sink.end().Journal)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"progress"`) {
			t.Errorf("the journal keeps progress events:\n%s", data)
		}
		if !on {
			if len(phases) != 0 {
				t.Errorf("progress events without Options.Progress: %v", phases)
			}
			continue
		}
		if phases[events.PhaseTask] != 1 || phases[events.PhaseHostStart] != 3 || phases[events.PhaseHostEnd] != 3 {
			t.Errorf("phases %v, want 1 task, 3 host starts and 3 host ends", phases)
		}
		if last == nil || last.Unit != "bytes" || last.Done != int64(len(payload)) || last.Total != int64(len(payload)) {
			t.Errorf("last copy progress of hz-1 = %+v, want %d of %d bytes", last, len(payload), len(payload))
		}
		start := e.sink.all()[0]
		if start.Kind != events.RunStart || start.Command != "omsbook run play.yml" || start.User == "" || start.Controller == "" || start.Dir == "" {
			t.Errorf("RunStart does not say who ran what where: %+v", start)
		}
	}
}
