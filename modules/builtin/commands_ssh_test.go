package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

// TestPingRawScriptOverSSH runs ping, raw and script on a real sshd node: ping answers in
// check mode too; raw and script say unknown in check mode and change nothing; script's
// creates makes its second run ok, and it runs again once the file is removed by hand.
func TestPingRawScriptOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	ctx := context.Background()
	dir := t.TempDir()
	script := filepath.Join(dir, "make.sh")
	writeTestFile(t, script, "#!/bin/sh\nset -e\necho \"args: $*\"\necho \"$PWD\" > \"$2\"\n", 0o644)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	type step struct {
		check   bool
		drift   func()
		changed bool
		unknown bool
		verify  func(t *testing.T, r modules.Result)
	}
	cases := []struct {
		name   string
		module modules.Module
		args   map[string]any
		steps  []step
	}{
		{"ping", Ping{}, map[string]any{}, []step{
			{verify: func(t *testing.T, r modules.Result) {
				if r.Data["ping"] != "pong" {
					t.Fatalf("%+v", r)
				}
			}},
			{check: true},
		}},
		{"ping data", Ping{}, map[string]any{"data": "hello"}, []step{
			{verify: func(t *testing.T, r modules.Result) {
				if r.Data["ping"] != "hello" {
					t.Fatalf("%+v", r)
				}
			}},
		}},
		{"raw", Raw{}, map[string]any{"cmd": "echo raw $((2+3)) > " + filepath.Join(dir, "raw.out") + "; echo done"}, []step{
			{changed: true, verify: func(t *testing.T, r modules.Result) {
				wantFile(t, filepath.Join(dir, "raw.out"), "raw 5\n")
				if r.Data["stdout"] != "done" || r.Data["rc"] != 0 {
					t.Fatalf("%+v", r)
				}
			}},
			{changed: true},
			{check: true, unknown: true, drift: func() { _ = os.Remove(filepath.Join(dir, "raw.out")) }, verify: func(t *testing.T, r modules.Result) {
				if _, err := os.Stat(filepath.Join(dir, "raw.out")); !os.IsNotExist(err) {
					t.Fatal("check mode ran the raw command")
				}
			}},
		}},
		{"script with args, chdir and creates", Script{}, map[string]any{"cmd": script + " 'one two' made.txt", "chdir": work, "creates": "made.txt"}, []step{
			{changed: true, verify: func(t *testing.T, r modules.Result) {
				wantFile(t, filepath.Join(work, "made.txt"), work+"\n")
				if !strings.Contains(r.Data["stdout"].(string), "args: one two made.txt") {
					t.Fatalf("%+v", r)
				}
			}},
			{changed: false},
			{check: true, unknown: true, drift: func() { _ = os.Remove(filepath.Join(work, "made.txt")) }, verify: func(t *testing.T, r modules.Result) {
				if _, err := os.Stat(filepath.Join(work, "made.txt")); !os.IsNotExist(err) {
					t.Fatal("check mode ran the script")
				}
			}},
			{changed: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := coerceArgs(t, c.module, c.args)
			for i, s := range c.steps {
				if s.drift != nil {
					s.drift()
				}
				do := c.module.Apply
				if s.check {
					do = c.module.Check
				}
				before := treeSnapshot(t, dir)
				r, err := do(ctx, h.Host, args)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if r.Failed || r.Changed != s.changed || r.Unknown != s.unknown {
					t.Fatalf("step %d: want changed=%v unknown=%v, got %+v", i, s.changed, s.unknown, r)
				}
				if s.check && treeSnapshot(t, dir) != before {
					t.Fatalf("step %d: check mode changed the host", i)
				}
				if s.verify != nil {
					s.verify(t, r)
				}
			}
		})
	}
	t.Run("script failure", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.sh")
		writeTestFile(t, bad, "#!/bin/sh\necho oops >&2\nexit 4\n", 0o644)
		r, err := Script{}.Apply(ctx, h.Host, coerceArgs(t, Script{}, map[string]any{"cmd": bad, "executable": "/bin/sh"}))
		if err != nil || !r.Failed || r.Data["rc"] != 4 || r.Data["stderr"] != "oops" {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("ping crash fails", func(t *testing.T) {
		r, err := Ping{}.Apply(ctx, h.Host, coerceArgs(t, Ping{}, map[string]any{"data": "crash"}))
		if err != nil || !r.Failed {
			t.Fatalf("%+v %v", r, err)
		}
	})
}
