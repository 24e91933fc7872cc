package builtin

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/modules"
)

var archiveMembers = []struct{ name, body string }{
	{"app/", ""},
	{"app/bin/", ""},
	{"app/bin/run.sh", "#!/bin/sh\necho run\n"},
	{"app/conf.yaml", "port: 8080\n"},
}

func writeTarGz(t *testing.T, p string, gz bool) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, m := range archiveMembers {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, ModTime: mt, Size: int64(len(m.body)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}
		if strings.HasSuffix(m.name, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(tw, m.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		_ = zw.Close()
	}
}

func writeZip(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, m := range archiveMembers {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, m.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUnarchiveOverSSH extracts tar.gz, tar.xz and zip archives on a real sshd node, from the
// controller and from the host, through the cycle.
func TestUnarchiveOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	ctx := context.Background()
	ctl := t.TempDir()
	writeTarGz(t, filepath.Join(ctl, "app.tar.gz"), true)
	writeTarGz(t, filepath.Join(ctl, "app.tar"), false)
	writeZip(t, filepath.Join(ctl, "app.zip"))
	if out, err := exec.Command("xz", "-k", filepath.Join(ctl, "app.tar")).CombinedOutput(); err != nil {
		t.Fatalf("xz: %v %s", err, out)
	}
	cases := []struct {
		name string
		args func(dest string) map[string]any
	}{
		{"tar.gz from the controller", func(d string) map[string]any {
			return map[string]any{"src": filepath.Join(ctl, "app.tar.gz"), "dest": d, "list_files": true}
		}},
		{"tar.xz on the host (remote_src)", func(d string) map[string]any {
			return map[string]any{"src": filepath.Join(ctl, "app.tar.xz"), "dest": d, "remote_src": true}
		}},
		{"zip with mode", func(d string) map[string]any {
			return map[string]any{"src": filepath.Join(ctl, "app.zip"), "dest": d, "mode": "u+rwX,go+rX"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := t.TempDir()
			args := coerceArgs(t, Unarchive{}, c.args(dest))
			run := func(step string, check, wantChanged bool) modules.Result {
				t.Helper()
				h.Diff = check
				defer func() { h.Diff = false }()
				do := Unarchive{}.Apply
				if check {
					do = Unarchive{}.Check
				}
				r, err := do(ctx, h.Host, args)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if r.Failed || r.Unknown || r.Changed != wantChanged {
					t.Fatalf("%s: want changed=%v: %+v", step, wantChanged, r)
				}
				return r
			}
			r := run("first", false, true)
			if c.name == "tar.gz from the controller" {
				if files, _ := r.Data["files"].([]any); len(files) != len(archiveMembers) {
					t.Fatalf("files: %v", r.Data["files"])
				}
			}
			wantFile(t, dest+"/app/conf.yaml", "port: 8080\n")
			run("second", false, false)
			if err := os.WriteFile(dest+"/app/conf.yaml", []byte("port: 9999\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := treeSnapshot(t, dest)
			r = run("check after drift", true, true)
			if r.Diff == nil || !strings.Contains(r.Diff.Before, "conf.yaml") {
				t.Fatalf("diff: %+v", r.Diff)
			}
			if treeSnapshot(t, dest) != before {
				t.Fatal("check changed the host")
			}
			run("after drift", false, true)
			wantFile(t, dest+"/app/conf.yaml", "port: 8080\n")
			run("again", false, false)
		})
	}
	t.Run("creates", func(t *testing.T) {
		dest := t.TempDir()
		writeTestFile(t, dest+"/app/conf.yaml", "mine\n", 0o644)
		r, err := Unarchive{}.Apply(ctx, h.Host, coerceArgs(t, Unarchive{}, map[string]any{"src": filepath.Join(ctl, "app.tar"), "dest": dest, "creates": dest + "/app/conf.yaml"}))
		if err != nil || r.Failed || r.Changed {
			t.Fatalf("%+v %v", r, err)
		}
		wantFile(t, dest+"/app/conf.yaml", "mine\n")
	})
	t.Run("dest must exist", func(t *testing.T) {
		r, err := Unarchive{}.Apply(ctx, h.Host, coerceArgs(t, Unarchive{}, map[string]any{"src": filepath.Join(ctl, "app.tar"), "dest": t.TempDir() + "/none"}))
		if err != nil || !r.Failed || !strings.Contains(r.Msg, "must be an existing dir") {
			t.Fatalf("%+v %v", r, err)
		}
	})
}
