package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/runner"
	"github.com/omsbook/omsbook/transport"
)

// countSink counts events; the engine's output formatting is not what these benchmarks time.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Emit(events.Event) { s.n.Add(1) }

// engineCase writes workload 1's playbook and an inventory of the test nodes.
func engineCase(tb testing.TB, tasks int) (playbook, inv string) {
	c := startTestNodes(tb)
	var hosts []Host
	for _, n := range c.Nodes {
		hosts = append(hosts, Host{Name: n.Name, Addr: n.Addr, Port: n.Port})
	}
	dir := tb.TempDir()
	data, err := OmsbookInventory(Access{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}, hosts, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	inv, playbook = filepath.Join(dir, "inv.yml"), filepath.Join(dir, "playbook.yml")
	if err := WriteFile(inv, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := WriteFile(playbook, CommandPlaybook(tasks), 0o644); err != nil {
		tb.Fatal(err)
	}
	return playbook, inv
}

// runEngine loads and runs the playbook in-process, as `omsbook run` does.
func runEngine(tb testing.TB, playbook, inv string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan, err := runner.Load(ctx, runner.Options{Playbook: playbook, Inventories: []string{inv}, Forks: 50, JournalDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	var sink countSink
	if code := plan.Run(ctx, &sink); code != runner.ExitOK {
		tb.Fatalf("the run exited %d", code)
	}
	if sink.n.Load() == 0 {
		tb.Fatal("the run emitted no event")
	}
}

func TestEngineRunsWorkloadOne(t *testing.T) {
	playbook, inv := engineCase(t, 2)
	runEngine(t, playbook, inv)
}

// BenchmarkEngineCommand runs workload 1 (10 x /bin/true) on the two test nodes in-process:
// load, dial, run, close. With -cpuprofile it shows where omsbook's own time goes, e.g.
//
//	go test -run XXX -bench EngineCommand -benchtime 20x -cpuprofile /tmp/cpu.out ./bench/
func BenchmarkEngineCommand(b *testing.B) {
	for _, tasks := range []int{1, 10} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			playbook, inv := engineCase(b, tasks)
			for b.Loop() {
				runEngine(b, playbook, inv)
			}
		})
	}
}

// BenchmarkTransportExec is one `/bin/true` through omsbook's ssh transport on an open
// connection: the transport's share of a host-task, beside BenchmarkFloorSession.
func BenchmarkTransportExec(b *testing.B) {
	c := startTestNodes(b)
	ctx := context.Background()
	n := c.Nodes[0]
	conn, err := transport.Dial(ctx, transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, KnownHosts: c.KnownHosts, SSHKey: c.ClientKey})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ResetTimer()
	for b.Loop() {
		res, err := conn.Exec(ctx, &transport.Cmd{Argv: []string{"/bin/true"}})
		if err != nil || res.RC != 0 {
			b.Fatalf("exec: %v %+v", err, res)
		}
	}
}

// BenchmarkTransportDial is one connection through omsbook's ssh transport, beside
// BenchmarkFloorDial.
func BenchmarkTransportDial(b *testing.B) {
	c := startTestNodes(b)
	ctx := context.Background()
	n := c.Nodes[0]
	spec := transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, KnownHosts: c.KnownHosts, SSHKey: c.ClientKey}
	for b.Loop() {
		conn, err := transport.Dial(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}

// BenchmarkEngineExternal runs a playbook and inventory named by OMSBENCH_PLAYBOOK and
// OMSBENCH_INVENTORY in-process, e.g. workload 1 at 50 hosts on nodes `omsbench --serve 50`
// keeps up, so that -cpuprofile shows where omsbook's time goes at that scale:
//
//	OMSBENCH_PLAYBOOK=/var/tmp/omsbench/cases/serve/playbook.yml \
//	OMSBENCH_INVENTORY=/var/tmp/omsbench/cases/serve/omsbook-inventory.yml \
//	go test -run XXX -bench EngineExternal -benchtime 5x -cpuprofile /tmp/cpu.out ./bench/
func BenchmarkEngineExternal(b *testing.B) {
	playbook, inv := os.Getenv("OMSBENCH_PLAYBOOK"), os.Getenv("OMSBENCH_INVENTORY")
	if playbook == "" || inv == "" {
		b.Skip("set OMSBENCH_PLAYBOOK and OMSBENCH_INVENTORY to a playbook and inventory to run")
	}
	for b.Loop() {
		runEngine(b, playbook, inv)
	}
}
