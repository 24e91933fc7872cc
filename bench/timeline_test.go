package bench

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/runner"
)

// timelineSink records when each event arrived.
type timelineSink struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func (s *timelineSink) Emit(e events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, time.Since(s.start).Round(100*time.Microsecond).String()+" "+string(e.Kind)+" "+e.Task+" "+e.Host)
}

// TestEngineTimeline logs when each event of a 3-task run on the test nodes arrives, to see
// where a run's wall time goes (OMSBENCH_TIMELINE=1 to run it).
func TestEngineTimeline(t *testing.T) {
	if os.Getenv("OMSBENCH_TIMELINE") == "" {
		t.Skip("a diagnostic: set OMSBENCH_TIMELINE=1 to log the event timeline of a run")
	}
	playbook, inv := engineCase(t, 3)
	for range 3 {
		ctx := context.Background()
		t0 := time.Now()
		plan, err := runner.Load(ctx, runner.Options{Playbook: playbook, Inventories: []string{inv}, Forks: 50, JournalDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		loaded := time.Since(t0)
		sink := &timelineSink{start: time.Now()}
		code := plan.Run(ctx, sink)
		t.Logf("load %s, run %s, exit %d", loaded, time.Since(sink.start), code)
		if code != runner.ExitOK {
			t.Fatalf("the run exited %d", code)
		}
		for _, l := range sink.lines {
			t.Log(l)
		}
	}
}
