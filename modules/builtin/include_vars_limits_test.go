package builtin

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/yamlsrc"
)

// TestIncludeVarsRefusesAliasBomb: include_vars reads through yamlsrc, so an alias bomb is a
// positioned error, found in little memory.
func TestIncludeVarsRefusesAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
	for c := 'b'; c <= 'i'; c++ {
		b.WriteString(string(c) + ": &" + string(c) + " [" + strings.Repeat("*"+string(c-1)+",", 8) + "*" + string(c-1) + "]\n")
	}
	path := filepath.Join(t.TempDir(), "v.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readVarsFile(path)
	runtime.ReadMemStats(&after)
	var pe *yamlsrc.Error
	if !errors.As(err, &pe) || !errors.Is(err, yamlsrc.ErrLimit) || pe.Pos.File != path || pe.Pos.Line == 0 {
		t.Fatalf("got %v, want a positioned limit error", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes", alloc)
	}
}
