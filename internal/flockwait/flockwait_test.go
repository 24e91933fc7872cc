package flockwait

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcquireWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := Acquire(context.Background(), path, 5*time.Millisecond, "the first")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path, 5*time.Millisecond, "the first"); err == nil || !strings.Contains(err.Error(), "(the first)") {
		t.Fatalf("a second holder while the first holds it: %v", err)
	}
	release()
	again, err := Acquire(context.Background(), path, 5*time.Millisecond, "the first")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}
