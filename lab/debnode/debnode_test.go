package debnode

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestNodes starts a systemd node and a sysvinit node on 127.0.5.18-19 and proves what the
// module tests rely on: sshd on the node's own loopback address, the init system asked for,
// and the node's own UTS namespace.
func TestNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with Docker; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Available(ctx); err != nil {
		testutil.SkipOrFail(t, "debian nodes unavailable: %v", err)
	}
	start := time.Now()
	built, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: built=%v in %v", Tag, built, time.Since(start).Round(time.Millisecond))
	for _, systemd := range []bool{true, false} {
		addr := "127.0.5.18"
		if !systemd {
			addr = "127.0.5.19"
		}
		c, err := Start(ctx, Config{Dir: t.TempDir(), Addrs: []string{addr}, Systemd: systemd})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		n := c.Nodes[0]
		comm, err := n.Exec(ctx, "cat /proc/1/comm")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(comm) == "systemd"; got != systemd {
			t.Fatalf("PID 1 is %q, want systemd=%v", comm, systemd)
		}
		if out, err := n.Exec(ctx, "hostname"); err != nil || strings.TrimSpace(out) != n.Name {
			t.Fatalf("hostname %q, %v", out, err)
		}
		if systemd {
			out, _ := n.Exec(ctx, "systemctl is-system-running --wait")
			t.Logf("systemctl is-system-running: %s", strings.TrimSpace(out))
		}
	}
}
