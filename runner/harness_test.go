package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/transport"
)

// testInventory has two regions of local-connection nodes.
const testInventory = `
connection: local
vars:
  color: blue
  db: {host: 127.0.0.1, password: hunter2secret}
regions:
  hz:
    vars: {rname: hangzhou}
    nodes:
      hz-1: {vars: {node_ip: 10.0.0.11}}
      hz-2: {vars: {node_ip: 10.0.0.12}}
      hz-3: {vars: {node_ip: 10.0.0.13}}
  sh:
    vars: {rname: shanghai}
    nodes:
      sh-1: {vars: {node_ip: 10.0.1.11}}
      sh-2: {vars: {node_ip: 10.0.1.12}}
groups:
  canary: [hz-1]
secrets: [db.password]
`

// sinkRec keeps every event.
type sinkRec struct {
	mu  sync.Mutex
	evs []events.Event
}

func (s *sinkRec) Emit(e events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, e)
}

func (s *sinkRec) all() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Event(nil), s.evs...)
}

// results lists HostResult events, optionally of one task.
func (s *sinkRec) results(task string) []events.Event {
	var out []events.Event
	for _, e := range s.all() {
		if e.Kind == events.HostResult && (task == "" || e.Task == task) {
			out = append(out, e)
		}
	}
	return out
}

func (s *sinkRec) recap() map[string]*events.Stats {
	for _, e := range s.all() {
		if e.Kind == events.Recap {
			return e.Stats
		}
	}
	return nil
}

func (s *sinkRec) end() events.Event {
	for _, e := range s.all() {
		if e.Kind == events.RunEnd {
			return e
		}
	}
	return events.Event{}
}

// jsonText is every event as JSON, to search for leaks.
func (s *sinkRec) jsonText(t *testing.T) string {
	var b strings.Builder
	for _, e := range s.all() {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("marshal event: %v", err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// env is one test's playbook, inventory, modules and recorded results.
type env struct {
	t     *testing.T
	dir   string
	rec   *recorder
	sink  *sinkRec
	plan  *plan
	dials sync.Map // host name -> dial count
	// unreachable hosts fail to dial.
	unreachable map[string]bool
	// held counts the resources the hold module registered and how many were closed.
	held heldCount
}

func (e *env) lookup(name string) (modules.Module, bool) {
	switch name {
	case "rec":
		return recMod{e.rec}, true
	case "flaky":
		return flakyMod{e.rec}, true
	case "set_fact":
		return factMod{}, true
	case "one_of":
		return validatedMod{}, true
	case "hold":
		return holdMod{&e.held}, true
	}
	return registry.Lookup(name)
}

// load writes the files and loads the plan; files maps extra file names to contents.
func loadEnv(t *testing.T, pb string, opts Options, files map[string]string) (*env, error) {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), rec: &recorder{}, sink: &sinkRec{}, unreachable: map[string]bool{}}
	write := func(name, content string) string {
		p := filepath.Join(e.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.TrimLeft(content, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opts.Playbook = write("play.yml", pb)
	if opts.Gathering == "" {
		// As ansible.cfg's gathering = explicit: the engine's tests count events and results
		// exactly, and gather facts only where they say so (gather_test.go tests the default).
		opts.Gathering = "explicit"
	}
	for name, content := range files {
		write(name, content)
	}
	if len(opts.Inventories) == 0 {
		if _, ok := files["inv.yml"]; ok {
			opts.Inventories = []string{filepath.Join(e.dir, "inv.yml")}
		} else if _, ok := files["hosts.ini"]; ok {
			opts.Inventories = []string{filepath.Join(e.dir, "hosts.ini")}
		} else {
			opts.Inventories = []string{write("inv.yml", testInventory)}
		}
	}
	p, err := loadWith(context.Background(), opts, e.lookup)
	if err != nil {
		return e, err
	}
	p.dial = func(ctx context.Context, spec transport.Spec) (transport.Conn, error) {
		n, _ := e.dials.LoadOrStore(spec.Name, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if e.unreachable[spec.Name] {
			return nil, &transport.UnreachableError{Host: spec.Name, Err: os.ErrDeadlineExceeded}
		}
		return transport.NewLocal(spec.Name), nil
	}
	e.plan = p
	return e, nil
}

// mustLoad is load that fails the test on error.
func mustLoad(t *testing.T, pb string, opts Options, files map[string]string) *env {
	t.Helper()
	e, err := loadEnv(t, pb, opts, files)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return e
}

func (e *env) run() int {
	return e.plan.run(context.Background(), e.sink)
}

// calls lists "host:msg" of recorded module calls, in order.
func (e *env) calls() []string {
	var out []string
	for _, c := range e.rec.all() {
		out = append(out, c.Host+":"+c.Msg)
	}
	return out
}

// callsOf lists the hosts a message was recorded for, in order.
func (e *env) hostsFor(msg string) []string {
	var out []string
	for _, c := range e.rec.all() {
		if c.Msg == msg {
			out = append(out, c.Host)
		}
	}
	return out
}

// msgsOf lists the messages recorded for one host, in order.
func (e *env) msgsOf(host string) []string {
	var out []string
	for _, c := range e.rec.all() {
		if c.Host == host {
			out = append(out, c.Msg)
		}
	}
	return out
}
