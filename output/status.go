package output

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/omsbook/omsbook/events"
)

// The status line: while a long task runs, a terminal shows one line under the output saying
// how many hosts are done, running and failed, and how far wait_online, mysqldump or copy
// have got on each host. It is erased (carriage return, clear to end of line) before any
// other line is written and when the task ends, so it never mixes with the output proper.

const (
	// statusEvery is the least time between two draws: about ten a second.
	statusEvery = 100 * time.Millisecond
	// statusDelay is how long a task runs before the line shows: short tasks never flicker.
	statusDelay = time.Second
	// eraseLine goes back to the start of the line and clears it.
	eraseLine = "\r\x1b[K"
)

// WantProgress says whether the text output to f shows the status line: only on a terminal
// (as golang.org/x/term tells) that can erase a line (TERM is not dumb).
func WantProgress(f *os.File) bool {
	if f == nil || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// TerminalWidth returns a function giving f's width in columns, 80 when it cannot tell.
func TerminalWidth(f *os.File) func() int {
	return func() int {
		if f != nil {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
				return w
			}
		}
		return 80
	}
}

// statusLine is the state behind the line and what is on screen. Its owner (Text) serialises
// every call.
type statusLine struct {
	w     io.Writer
	color bool
	width func() int

	task    string
	started time.Time
	total   int
	order   []string
	hosts   map[string]*hostState

	shown    string // the line on screen; "" for none
	lastDraw time.Time
	prompt   bool // a prompt is open: no line meanwhile
}

type hostState struct {
	running, done, failed bool
	module                *events.TaskProgress
}

func newStatusLine(w io.Writer, color bool, width func() int) *statusLine {
	if width == nil {
		width = func() int { return 80 }
	}
	return &statusLine{w: w, color: color, width: width, hosts: map[string]*hostState{}}
}

// event takes what an event says about the task running; now is the event's time.
func (s *statusLine) event(e events.Event, now time.Time) {
	switch e.Kind {
	case events.TaskStart:
		s.erase()
		s.task, s.started, s.total, s.order, s.hosts = e.Task, now, 0, nil, map[string]*hostState{}
	case events.PlayStart, events.Recap, events.RunEnd:
		s.erase()
		s.task = ""
	case events.Progress:
		s.progress(e)
	}
}

func (s *statusLine) progress(e events.Event) {
	p := e.Progress
	switch {
	case p == nil:
		return
	case p.Phase == events.PhasePrompt || p.Phase == events.PhasePromptDone:
		s.erase()
		s.prompt = p.Phase == events.PhasePrompt
		return
	case e.Task != s.task:
		return
	}
	if p.Phase == events.PhaseTask {
		s.total = int(p.Total)
		return
	}
	h := s.hosts[e.Host]
	if h == nil {
		h = &hostState{}
		s.hosts[e.Host] = h
		s.order = append(s.order, e.Host)
	}
	switch p.Phase {
	case events.PhaseHostStart:
		h.running = true
	case events.PhaseHostEnd:
		h.running, h.done, h.module = false, true, nil
		h.failed = e.Status == events.Failed || e.Status == events.Unreachable
	case events.PhaseModule:
		c := *p
		h.module = &c
	}
}

// erase clears the line from the screen, if one is there.
func (s *statusLine) erase() {
	if s.shown == "" {
		return
	}
	_, _ = io.WriteString(s.w, eraseLine)
	s.shown = ""
}

// draw shows the line as it is at now: not before the task has run statusDelay, not more
// often than every statusEvery, and not at all once every host is done (it is erased then).
func (s *statusLine) draw(now time.Time) {
	line := s.render(now)
	if line == "" {
		s.erase()
		return
	}
	if line == s.shown || now.Sub(s.lastDraw) < statusEvery {
		return
	}
	_, _ = io.WriteString(s.w, "\r"+line+"\x1b[K")
	s.shown, s.lastDraw = line, now
}

// segment is a piece of the line with its colour.
type segment struct {
	text string
	c    color
}

// render composes the line, cut to the terminal's width; "" when there is nothing to show.
func (s *statusLine) render(now time.Time) string {
	if s.task == "" || s.prompt || now.Sub(s.started) < statusDelay {
		return ""
	}
	var done, running, failed int
	for _, h := range s.hosts {
		switch {
		case h.done:
			done++
			if h.failed {
				failed++
			}
		case h.running:
			running++
		}
	}
	total := max(s.total, len(s.hosts))
	if total == 0 || done == total {
		return ""
	}
	// What moves comes first; the task's name, in the header above too, last.
	segs := []segment{
		{fmt.Sprintf("[%s] ", FormatDuration(now.Sub(s.started).Truncate(time.Second))), colorNone},
		{fmt.Sprintf("%d/%d hosts done", done, total), colorOK},
		{fmt.Sprintf(", %d running", running), colorChanged},
	}
	if failed > 0 {
		segs = append(segs, segment{fmt.Sprintf(", %d failed", failed), colorFailed})
	}
	if waiting := total - done - running; waiting > 0 {
		segs = append(segs, segment{fmt.Sprintf(", %d waiting", waiting), colorNone})
	}
	for _, name := range s.order {
		if h := s.hosts[name]; h.running && h.module != nil {
			segs = append(segs, segment{" | " + name + ": " + describeProgress(h.module), colorNone})
		}
	}
	segs = append(segs, segment{" | " + s.task, colorNone})
	return s.fit(segs, s.width()-1)
}

// fit joins segs, coloured when colour is on, cut to width columns (runes).
func (s *statusLine) fit(segs []segment, width int) string {
	var b strings.Builder
	left := max(width, 10)
	for _, sg := range segs {
		r := []rune(sg.text)
		if len(r) > left {
			r = r[:left]
		}
		left -= len(r)
		text := string(r)
		if s.color && sg.c != colorNone && text != "" {
			text = "\x1b[" + string(sg.c) + "m" + text + "\x1b[0m"
		}
		b.WriteString(text)
		if left == 0 {
			break
		}
	}
	return b.String()
}

// describeProgress says a module's progress: "2/3 nodes Online", "12.0 MiB/40.0 MiB (30%)".
func describeProgress(p *events.TaskProgress) string {
	if p.Unit != "bytes" {
		if p.Total > 0 {
			return fmt.Sprintf("%d/%d %s", p.Done, p.Total, p.Unit)
		}
		return fmt.Sprintf("%d %s", p.Done, p.Unit)
	}
	if p.Total > 0 && p.Done <= p.Total {
		return fmt.Sprintf("%s/%s (%d%%)", FormatBytes(p.Done), FormatBytes(p.Total), p.Done*100/p.Total)
	}
	return FormatBytes(p.Done)
}

// FormatBytes rounds a byte count for people: 512 B, 1.5 KiB, 12.0 MiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
