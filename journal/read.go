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
	"strconv"
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
	have := map[string]bool{} // every journal's name
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".jsonl") && len(n) > len(timeLayout)+len("-.jsonl") {
			have[n] = true
		}
	}
	var names []string
	for n := range have {
		if playbook == "" || ofPlaybook(strings.TrimSuffix(n, ".jsonl"), base, have) {
			names = append(names, n)
		}
	}
	if len(names) == 0 && playbook == "" {
		return "", fmt.Errorf("no journal in %s", dir)
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no journal of %s in %s", playbook, dir)
	}
	// Names start with the UTC start time: the last is the newest; within one second, the
	// run that got the -2, -3 ... suffix started after the one without.
	sort.Slice(names, func(i, j int) bool {
		if ti, tj := names[i][:len(timeLayout)], names[j][:len(timeLayout)]; ti != tj {
			return ti < tj
		}
		if si, sj := sameSecondSeq(names[i], have), sameSecondSeq(names[j], have); si != sj {
			return si < sj
		}
		return names[i] < names[j]
	})
	return filepath.Join(dir, names[len(names)-1]), nil
}

// sameSecondSeq is the N of a journal named <stem>-N.jsonl beside <stem>.jsonl, 1 otherwise.
func sameSecondSeq(name string, have map[string]bool) int {
	stem := strings.TrimSuffix(name, ".jsonl")
	i := strings.LastIndexByte(stem, '-')
	if i < 0 || !have[stem[:i]+".jsonl"] {
		return 1
	}
	n, err := strconv.Atoi(stem[i+1:])
	if err != nil {
		return 1
	}
	return n
}

// ofPlaybook says whether the journal named stem (without .jsonl) is of the playbook named
// base: <time>-<base>, or <time>-<base>-N beside a <time>-<base> (the suffix a journal gets
// when another run started in the same second; a playbook's own name may end in a number too:
// upgrade-422-to-423).
func ofPlaybook(stem, base string, have map[string]bool) bool {
	rest := stem[len(timeLayout)+1:]
	if rest == base {
		return true
	}
	// <time>-<base>-N where <time>-<base>.jsonl is there too.
	return strings.HasPrefix(rest, base+"-") && sameSecondSeq(stem+".jsonl", have) > 1 &&
		strings.LastIndexByte(stem, '-') == len(timeLayout)+1+len(base)
}
