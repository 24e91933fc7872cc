package transport

// Temporary files of a transfer. A file is written beside its destination under a name that
// says whose it is, then renamed over the destination, so that the destination is only ever
// the old or the complete new file:
//
//	DIR/.BASE.omsbook-tmp-RUN-RAND
//
// BASE is the destination's base name, RUN the run's id (the runner puts it in the context
// with WithRun; made file-name safe) and RAND twelve hex digits. A cancelled transfer removes
// its file; one a kill left behind is found by the next run that writes the same destination
// (TempDebris): a regular file beside it whose name has exactly this form for that BASE (or
// the form older omsbook versions gave them, .BASE.omsbook-HEX), of another run, last modified
// before the current run started. Nothing else is ever removed: not
// a file of the current run, not one still being written by another run (its time is newer),
// not another destination's.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// RunInfo names the run a transfer belongs to.
type RunInfo struct {
	ID    string    // the run's id (its journal's name)
	Start time.Time // when it started, by the controller's clock
}

type runKey struct{}

// WithRun returns ctx carrying run, for the temporary files of the transfers made under it.
func WithRun(ctx context.Context, run RunInfo) context.Context {
	return context.WithValue(ctx, runKey{}, run)
}

// processRun is the run of transfers made outside a runner's run (a context without WithRun):
// this process, since it started.
var processRun = RunInfo{ID: fmt.Sprintf("pid%d-%s", os.Getpid(), randomSuffix()), Start: time.Now()}

// RunOf is the run ctx carries, or this process's.
func RunOf(ctx context.Context) RunInfo {
	if r, ok := ctx.Value(runKey{}).(RunInfo); ok && r.ID != "" {
		return r
	}
	return processRun
}

const (
	tempMark     = ".omsbook-tmp-"
	tempRandLen  = 12  // hex digits
	maxRunTagLen = 64  // of a file name's run part
	maxNameLen   = 255 // NAME_MAX of the usual file systems
)

// runTag is the run id as a part of a file name: letters, digits, '.', '_' and '-' kept, any
// other byte '_', at most maxRunTagLen bytes.
func runTag(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > maxRunTagLen {
		b = b[:maxRunTagLen]
	}
	return string(b)
}

// tempPrefix is the name of dest's temporary files up to the run: ".BASE.omsbook-tmp-", BASE
// shortened when the whole name would exceed maxNameLen (the same way for a name written and
// for one looked for).
func tempPrefix(destBase string) string {
	room := maxNameLen - 1 - len(tempMark) - maxRunTagLen - 1 - tempRandLen
	if len(destBase) > room {
		destBase = destBase[:room]
	}
	return "." + destBase + tempMark
}

// TempBase is the base name of a new temporary file for the destination whose base name is
// destBase, in ctx's run.
func TempBase(ctx context.Context, destBase string) string {
	return tempPrefix(destBase) + runTag(RunOf(ctx).ID) + "-" + randomSuffix()
}

// TempPath is the path of a new temporary file beside dest (slash-separated), in ctx's run.
func TempPath(ctx context.Context, dest string) string {
	return path.Join(path.Dir(dest), TempBase(ctx, path.Base(dest)))
}

// tempRun returns the run part of name when name is a temporary file of the destination
// whose base name is destBase; "" for one named as omsbook named them before they carried the
// run (".BASE.omsbook-" and 12 or 16 hex digits, or only decimal digits).
func tempRun(name, destBase string) (string, bool) {
	rest, ok := strings.CutPrefix(name, tempPrefix(destBase))
	if !ok {
		legacy, ok := strings.CutPrefix(name, "."+destBase+legacyMark)
		return "", ok && (isHex(legacy) && (len(legacy) == 12 || len(legacy) == 16) || isDigits(legacy) && len(legacy) <= 10)
	}
	if len(rest) < tempRandLen+2 {
		return "", false
	}
	run, rnd := rest[:len(rest)-tempRandLen-1], rest[len(rest)-tempRandLen:]
	if rest[len(run)] != '-' || runTag(run) != run || !isHex(rnd) {
		return "", false
	}
	return run, true
}

// legacyMark is the mark of the temporary files of older omsbook versions.
const legacyMark = ".omsbook-"

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// TempDebris lists the names among entries (the directory of a destination whose base name is
// destBase) that are temporary files other runs left behind: regular files named as TempBase
// names them (or as older omsbook versions named them), of another run than ctx's, last
// modified before that run started. now is the
// time by the clock of the host that holds the directory (the modification time of a file
// just created there), so that the run's start is placed on that clock, whatever the
// controller's says.
func TempDebris(ctx context.Context, entries []fs.FileInfo, destBase string, now time.Time) []string {
	run := RunOf(ctx)
	own := runTag(run.ID)
	// File times may have whole seconds only: a file touched in the second the run started is
	// left alone.
	started := now.Add(-time.Since(run.Start)).Add(-time.Second)
	var out []string
	for _, e := range entries {
		r, ok := tempRun(e.Name(), destBase)
		if !ok || r == own || !e.Mode().IsRegular() || !e.ModTime().Before(started) {
			continue
		}
		out = append(out, e.Name())
	}
	return out
}

// RemoveTempDebris removes from the directory dir (holding the destination whose base name is
// destBase) the temporary files of that destination that other runs left behind (see
// TempDebris), with rm, which gets a name in dir; now is the modification time of a file just
// created in dir. It returns the names it removed. A directory it cannot read is left as it is.
func RemoveTempDebris(ctx context.Context, dir fs.FS, destBase string, now time.Time, rm func(name string) error) []string {
	des, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil
	}
	infos := make([]fs.FileInfo, 0, len(des))
	for _, de := range des {
		if !strings.Contains(de.Name(), legacyMark) {
			continue
		}
		if fi, err := de.Info(); err == nil {
			infos = append(infos, fi)
		}
	}
	var removed []string
	for _, name := range TempDebris(ctx, infos, destBase, now) {
		if rm(name) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

// CreateTemp creates in root a new, empty temporary file (mode 0600) beside rel (a path
// relative to root), named for ctx's run, for the content of rel to be written and renamed
// into place; it also removes the temporary files of rel that other runs left beside it
// (RemoveTempDebris). It returns the new file's path relative to root.
func CreateTemp(ctx context.Context, root *os.Root, rel string) (string, *os.File, error) {
	dir, base := filepath.Dir(rel), filepath.Base(rel)
	for range 10 {
		name := filepath.Join(dir, TempBase(ctx, base))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if st, err := f.Stat(); err == nil {
			if sub, err := fs.Sub(root.FS(), filepath.ToSlash(dir)); err == nil {
				RemoveTempDebris(ctx, sub, base, st.ModTime(), func(n string) error { return root.Remove(filepath.Join(dir, n)) })
			}
		}
		return name, f, nil
	}
	return "", nil, errors.New("cannot find a free temporary file name")
}
