package lab

import (
	"context"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// ForTest brings up a lab for an integration test and tears it down when the test ends. It
// skips the test under -short, and when the machine lacks what a lab needs (not root, no
// Docker Engine, a missing package) it skips with the reason, or fails when CI=true. Give each
// test package its own cfg.Name and loopback addresses (cfg.FirstIP) so that packages tested at
// the same time do not meet.
func ForTest(t testing.TB, cfg Config) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: brings up a lab (sshd, MariaDB, Docker); run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := Prerequisites(ctx, cfg.ModuleRoot); err != nil {
		testutil.SkipOrFail(t, "lab prerequisites missing: %v", err)
	}
	l, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}
