package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

func TestFetch(t *testing.T) {
	tests := []struct {
		name     string
		raw      func(remote, ctrl string) map[string]any
		wantDest func(remote, ctrl string) string
	}{
		{
			name:     "dest/host/src layout",
			raw:      func(remote, ctrl string) map[string]any { return map[string]any{"src": remote, "dest": ctrl} },
			wantDest: func(remote, ctrl string) string { return filepath.Join(ctrl, "oms-hz-1", remote) },
		},
		{
			name: "flat file",
			raw: func(remote, ctrl string) map[string]any {
				return map[string]any{"src": remote, "dest": filepath.Join(ctrl, "config.yaml"), "flat": true}
			},
			wantDest: func(remote, ctrl string) string { return filepath.Join(ctrl, "config.yaml") },
		},
		{
			name: "flat into a directory",
			raw: func(remote, ctrl string) map[string]any {
				return map[string]any{"src": remote, "dest": ctrl + "/", "flat": true}
			},
			wantDest: func(remote, ctrl string) string { return filepath.Join(ctrl, "remote.yaml") },
		},
		{
			name:     "relative dest under the playbook directory",
			raw:      func(remote, ctrl string) map[string]any { return map[string]any{"src": remote, "dest": "backup"} },
			wantDest: func(remote, ctrl string) string { return filepath.Join(ctrl, "backup", "oms-hz-1", remote) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remoteDir, ctrl := t.TempDir(), t.TempDir()
			remote := filepath.Join(remoteDir, "remote.yaml")
			writeTestFile(t, remote, "a: 1\n", 0o600)
			h := newGenHost(t, map[string]any{"inventory_hostname": "oms-hz-1", "playbook_dir": ctrl})
			m := Fetch{}
			args := coerceArgs(t, m, tt.raw(remote, ctrl))
			ctx := context.Background()
			want := tt.wantDest(remote, ctrl)

			before := treeSnapshot(t, ctrl)
			res, err := m.Check(ctx, h.Host, args)
			if err != nil || !res.Changed || res.Failed {
				t.Fatalf("check: %v %+v", err, res)
			}
			if treeSnapshot(t, ctrl) != before {
				t.Fatal("Check wrote on the controller")
			}
			for i, wantChanged := range []bool{true, false} {
				res, err = m.Apply(ctx, h.Host, args)
				if err != nil || res.Failed || res.Changed != wantChanged {
					t.Fatalf("apply %d: %v %+v, want changed %v", i, err, res, wantChanged)
				}
			}
			if res.Data["dest"] != want {
				t.Fatalf("dest %v, want %s", res.Data["dest"], want)
			}
			if b, err := os.ReadFile(want); err != nil || string(b) != "a: 1\n" {
				t.Fatalf("fetched %q, %v", b, err)
			}
			// A change on the host is fetched again.
			writeTestFile(t, remote, "a: 2\n", 0o600)
			if res, err = m.Apply(ctx, h.Host, args); err != nil || !res.Changed || res.Data["checksum"] != res.Data["remote_checksum"] {
				t.Fatalf("apply after change: %v %+v", err, res)
			}
		})
	}
}

func TestFetchMissing(t *testing.T) {
	ctrl := t.TempDir()
	h := newGenHost(t, map[string]any{"inventory_hostname": "n1"})
	m := Fetch{}
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"src": "/nonexistent/omsbook/f", "dest": ctrl}))
	if err != nil || !res.Failed || !strings.Contains(res.Msg, "not found on the host") {
		t.Fatalf("missing src: %v %+v", err, res)
	}
	res, err = m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"src": "/nonexistent/omsbook/f", "dest": ctrl, "fail_on_missing": false}))
	if err != nil || res.Failed || res.Changed {
		t.Fatalf("missing src, fail_on_missing false: %v %+v", err, res)
	}
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeTestFile(t, file, "abc", 0o640)
	tests := []struct {
		name string
		raw  map[string]any
		want map[string]any
	}{
		{"file with checksum", map[string]any{"path": file, "checksum": true}, map[string]any{
			"exists": true, "isdir": false, "isreg": true, "size": int64(3), "mode": "0640",
			"checksum": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		}},
		{"directory", map[string]any{"path": dir}, map[string]any{"exists": true, "isdir": true}},
		{"missing", map[string]any{"path": filepath.Join(dir, "none")}, map[string]any{"exists": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, nil)
			m := Stat{}
			args := coerceArgs(t, m, tt.raw)
			for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
				res, err := run(context.Background(), h.Host, args)
				if err != nil || res.Failed || res.Changed {
					t.Fatalf("%v %+v", err, res)
				}
				st := res.Data["stat"].(map[string]any)
				for k, v := range tt.want {
					if st[k] != v {
						t.Errorf("stat.%s = %#v, want %#v", k, st[k], v)
					}
				}
				if _, ok := tt.want["checksum"]; !ok && st["checksum"] != nil {
					t.Errorf("checksum computed without checksum: true")
				}
			}
		})
	}
}
