package builtin

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

func TestFileModeArg(t *testing.T) {
	tests := []struct {
		in      any
		want    os.FileMode
		wantErr bool
	}{
		{in: "0644", want: 0o644},
		{in: "644", want: 0o644},
		{in: "0o750", want: 0o750},
		{in: "4755", want: 0o4755},
		{in: 4755, want: 0o4755},
		{in: 493, want: 0o755}, // YAML's 0755
		{in: 420, want: 0o644}, // YAML's 0644
		{in: 644, want: 0o644}, // written without the zero
		{in: "u+x", wantErr: true},
		{in: "0999", wantErr: true},
		{in: 99999, wantErr: true},
		{in: true, wantErr: true},
	}
	for _, tt := range tests {
		got, given, err := fileModeArg(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("fileModeArg(%v) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (got != tt.want || !given) {
			t.Errorf("fileModeArg(%v) = %o, %v; want %o", tt.in, got, given, tt.want)
		}
	}
}

func TestCopyAndTemplate(t *testing.T) {
	type step struct {
		check       bool
		wantChanged bool
	}
	tests := []struct {
		name    string
		module  modules.Module
		prepare func(t *testing.T, pb, dir string) map[string]any // returns raw args
		want    string                                            // the dest content afterwards
		mode    os.FileMode
	}{
		{
			name: "content to a new file", module: Copy{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				return map[string]any{"content": "hello\n", "dest": filepath.Join(dir, "a.txt"), "mode": "0600"}
			},
			want: "hello\n", mode: 0o600,
		},
		{
			name: "src relative to the playbook's files/", module: Copy{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				writeTestFile(t, filepath.Join(pb, "files", "app.conf"), "port=1\n", 0o644)
				return map[string]any{"src": "app.conf", "dest": dir + "/"}
			},
			want: "port=1\n", mode: 0o644,
		},
		{
			name: "replaces different content, keeps the mode", module: Copy{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				writeTestFile(t, filepath.Join(dir, "b.txt"), "old\n", 0o640)
				return map[string]any{"content": "new\n", "dest": filepath.Join(dir, "b.txt")}
			},
			want: "new\n", mode: 0o640,
		},
		{
			name: "same content, only the mode differs", module: Copy{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				writeTestFile(t, filepath.Join(dir, "c.txt"), "same\n", 0o600)
				return map[string]any{"content": "same\n", "dest": filepath.Join(dir, "c.txt"), "mode": 0o644}
			},
			want: "same\n", mode: 0o644,
		},
		{
			name: "template file rendered with host vars", module: Template{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				writeTestFile(t, filepath.Join(pb, "templates", "c.yaml.tmpl"), "ip: {{ .oms_host_ip }}\n", 0o644)
				return map[string]any{"src": "c.yaml.tmpl", "dest": filepath.Join(dir, "config.yaml"), "mode": "0640"}
			},
			want: "ip: 10.0.0.11\n", mode: 0o640,
		},
		{
			name: "template content", module: Template{},
			prepare: func(t *testing.T, pb, dir string) map[string]any {
				return map[string]any{"content": "x=1", "dest": filepath.Join(dir, "x")}
			},
			want: "x=1", mode: 0o644,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb, dir := t.TempDir(), t.TempDir()
			h := newGenHost(t, map[string]any{"playbook_dir": pb, "oms_host_ip": "10.0.0.11"})
			h.Diff = true
			args := coerceArgs(t, tt.module, tt.prepare(t, pb, dir))
			ctx := context.Background()

			before := treeSnapshot(t, dir)
			res, err := tt.module.Check(ctx, h.Host, args)
			if err != nil || res.Failed || !res.Changed {
				t.Fatalf("check before apply: err %v, %+v; want changed", err, res)
			}
			if after := treeSnapshot(t, dir); after != before {
				t.Fatalf("Check changed the tree:\n%s\n---\n%s", before, after)
			}
			for i, s := range []step{{false, true}, {false, false}, {true, false}} {
				run := tt.module.Apply
				if s.check {
					run = tt.module.Check
				}
				res, err := run(ctx, h.Host, args)
				if err != nil || res.Failed {
					t.Fatalf("step %d: %v %+v", i, err, res)
				}
				if res.Changed != s.wantChanged {
					t.Fatalf("step %d (check %v): changed = %v, want %v (%+v)", i, s.check, res.Changed, s.wantChanged, res)
				}
			}
			dest := res.Data["dest"].(string)
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("dest holds %q, want %q", got, tt.want)
			}
			st, _ := os.Stat(dest)
			if st.Mode().Perm() != tt.mode {
				t.Fatalf("mode %o, want %o", st.Mode().Perm(), tt.mode)
			}
			if res.Data["checksum"] != hashBytesForTest([]byte(tt.want)) {
				t.Fatalf("checksum %v is not the sha256 of %q", res.Data["checksum"], tt.want)
			}
		})
	}
}

func TestCopyValidateDefersTemplates(t *testing.T) {
	m := Copy{}
	ok := modules.Args{"content": "x", "dest": "/d", "mode": "{{ .later.mode }}"}
	if err := m.Validate(ok); err != nil {
		t.Fatalf("an unrendered mode template was rejected: %v", err)
	}
	if err := m.Validate(modules.Args{"content": "x", "dest": "/d", "mode": "rw-r--r--"}); err == nil {
		t.Fatal("a bad mode was accepted")
	}
}

func TestCopyDiffAndFailures(t *testing.T) {
	dir := t.TempDir()
	h := newGenHost(t, map[string]any{"playbook_dir": dir})
	h.Diff = true
	ctx := context.Background()
	m := Copy{}
	writeTestFile(t, filepath.Join(dir, "d.txt"), "one\n", 0o644)

	res, err := m.Check(ctx, h.Host, coerceArgs(t, m, map[string]any{"content": "two\n", "dest": filepath.Join(dir, "d.txt")}))
	if err != nil || res.Diff == nil || res.Diff.Before != "one\n" || res.Diff.After != "two\n" {
		t.Fatalf("check diff: %v %+v %+v", err, res, res.Diff)
	}

	// In check mode, a directory that an earlier task would create is not an error yet.
	res, err = m.Check(ctx, h.Host, coerceArgs(t, m, map[string]any{"content": "x", "dest": filepath.Join(dir, "later/f")}))
	if err != nil || res.Failed || !res.Changed || !strings.Contains(res.Msg, "does not exist yet") {
		t.Fatalf("check into a missing directory: %v %+v", err, res)
	}

	tests := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"missing directory", map[string]any{"content": "x", "dest": filepath.Join(dir, "no/such/dir/f")}, "destination directory"},
		{"missing src", map[string]any{"src": "nowhere.txt", "dest": filepath.Join(dir, "f")}, "not found on the controller"},
		{"content into a directory", map[string]any{"content": "x", "dest": dir}, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := treeSnapshot(t, dir)
			res, err := m.Apply(ctx, h.Host, coerceArgs(t, m, tt.raw))
			if err != nil || !res.Failed || !strings.Contains(res.Msg, tt.want) {
				t.Fatalf("got %v %+v, want failed with %q", err, res, tt.want)
			}
			if treeSnapshot(t, dir) != before {
				t.Fatal("a failed copy changed the tree")
			}
		})
	}

	// force: false leaves a differing file alone.
	res, err = m.Apply(ctx, h.Host, coerceArgs(t, m, map[string]any{"content": "three\n", "dest": filepath.Join(dir, "d.txt"), "force": false}))
	if err != nil || res.Changed || res.Failed {
		t.Fatalf("force false: %v %+v", err, res)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d.txt")); string(b) != "one\n" {
		t.Fatalf("force false replaced the file: %q", b)
	}
}

// TestCopyFetchBigFile round-trips 50 MB through copy and fetch: the checksums match and the
// modules stream rather than load the file whole.
func TestCopyFetchBigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB round trip skipped with -short")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, 50<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantSum, _, err := hashLocalFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "remote"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := newGenHost(t, map[string]any{"playbook_dir": dir, "inventory_hostname": "oms-hz-1"})
	ctx := context.Background()

	var peak uint64
	measure := func(run func()) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		start := ms.TotalAlloc
		run()
		runtime.ReadMemStats(&ms)
		if d := ms.TotalAlloc - start; d > peak {
			peak = d
		}
	}
	var res modules.Result
	measure(func() {
		res, err = Copy{}.Apply(ctx, h.Host, coerceArgs(t, Copy{}, map[string]any{"src": "big.bin", "dest": filepath.Join(dir, "remote", "big.bin")}))
	})
	if err != nil || res.Failed || !res.Changed || res.Data["checksum"] != wantSum {
		t.Fatalf("copy: %v %+v", err, res)
	}
	if got, _, _ := hashLocalFile(filepath.Join(dir, "remote", "big.bin")); got != wantSum {
		t.Fatalf("copied file sha256 %s, want %s", got, wantSum)
	}
	measure(func() {
		res, err = Copy{}.Apply(ctx, h.Host, coerceArgs(t, Copy{}, map[string]any{"src": "big.bin", "dest": filepath.Join(dir, "remote", "big.bin")}))
	})
	if err != nil || res.Changed {
		t.Fatalf("second copy: %v %+v", err, res)
	}
	fetchArgs := coerceArgs(t, Fetch{}, map[string]any{"src": filepath.Join(dir, "remote", "big.bin"), "dest": "fetched"})
	measure(func() { res, err = Fetch{}.Apply(ctx, h.Host, fetchArgs) })
	if err != nil || res.Failed || !res.Changed || res.Data["checksum"] != wantSum {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	fetched := filepath.Join(dir, "fetched", "oms-hz-1", dir, "remote", "big.bin")
	if res.Data["dest"] != fetched {
		t.Fatalf("fetch dest %v, want %s", res.Data["dest"], fetched)
	}
	if got, _, _ := hashLocalFile(fetched); got != wantSum {
		t.Fatalf("fetched file sha256 %s, want %s", got, wantSum)
	}
	measure(func() { res, err = Fetch{}.Apply(ctx, h.Host, fetchArgs) })
	if err != nil || res.Changed {
		t.Fatalf("second fetch: %v %+v", err, res)
	}
	// Streaming allocates buffers, not the file: far less than its 50 MB in all.
	t.Logf("largest allocation total of one transfer: %d KB", peak>>10)
	if peak > 24<<20 {
		t.Fatalf("a transfer allocated %d MB: the file was loaded into memory", peak>>20)
	}
}
