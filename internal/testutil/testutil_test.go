package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckGolden(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	var missing *missingGoldenError
	if err := CheckGolden(path, []byte("x\n")); !errors.As(err, &missing) {
		t.Fatalf("missing file: err = %v, want a missingGoldenError", err)
	}
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckGolden(path, []byte("x\n")); err != nil {
		t.Fatalf("same content: %v", err)
	}
	err := CheckGolden(path, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "--- got\nx\n--- want\nx\n") {
		t.Fatalf("differing content: err = %v", err)
	}
}

func TestUpdateRewrites(t *testing.T) {
	old := *update
	*update = true
	defer func() { *update = old }()
	path := filepath.Join(t.TempDir(), "sub", "out.golden")
	if err := CheckGolden(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new\n" {
		t.Fatalf("after -update: %q, %v", b, err)
	}
}

func TestSkipOrFailSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var inner *testing.T
	t.Run("inner", func(t *testing.T) {
		inner = t
		SkipOrFail(t, "no %s here", "component")
		t.Error("SkipOrFail returned")
	})
	if !inner.Skipped() {
		t.Fatal("the test was not skipped")
	}
}
