// Package journal records every event of a run as JSON lines in a file of its own, so that an
// operator can see afterwards what happened on which host, and a rollback can find the backup
// a run made. The runner masks secrets before events leave it; the journal also keeps a
// command's stdin and password fields out (see output.Scrub).
package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/output"
)

// DirName is where journals go, beside the playbook, unless --journal-dir says otherwise.
const DirName = ".omsbook/runs"

// timeLayout names journal files by their run's start, in UTC, so they sort by time.
const timeLayout = "20060102T150405Z"

// Journal is an events.Sink writing to one file. It is safe for concurrent use.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	sink *output.JSON
	done bool
}

// DefaultDir is the journal directory for a playbook: .omsbook/runs beside it.
func DefaultDir(playbook string) string {
	return filepath.Join(filepath.Dir(playbook), filepath.FromSlash(DirName))
}

// Open creates a new journal file for a run of playbook started at now:
// <dir>/<UTC timestamp>-<playbook name without extension>.jsonl, mode 0600 (events may hold
// hostnames, paths and command output that are nobody else's business). dir is created with
// mode 0700 when missing. A second run in the same second gets a -2, -3, ... suffix.
func Open(dir, playbook string, now time.Time) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory %s: %w (choose another with --journal-dir)", dir, err)
	}
	base := strings.TrimSuffix(filepath.Base(playbook), filepath.Ext(playbook))
	stem := now.UTC().Format(timeLayout) + "-" + base
	for n := 1; ; n++ {
		name := stem + ".jsonl"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.jsonl", stem, n)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && n < 1000 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create journal file: %w (choose another directory with --journal-dir)", err)
		}
		return &Journal{f: f, path: path, sink: output.NewJSON(f)}, nil
	}
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Emit appends one event. Events after Close are dropped.
func (j *Journal) Emit(e events.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return
	}
	j.sink.Emit(e)
}

// Close flushes the file to disk and closes it. It returns the first error met while
// writing, so the CLI can say the journal is incomplete.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return nil
	}
	j.done = true
	werr := j.sink.Err()
	serr := j.f.Sync()
	cerr := j.f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("journal %s may be incomplete: %w", j.path, err)
	}
	return nil
}
