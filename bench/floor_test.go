package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
)

// The floor's tests use the last two benchmark addresses on port 2223, so that they never meet
// a benchmark run (port 2222) on the same machine.
var testAddrs = []string{"127.0.1.199", "127.0.1.200"}

const testPort = 2223

// startTestNodes starts real sshd nodes, or skips (fails under CI=true) where the machine
// cannot run them.
func startTestNodes(tb testing.TB) *sshd.Cluster {
	tb.Helper()
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(tb, "real sshd nodes unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: filepath.Join(tb.TempDir(), "sshd"), Addrs: testAddrs, Port: testPort, NamePrefix: "benchtest"})
	if err != nil {
		tb.Fatalf("start sshd nodes: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("stop sshd nodes: %v", err)
		}
	})
	return c
}

func floorTargets(c *sshd.Cluster) []FloorTarget {
	var t []FloorTarget
	for _, n := range c.Nodes {
		t = append(t, FloorTarget{Addr: n.Address()})
	}
	return t
}

func TestFloorRunsOnRealNodes(t *testing.T) {
	c := startTestNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}
	f, err := DialFloor(ctx, cfg, floorTargets(c))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Run(ctx, 3, "/bin/true"); err != nil {
		t.Fatalf("the floor failed on /bin/true: %v", err)
	}
	if _, err := f.RunLockstep(ctx, 2, "/bin/true"); err != nil {
		t.Fatalf("the lockstep floor failed on /bin/true: %v", err)
	}
	// It checks the exit status: a failing command is an error, not a fast sample.
	if _, err := f.Run(ctx, 1, "/bin/false"); err == nil {
		t.Error("the floor accepted /bin/false's exit status 1")
	}
	if _, err := f.RunLockstep(ctx, 1, "/bin/false"); err == nil {
		t.Error("the lockstep floor accepted /bin/false's exit status 1")
	}
	// The commands really ran on the nodes: each node's sshd logged the logins.
	for _, n := range c.Nodes {
		b, _ := os.ReadFile(n.LogFile)
		if !strings.Contains(string(b), "Accepted publickey") {
			t.Errorf("node %s logged no accepted login:\n%s", n.Name, b)
		}
	}
}

func TestFloorVerifiesHostKeys(t *testing.T) {
	c := startTestNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A known_hosts that lists only the first node: the second must be refused.
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(wrong, []byte(c.Nodes[0].HostKeyLine+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := DialFloor(ctx, FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: wrong}, floorTargets(c))
	if err == nil {
		t.Fatal("the floor connected to a host whose key known_hosts does not list")
	}
	if !strings.Contains(err.Error(), c.Nodes[1].Addr) {
		t.Errorf("error %q does not name the refused host %s", err, c.Nodes[1].Addr)
	}
}

func TestFloorCancel(t *testing.T) {
	c := startTestNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := DialFloor(ctx, FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}, floorTargets(c))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, err := f.Run(short, 1, "sleep 30"); err == nil {
		t.Fatal("a cancelled floor run gave no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// BenchmarkFloorSession is the cost of one `/bin/true` session on an already-open
// connection: the floor's unit of work (per host-task, one host).
func BenchmarkFloorSession(b *testing.B) {
	c := startTestNodes(b)
	ctx := context.Background()
	f, err := DialFloor(ctx, FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}, floorTargets(c)[:1])
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.Run(ctx, 1, "/bin/true"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorDial is the cost of one connection: TCP, key exchange, host key check and
// public key login.
func BenchmarkFloorDial(b *testing.B) {
	c := startTestNodes(b)
	ctx := context.Background()
	cfg := FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}
	targets := floorTargets(c)[:1]
	b.ResetTimer()
	for b.Loop() {
		f, err := DialFloor(ctx, cfg, targets)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkFloorParallel runs 10 sessions on each of the test nodes at once, the floor of
// workload 1 on two hosts.
func BenchmarkFloorParallel(b *testing.B) {
	c := startTestNodes(b)
	ctx := context.Background()
	f, err := DialFloor(ctx, FloorConfig{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}, floorTargets(c))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.Run(ctx, 10, "/bin/true"); err != nil {
			b.Fatal(fmt.Errorf("floor: %w", err))
		}
	}
}
