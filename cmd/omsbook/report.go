package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/omsbook/omsbook/journal"
	"github.com/omsbook/omsbook/report"
)

// cmdReport writes the HTML report of one run from its journal: RUN_ID (a journal's name, or
// its path) or last, in --journal-dir (or the config's journal_dir, or .omsbook/runs beside
// PLAYBOOK, or ./.omsbook/runs). It prints the report's path.
func cmdReport(args []string, std stdio) error {
	f, pos, err := parseFlags("report", args, std)
	if err != nil {
		return err
	}
	if len(pos) == 0 || len(pos) > 2 {
		return &usageError{cmd: "report", msg: "say which run: omsbook report RUN_ID|last [PLAYBOOK] [-o FILE]"}
	}
	path, err := findJournal(f.journalDir, pos)
	if err != nil {
		return err
	}
	jf, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	evs, err := journal.ReadEvents(jf)
	jf.Close()
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	r, err := report.Build(evs, report.Options{Journal: path, ReadTimeFile: readTimeFile, Generated: time.Now()})
	if err != nil {
		return err
	}
	out := f.reportOut
	if out == "" {
		out = strings.TrimSuffix(path, ".jsonl") + ".html"
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, r); err != nil {
		return err
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintln(std.out, out)
	return nil
}

// findJournal names the journal of the run pos[0] (a run id, last, or a journal's path),
// of the playbook pos[1] when given.
func findJournal(dir string, pos []string) (string, error) {
	runID, playbook := pos[0], ""
	if len(pos) == 2 {
		playbook = pos[1]
	}
	if strings.HasSuffix(runID, ".jsonl") {
		if _, err := os.Stat(runID); err != nil {
			return "", fmt.Errorf("journal %s: %w", runID, err)
		}
		return runID, nil
	}
	if dir == "" && playbook != "" {
		dir = journal.DefaultDir(playbook)
	}
	if dir == "" {
		dir = filepath.FromSlash(journal.DirName)
	}
	p, err := journal.Find(dir, playbook, runID)
	if err != nil {
		return "", fmt.Errorf("%w (journals are beside the playbook unless --journal-dir or journal_dir says otherwise: give the playbook, or --journal-dir DIR)", err)
	}
	return p, nil
}

// maxTimeFile bounds what is read of a time file: one timestamp.
const maxTimeFile = 256

// readTimeFile reads one of the procedure's time files (T1, T2, T3) that a run wrote on this
// machine: a small regular file, nothing else.
func readTimeFile(path string) (string, error) {
	switch filepath.Base(path) {
	case "T1", "T2", "T3":
	default:
		return "", fmt.Errorf("%s is not a time file", path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxTimeFile {
		return "", fmt.Errorf("%s is not a small regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTimeFile))
	return strings.TrimSpace(string(b)), err
}

// writeFileAtomic writes data to path (mode 0600: a report names hosts and paths, as its
// journal does) through a temporary file renamed into place.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
