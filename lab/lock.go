package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/omsbook/omsbook/internal/flockwait"
)

// lockInstance serialises Up and Down of one instance across processes with a flock on
// <Dir>.lock, beside the state directory (Down removes the directory itself).
func lockInstance(ctx context.Context, dir string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("lab: create %s: %w", filepath.Dir(dir), err)
	}
	release, err := flockwait.Acquire(ctx, dir+".lock", 50*time.Millisecond, "another omslab up/down of this lab is running")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return release, nil
}
