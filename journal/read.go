package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/events"
)

// maxLine bounds one journal line: a result with a large stdout is still far below it.
const maxLine = 16 << 20

// ReadEvents reads a journal's events in order. A line that is not an event is an error naming
// its line number; a last line cut short (a run killed while writing it) is left out.
func ReadEvents(r io.Reader) ([]events.Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []events.Event
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			big := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(big) <= maxLine {
				line, err = br.ReadSlice('\n')
				big = append(big, line...)
			}
			if len(big) > maxLine {
				return out, fmt.Errorf("journal line %d is longer than %d bytes", n, maxLine)
			}
			line = big
		}
		if len(strings.TrimSpace(string(line))) > 0 {
			var e events.Event
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				if errors.Is(err, io.EOF) {
					return out, nil // the last line was cut short
				}
				return out, fmt.Errorf("journal line %d: %w", n, jerr)
			}
			out = append(out, e)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

// Find names a run's journal in dir: runID is a journal's name without .jsonl, or "last" for
// the newest journal of playbook (of any playbook when playbook is "").
func Find(dir, playbook, runID string) (string, error) {
	if runID != "last" && runID != "" {
		p := filepath.Join(dir, runID+".jsonl")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("no journal of run %s in %s (the runs are the files there)", runID, dir)
		}
		return p, nil
	}
	base := strings.TrimSuffix(filepath.Base(playbook), filepath.Ext(playbook))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("journal directory %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		stem := strings.TrimSuffix(n, ".jsonl")
		if !e.IsDir() && stem != n && len(stem) > len(timeLayout)+1 && (playbook == "" || stemPlaybook(stem[len(timeLayout)+1:]) == base) {
			names = append(names, n)
		}
	}
	if len(names) == 0 && playbook == "" {
		return "", fmt.Errorf("no journal in %s", dir)
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no journal of %s in %s", playbook, dir)
	}
	sort.Strings(names) // names start with the UTC start time: the last is the newest
	return filepath.Join(dir, names[len(names)-1]), nil
}

// stemPlaybook drops the -2, -3 ... a journal gets when another run started in the same second.
func stemPlaybook(s string) string {
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		if _, err := fmt.Sscanf(s[i+1:], "%d", new(int)); err == nil {
			return s[:i]
		}
	}
	return s
}
