// Package testutil holds what the tests of every omsbook package share: skipping a test whose
// component is missing, which fails instead when CI=true, golden files, planting and
// listing files in a directory, and a reader that pauses a transfer. It imports only the
// standard library, so that the tests of any package, and the test helpers of lab and
// lab/omssim/simtest, can use it without an import cycle.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
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

// WriteOld writes each name in dir with content "debris", last modified an hour ago: what a
// killed older run left behind.
func WriteOld(t testing.TB, dir string, names ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("debris"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// DirNames lists the names in dir, sorted, joined by spaces.
func DirNames(t testing.TB, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		names = append(names, de.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// PausingReader reads R until Left bytes have been read, then closes Reached and waits: for
// Hold when it is set (a source that does not stop when told), else for Ctx to end, whose
// error it then returns. A test cancels a transfer mid-way with it without guessing at timing.
type PausingReader struct {
	Ctx     context.Context
	R       io.Reader
	Left    int
	Reached chan struct{}
	Hold    chan struct{}
}

func (p *PausingReader) Read(b []byte) (int, error) {
	if p.Left <= 0 {
		close(p.Reached)
		if p.Hold != nil {
			<-p.Hold
			return 0, io.ErrUnexpectedEOF
		}
		<-p.Ctx.Done()
		return 0, p.Ctx.Err()
	}
	n, err := p.R.Read(b[:min(len(b), p.Left)])
	p.Left -= n
	return n, err
}
