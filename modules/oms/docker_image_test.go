package oms

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestArchiveImageID(t *testing.T) {
	tests := []struct{ config, want string }{
		{"474f3d4f00ba.json", "sha256:474f3d4f00ba"},
		{"blobs/sha256/474f3d4f00ba", "sha256:474f3d4f00ba"},
	}
	for _, tt := range tests {
		if got := (archiveImage{Config: tt.config}).id(); got != tt.want {
			t.Errorf("id(%q) = %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestDockerImageValidate(t *testing.T) {
	m := DockerImage{}
	for _, raw := range []map[string]any{{}, {"load": "/a.tar", "name": "x"}} {
		if err := m.Validate(coerceArgs(t, m, raw)); err == nil || !strings.Contains(err.Error(), "exactly one of load") {
			t.Errorf("Validate(%v) = %v", raw, err)
		}
	}
}

func TestDockerImageLoad(t *testing.T) {
	needDocker(t)
	ctx := testCtx(t, 3*time.Minute)
	oh := newTestHost(t)
	m := DockerImage{}
	dir := t.TempDir()

	// An image of its own (a label makes its id differ from the base image), saved and removed.
	tag := "omsbook-test/load:" + randomHex(4)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+testImage+"\nLABEL omsbook.test="+tag+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runDocker(t, "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	archive := filepath.Join(dir, "oms_test.tar")
	runDocker(t, "save", "-o", archive, tag)
	runDocker(t, "rmi", tag)

	load := coerceArgs(t, m, map[string]any{"load": archive})
	r, err := m.Check(ctx, oh.Host, load)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("check = %+v, %v; want would load", r, err)
	}
	// Other packages' tests build images meanwhile: look at this archive's image only.
	if exec.Command("docker", "image", "inspect", tag).Run() == nil {
		t.Fatalf("check loaded %s", tag)
	}
	r, err = m.Apply(ctx, oh.Host, load)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("first load = %+v, %v", r, err)
	}
	if loaded := r.Data["loaded"].([]any); len(loaded) != 1 || loaded[0] != tag {
		t.Fatalf("loaded = %v, want [%s]", loaded, tag)
	}
	if r, err = m.Apply(ctx, oh.Host, load); err != nil || r.Changed || r.Failed {
		t.Fatalf("second load = %+v, %v; want ok", r, err)
	}
	if imgs := r.Data["images"].([]any); len(imgs) != 1 || imgs[0].(map[string]any)["present"] != true {
		t.Fatalf("images = %v", imgs)
	}

	// name/state.
	present := coerceArgs(t, m, map[string]any{"name": tag})
	if r, err = m.Apply(ctx, oh.Host, present); err != nil || r.Changed || r.Failed {
		t.Fatalf("present = %+v, %v; want ok", r, err)
	}
	absent := coerceArgs(t, m, map[string]any{"name": tag, "state": "absent"})
	if r, err = m.Check(ctx, oh.Host, absent); err != nil || !r.Changed {
		t.Fatalf("check absent = %+v, %v", r, err)
	}
	for i, want := range []bool{true, false} {
		if r, err = m.Apply(ctx, oh.Host, absent); err != nil || r.Changed != want || r.Failed {
			t.Fatalf("absent run %d = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}

	// Failures name the path and quote docker.
	missing := filepath.Join(dir, "nope.tar")
	if r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"load": missing})); !r.Failed || !strings.Contains(r.Msg, missing+" does not exist") {
		t.Fatalf("missing archive = %+v", r)
	}
	corrupt := filepath.Join(dir, "corrupt.tar")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("not a tar archive\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"load": corrupt}))
	if !r.Failed || !strings.Contains(r.Msg, corrupt) || !strings.Contains(r.Msg, "docker load failed") {
		t.Fatalf("corrupt archive = %+v", r)
	}
	t.Logf("corrupt archive message: %s", r.Msg)
	if r, _ = m.Check(ctx, oh.Host, coerceArgs(t, m, map[string]any{"load": corrupt})); !r.Failed || !strings.Contains(r.Msg, "is not a docker image archive") {
		t.Fatalf("check corrupt archive = %+v", r)
	}
}
