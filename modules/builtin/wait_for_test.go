package builtin

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitForAddr is the loopback address the wait_for tests may use (ports are random).
const waitForAddr = "127.0.0.111"

// listenWaitFor opens a listener on a random port of waitForAddr, accepting and closing.
func listenWaitFor(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", waitForAddr+":0")
	if err != nil {
		t.Skipf("cannot listen on %s (loopback range): %v", waitForAddr, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l, l.Addr().(*net.TCPAddr).Port
}

// closedPort returns a port of waitForAddr that nothing listens on.
func closedPort(t *testing.T) int {
	l, port := listenWaitFor(t)
	l.Close()
	return port
}

func TestWaitFor(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, dir string) map[string]any
		wantFailed bool
		wantMsg    string
		minElapsed time.Duration
		wantMatch  string
	}{
		{
			name: "open port",
			setup: func(t *testing.T, dir string) map[string]any {
				_, port := listenWaitFor(t)
				return map[string]any{"host": waitForAddr, "port": port}
			},
		},
		{
			name: "port that opens later",
			setup: func(t *testing.T, dir string) map[string]any {
				port := closedPort(t)
				go func() {
					time.Sleep(400 * time.Millisecond)
					l, err := net.Listen("tcp", net.JoinHostPort(waitForAddr, itoa(port)))
					if err == nil {
						t.Cleanup(func() { l.Close() })
					}
				}()
				return map[string]any{"host": waitForAddr, "port": port, "sleep": "100ms", "timeout": 10}
			},
			minElapsed: 400 * time.Millisecond,
		},
		{
			name: "closed port, stopped",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"host": waitForAddr, "port": closedPort(t), "state": "stopped"}
			},
		},
		{
			name: "timeout names what it waited for",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"host": waitForAddr, "port": closedPort(t), "timeout": "600ms", "sleep": "100ms"}
			},
			wantFailed: true, wantMsg: "timeout after", minElapsed: 500 * time.Millisecond,
		},
		{
			name: "custom timeout message",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join(dir, "never"), "timeout": "200ms", "sleep": "50ms", "msg": "OMS never came up"}
			},
			wantFailed: true, wantMsg: "OMS never came up",
		},
		{
			name: "file that appears later, after a delay",
			setup: func(t *testing.T, dir string) map[string]any {
				p := filepath.Join(dir, "ready")
				go func() { time.Sleep(300 * time.Millisecond); os.WriteFile(p, nil, 0o644) }()
				return map[string]any{"path": p, "delay": "100ms", "sleep": "50ms", "timeout": 10}
			},
			minElapsed: 300 * time.Millisecond,
		},
		{
			name: "file absent",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join(dir, "gone"), "state": "absent"}
			},
		},
		{
			name: "regex in a log that grows",
			setup: func(t *testing.T, dir string) map[string]any {
				p := filepath.Join(dir, "oms.log")
				writeTestFile(t, p, "starting\n", 0o644)
				go func() {
					time.Sleep(300 * time.Millisecond)
					f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
					if err == nil {
						f.WriteString("2026-11-26 OMS service start successfully\n")
						f.Close()
					}
				}()
				return map[string]any{"path": p, "search_regex": "OMS service start \\w+", "sleep": "50ms", "timeout": 10}
			},
			minElapsed: 300 * time.Millisecond, wantMatch: "OMS service start successfully",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			h := newGenHost(t, nil)
			m := WaitFor{}
			args := coerceArgs(t, m, tt.setup(t, dir))
			start := time.Now()
			res, err := m.Apply(context.Background(), h.Host, args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != tt.wantFailed || res.Changed || !strings.Contains(res.Msg, tt.wantMsg) {
				t.Fatalf("%+v, want failed=%v msg %q", res, tt.wantFailed, tt.wantMsg)
			}
			if el := time.Since(start); el < tt.minElapsed || el > tt.minElapsed+5*time.Second {
				t.Fatalf("took %v, want at least %v", el, tt.minElapsed)
			}
			if tt.wantMatch != "" && res.Data["match"] != tt.wantMatch {
				t.Fatalf("match %v, want %q", res.Data["match"], tt.wantMatch)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestWaitForTimeoutMessageNamesTarget(t *testing.T) {
	port := closedPort(t)
	h := newGenHost(t, nil)
	m := WaitFor{}
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"host": waitForAddr, "port": port, "timeout": "200ms", "sleep": "50ms"}))
	want := net.JoinHostPort(waitForAddr, itoa(port)) + " to accept connections"
	if err != nil || !res.Failed || !strings.Contains(res.Msg, want) {
		t.Fatalf("%v %+v, want a failure naming %q", err, res, want)
	}
}

func TestWaitForCheckProbesOnce(t *testing.T) {
	_, open := listenWaitFor(t)
	closed := closedPort(t)
	h := newGenHost(t, nil)
	m := WaitFor{}
	start := time.Now()
	res, err := m.Check(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"host": waitForAddr, "port": open}))
	if err != nil || res.Unknown || res.Failed || res.Changed {
		t.Fatalf("open port: %v %+v", err, res)
	}
	res, err = m.Check(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"host": waitForAddr, "port": closed}))
	if err != nil || !res.Unknown || !strings.Contains(res.Msg, "would wait up to 5m0s") {
		t.Fatalf("closed port: %v %+v", err, res)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Check waited")
	}
}

func TestWaitForCancel(t *testing.T) {
	h := newGenHost(t, nil)
	m := WaitFor{}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Apply(ctx, h.Host, coerceArgs(t, m, map[string]any{"host": waitForAddr, "port": closedPort(t)}))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled wait_for: %v after %v", err, time.Since(start))
	}
}

// TestRemoteTCPProbe runs the probe script that remote hosts get, here through the local
// transport, against an open and a closed port, and on a host with no probing tool.
func TestRemoteTCPProbe(t *testing.T) {
	_, open := listenWaitFor(t)
	closed := closedPort(t)
	h := newGenHost(t, nil)
	ctx := context.Background()
	if ok, err := remoteTCPProbe(ctx, h.Host, waitForAddr, open, time.Second); err != nil || !ok {
		t.Fatalf("open port: %v %v", ok, err)
	}
	if ok, err := remoteTCPProbe(ctx, h.Host, waitForAddr, closed, time.Second); err != nil || ok {
		t.Fatalf("closed port: %v %v", ok, err)
	}
	h.Environment = map[string]string{"PATH": t.TempDir()}
	if _, err := remoteTCPProbe(ctx, h.Host, waitForAddr, open, time.Second); err == nil || !strings.Contains(err.Error(), "neither bash, nc nor python") {
		t.Fatalf("host without tools: %v", err)
	}
}

func TestWaitForValidate(t *testing.T) {
	for _, raw := range []map[string]any{
		{},
		{"port": 1, "path": "/x"},
		{"port": 1, "search_regex": "x"},
		{"path": "/x", "search_regex": "("},
		{"path": "/x", "search_regex": "x", "state": "absent"},
	} {
		args, err := (WaitFor{}).Spec().Coerce(raw, nil)
		if err != nil {
			continue
		}
		if err := (WaitFor{}).Validate(args); err == nil {
			t.Errorf("Validate(%v) accepted it", raw)
		}
	}
}
