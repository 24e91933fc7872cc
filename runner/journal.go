package runner

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/journal"
)

// Start opens the run's journal in Options.JournalDir (default .omsbook/runs beside the
// playbook) and returns its path; Run then writes every event there as well as to its sink,
// and names the journal on the RunEnd event. A journal that cannot be created is bad input:
// nothing has run yet. Run calls Start itself when the caller did not.
func (p *Plan) Start() (string, error) {
	if p.impl.journal != nil {
		return p.impl.journal.Path(), nil
	}
	dir := p.impl.opts.JournalDir
	if dir == "" {
		dir = journal.DefaultDir(p.impl.opts.Playbook)
	}
	j, err := journal.Open(dir, p.impl.opts.Playbook, p.impl.opts.Now())
	if err != nil {
		return "", err
	}
	if !p.impl.opts.Check {
		// A run that changes hosts holds its inventory's lock; a dry run needs none.
		lock, taken, err := acquireLock(p.impl.opts.Inventories, runIDOf(j), p.impl.opts.Now())
		if err != nil {
			_ = j.Close()
			_ = os.Remove(j.Path())
			return "", err
		}
		p.impl.lock = lock
		if taken != nil {
			p.impl.warnings = append(p.impl.warnings, fmt.Sprintf("took over the inventory's lock from %s, which is no longer running", taken))
		}
	}
	p.impl.journal = j
	return j.Path(), nil
}

// runIDOf is the id of the run whose journal j is: its file name without .jsonl.
func runIDOf(j *journal.Journal) string {
	return strings.TrimSuffix(filepath.Base(j.Path()), ".jsonl")
}

// runID is the run's id, "" before Start.
func (p *plan) runID() string {
	if p.journal == nil {
		return ""
	}
	return runIDOf(p.journal)
}

// journalSink tees events into the journal and stamps its path on the RunEnd event, so that
// the text output prints it last and the JSON output and the journal record it.
type journalSink struct {
	j    *journal.Journal
	next events.Sink
}

func (s journalSink) Emit(e events.Event) {
	if (e.Kind == events.RunEnd || e.Kind == events.RunStart) && e.Journal == "" {
		e.Journal = s.j.Path()
	}
	s.j.Emit(e)
	if s.next != nil {
		s.next.Emit(e)
	}
}

// closeJournal closes the journal after the run; a write that failed is said on the sink, as
// the last thing the run shows.
func (p *plan) closeJournal(sink events.Sink) {
	p.lock.release()
	p.lock = nil
	if p.journal == nil {
		return
	}
	if err := p.journal.Close(); err != nil && sink != nil {
		sink.Emit(events.Event{Kind: events.Warning, Time: p.opts.Now(), Msg: p.secrets.Mask(err.Error())})
	}
}

// whoAndWhere are the RunStart's record of who ran the run and where: the command line, the
// user (and who became it with sudo), the controller's host name and the working directory
// ("" where unknown).
func (p *plan) whoAndWhere() (command, userName, host, dir string) {
	words := make([]string, len(p.opts.Command))
	for i, w := range p.opts.Command {
		words[i] = shellquote.QuoteIfNeeded(w)
	}
	command = strings.Join(words, " ")
	if u, err := user.Current(); err == nil {
		userName = u.Username
	} else {
		userName = os.Getenv("USER")
	}
	if by := os.Getenv("SUDO_USER"); by != "" && by != userName {
		userName += " (through sudo, by " + by + ")"
	}
	host, _ = os.Hostname()
	dir, _ = os.Getwd()
	return command, userName, host, dir
}
