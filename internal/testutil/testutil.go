// Package testutil holds what the tests of every omsbook package share: skipping a test whose
// component is missing, which fails instead when CI=true, and golden files. It imports only the
// standard library, so that the tests of any package, and the test helpers of lab and
// lab/omssim/simtest, can use it without an import cycle.
package testutil

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CI reports whether the tests run with CI=true, where a component a test needs must be there.
func CI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test with the reason given, because a component it needs (sshd,
// MariaDB, Docker, a program) is missing here; with CI=true it fails the test instead.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true, so this fails instead of skipping: "+format, args...)
	}
	t.Skipf(format, args...)
}

// update is the -update flag of every test binary that links this package: go test ./PKG
// -update rewrites the package's golden files from the current output. It is declared only in
// test binaries, so that a program linking lab (omslab) gains no flag.
var update = func() *bool {
	if !testing.Testing() {
		return new(bool)
	}
	return flag.Bool("update", false, "rewrite the golden files from the current output")
}()

// Golden compares got with the golden file at path and fails the test when they differ,
// showing both. Under -update it writes got to path instead, creating its directory.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	err := CheckGolden(path, got)
	var missing *missingGoldenError
	switch {
	case errors.As(err, &missing):
		t.Fatal(err)
	case err != nil:
		t.Error(err)
	}
}

// CheckGolden is Golden for callers without a testing.TB (testscript commands): it returns
// what Golden would report, or nil.
func CheckGolden(path string, got []byte) error {
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &missingGoldenError{path}
	}
	if err != nil {
		return fmt.Errorf("read golden file: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("output differs from the golden file %s (rerun the test with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
	return nil
}

type missingGoldenError struct{ path string }

func (e *missingGoldenError) Error() string {
	return fmt.Sprintf("golden file %s is missing (run the test with -update to create it)", e.path)
}
