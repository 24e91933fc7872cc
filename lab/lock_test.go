package lab

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestLockInstanceSerialises(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inst")
	ctx := context.Background()
	unlock, err := lockInstance(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := lockInstance(short, dir); err == nil {
		t.Fatal("a second lock of the same instance was granted while the first was held")
	}
	unlock()
	again, err := lockInstance(ctx, dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
