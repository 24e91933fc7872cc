package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkVersionStartup measures how long `omsbook version` takes as a process: start, the
// package inits of everything linked in, the command, exit. The target is under 20 ms; keep
// package-level initialisation light (no registries built at init, no files read).
//
//	go test ./cmd/omsbook -run '^$' -bench VersionStartup
func BenchmarkVersionStartup(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is needed to build omsbook")
	}
	bin := filepath.Join(b.TempDir(), "omsbook")
	build := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build omsbook: %v\n%s", err, out)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
			b.Fatalf("omsbook version: %v\n%s", err, out)
		}
	}
}
