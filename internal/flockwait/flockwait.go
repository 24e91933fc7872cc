// Package flockwait takes an exclusive flock on a file, waiting for it as long as the
// context allows: the lab and the node image use it so that two test runs that build or start
// the same thing do it one after the other.
package flockwait

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Acquire creates path if needed and holds an exclusive flock on it, trying every poll until
// it is free or ctx ends. The kernel lets the lock go when the process dies; release lets it
// go sooner. holder says, in the error, what else holds it.
func Acquire(ctx context.Context, path string, poll time.Duration, holder string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (%s): %w", path, holder, ctx.Err())
		case <-time.After(poll):
		}
	}
}
