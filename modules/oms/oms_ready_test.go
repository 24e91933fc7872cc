package oms

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOMSReady holds the three conditions against a real container and a health endpoint:
// the log line of the current start (not of an earlier one), data.healthy, and the delay.
func TestOMSReady(t *testing.T) {
	needDocker(t)
	ctx := testCtx(t, 2*time.Minute)
	oh := newTestHost(t)
	m := OMSReady{}
	var healthy atomic.Bool
	port := healthServer(t, func(int64) bool { return healthy.Load() })
	name := testContainerName(t, "ready")
	// The first start writes the line after a second; a restart never writes it again.
	runDocker(t, "run", "-d", "--name", name, testImage, "sh", "-c",
		"if [ -f /tmp/started ]; then exec sleep 3600; fi; touch /tmp/started; sleep 1; echo "+defaultStartedLine+"; exec sleep 3600")
	args := func(extra map[string]any) map[string]any {
		a := map[string]any{"container": name, "ip": "127.0.0.31", "port": port, "delay": "2s", "timeout": "20s", "interval": "200ms"}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}

	r, err := m.Check(ctx, oh.Host, coerceArgs(t, m, args(nil)))
	if err != nil || r.Failed || r.Data["ready"] != false || !strings.Contains(r.Msg, "healthy=false") {
		t.Fatalf("check while unhealthy = %+v, %v; want not ready, not failed", r, err)
	}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, args(map[string]any{"timeout": "3s"})))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "healthy=false") {
		t.Fatalf("apply while unhealthy = %+v, %v; want a timeout naming the health", r, err)
	}
	healthy.Store(true)
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, args(map[string]any{"delay": "4s"})))
	if err != nil || r.Failed || r.Data["ready"] != true || r.Data["log_line_seen"] != true || r.Data["uptime"].(float64) < 4 {
		t.Fatalf("apply = %+v, %v; want ready after the delay", r, err)
	}

	// After a restart the earlier start's line does not count.
	runDocker(t, "restart", "-t", "1", name)
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, args(map[string]any{"delay": "0s", "timeout": "2s"})))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "not yet in the container log") {
		t.Fatalf("apply after a restart = %+v, %v; want the log line missing", r, err)
	}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, args(map[string]any{"log_line": "", "delay": "0s"})))
	if err != nil || r.Failed {
		t.Fatalf("apply without a log line = %+v, %v", r, err)
	}

	// A container that stopped fails at once, with its log.
	runDocker(t, "stop", "-t", "1", name)
	if r, err = m.Check(ctx, oh.Host, coerceArgs(t, m, args(nil))); err != nil || r.Failed || !r.Unknown {
		t.Fatalf("check on a stopped container = %+v, %v; want unknown", r, err)
	}
	start := time.Now()
	r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, args(nil)))
	if !r.Failed || !strings.Contains(r.Msg, "not starting") || !strings.Contains(r.Msg, defaultStartedLine) || time.Since(start) > 10*time.Second {
		t.Fatalf("apply on a stopped container = %+v; want an immediate failure with the log", r)
	}
}
