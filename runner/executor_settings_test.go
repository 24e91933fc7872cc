package runner

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/transport"
)

// fallbackConn is a connection whose executor could not start.
type fallbackConn struct {
	transport.Conn
	why string
}

func (c fallbackConn) ExecutorFallbackNow() (string, bool) { return c.why, true }

const executorInventory = `
connection: local
regions:
  hz:
    nodes:
      hz-1: {vars: {omsbook_executor: false}}
      hz-2: {vars: {omsbook_executor: "on", omsbook_executor_dir: /srv/cache}}
      hz-3: {}
`

// TestExecutorSetting: each host's dial gets the run's executor setting unless its
// omsbook_executor variable says otherwise, and a host that falls back to sessions is named
// once, at -v only.
func TestExecutorSetting(t *testing.T) {
	for _, verbosity := range []int{0, 1} {
		e := mustLoad(t, `
- hosts: all
  tasks:
    - rec: one
    - rec: two
`, Options{Executor: "on", Verbosity: verbosity}, map[string]string{"inv.yml": executorInventory})
		var mu sync.Mutex
		got := map[string]string{}
		e.plan.dial = func(ctx context.Context, spec transport.Spec) (transport.Conn, error) {
			mu.Lock()
			got[spec.Name] = spec.Executor + " " + spec.ExecutorDir
			mu.Unlock()
			return fallbackConn{transport.NewLocal(spec.Name), "no writable cache directory"}, nil
		}
		if code := e.run(); code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		want := map[string]string{"hz-1": "off ", "hz-2": "on /srv/cache", "hz-3": "on "}
		for h, w := range want {
			if got[h] != w {
				t.Errorf("-v=%d: %s dialed with executor %q, want %q", verbosity, h, got[h], w)
			}
		}
		notes := map[string]int{}
		for _, ev := range e.sink.all() {
			if ev.Kind == events.Warning && strings.Contains(ev.Msg, "no executor (no writable cache directory)") {
				notes[ev.Host]++
			}
		}
		wantNotes := 0
		if verbosity > 0 {
			wantNotes = 1
		}
		for _, h := range []string{"hz-1", "hz-2", "hz-3"} {
			if notes[h] != wantNotes {
				t.Errorf("-v=%d: %s named %d times, want %d: %v", verbosity, h, notes[h], wantNotes, notes)
			}
		}
	}
}
