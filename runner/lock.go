package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// A run that changes hosts holds a lock for its inventory on the controller, so that a second
// run on the same hosts from this machine is refused, naming who holds it. The lock is an
// flock on a file (the kernel lets it go when the holder dies, however it dies); the file
// says who holds it.

// lockHolder is what a lock file says of its holder.
type lockHolder struct {
	PID     int       `json:"pid"`
	User    string    `json:"user"`
	Host    string    `json:"host"`
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
}

func (h lockHolder) String() string {
	return fmt.Sprintf("pid %d (%s@%s, run %s, started %s)", h.PID, h.User, h.Host, h.RunID, h.Started.Format(time.RFC3339))
}

// runLock is a held lock.
type runLock struct {
	f    *os.File
	path string
}

// lockDir is where inventory locks live: OMSBOOK_LOCK_DIR, else a directory of the user's
// under the system's temporary directory (a lock means something only while its holder runs).
func lockDir() string {
	if d := os.Getenv("OMSBOOK_LOCK_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("omsbook-locks-%d", os.Getuid()))
}

// lockPath is the lock file for a set of inventories (the same files in any order and from
// any working directory share it).
func lockPath(inventories []string) string {
	abs := make([]string, 0, len(inventories))
	for _, inv := range inventories {
		if a, err := filepath.Abs(inv); err == nil {
			inv = a
		}
		abs = append(abs, inv)
	}
	sort.Strings(abs)
	sum := sha256.Sum256([]byte(strings.Join(abs, "\x00")))
	return filepath.Join(lockDir(), "inventory-"+hex.EncodeToString(sum[:8])+".lock")
}

// acquireLock takes the inventory's lock for a run, or says who holds it. taken names a
// previous holder that died without letting go of the file (its lock is ours now).
func acquireLock(inventories []string, runID string, now time.Time) (lock *runLock, taken *lockHolder, err error) {
	path := lockPath(inventories)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("lock directory %s: %w (set OMSBOOK_LOCK_DIR to another)", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	prev := readHolder(f)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another run"
			if prev != nil {
				who = prev.String()
			}
			return nil, nil, fmt.Errorf("another run holds the inventory's lock: %s; wait for it to end (lock %s)", who, path)
		}
		return nil, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if prev != nil && prev.PID != 0 && !processAlive(prev.PID) {
		taken = prev
	}
	me := lockHolder{PID: os.Getpid(), RunID: runID, Started: now.UTC()}
	if u, err := user.Current(); err == nil {
		me.User = u.Username
	}
	me.Host, _ = os.Hostname()
	data, _ := json.Marshal(me)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &runLock{f: f, path: path}, taken, nil
}

// readHolder reads who last held the lock file, nil when it says nothing readable.
func readHolder(f *os.File) *lockHolder {
	var buf [4096]byte
	n, _ := f.ReadAt(buf[:], 0)
	var h lockHolder
	if n == 0 || json.Unmarshal(buf[:n], &h) != nil {
		return nil
	}
	return &h
}

// processAlive reports whether a process of that pid runs on this machine.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// release lets go of the lock; the file stays (its next holder rewrites it).
func (l *runLock) release() {
	if l == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
