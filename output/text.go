// Package output turns run events into what the operator reads: text like ansible-playbook's
// (play and task headers, one line per host, a recap) or JSON lines, one object per event.
// Both are events.Sink implementations; the CLI picks one and chains it with the journal.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/omsbook/omsbook/events"
)

// headerWidth is the column the stars of PLAY and TASK headers reach, as ansible-playbook's.
const headerWidth = 80

// slowTask is how long a task must take before its elapsed time is printed after it.
const slowTask = 2 * time.Second

// TextOptions tune the text output.
type TextOptions struct {
	// Color adds ANSI colours; set it with UseColor so that pipes and NO_COLOR get none.
	Color bool
	// Diff prints the before/after of results that carry one (--diff).
	Diff bool
	// Verbosity is the -v count: 1 shows live output lines, 2 adds each result's fields.
	Verbosity int
	// Progress shows a status line under the output while a long task runs (Progress
	// events); set it with WantProgress, so that only a terminal gets it. Width is the
	// terminal's width in columns for it (TerminalWidth); nil means 80.
	Progress bool
	Width    func() int
}

// Text writes events as ansible-playbook-like text. It is safe for concurrent use.
type Text struct {
	mu   sync.Mutex
	w    io.Writer
	opts TextOptions

	// The task being reported, so that its elapsed time can be printed when it ends.
	inTask    bool
	taskStart time.Time
	taskLast  time.Time     // time of the task's last event
	taskMax   time.Duration // longest host result, when events carry no times
	// check: the run is a dry run, so the recap counts the results it could not tell.
	check bool

	// The status line (Progress): its state, the clock it is drawn by, and the ticker that
	// redraws it (stopTick closes it); manualTick leaves the drawing to the caller (tests).
	status     *statusLine
	clock      func() time.Time
	stopTick   chan struct{}
	manualTick bool
}

// NewText returns a text sink writing to w.
func NewText(w io.Writer, opts TextOptions) *Text {
	t := &Text{w: w, opts: opts, clock: time.Now}
	if opts.Progress {
		t.status = newStatusLine(w, opts.Color, opts.Width)
	}
	return t
}

// UseColor reports whether output to f should be coloured: only when f is a terminal and the
// NO_COLOR environment variable is unset (https://no-color.org).
func UseColor(f *os.File) bool {
	if noColor() {
		return false
	}
	if f == nil {
		return false
	}
	// A terminal, not merely a character device: /dev/null is one too.
	return term.IsTerminal(int(f.Fd()))
}

// Emit writes one event.
func (t *Text) Emit(e events.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != nil {
		t.status.event(e, t.clock())
		defer t.statusAfter(e)
	}
	switch e.Kind {
	case events.RunStart:
		t.check = e.Check
		if e.Check {
			t.printf("%s\n", t.paint(colorCheck, "CHECK MODE: nothing will be changed; results say what would change"))
		}
	case events.PlayStart:
		t.endTask()
		t.printf("\n%s\n", t.header("PLAY", e.Play))
		if len(e.Hosts) == 0 {
			// Said as ansible-playbook says it, so that an empty play does not look cut off.
			t.printf("%s\n", t.paint(colorSkipped, "skipping: no hosts matched"))
		}
	case events.TaskStart:
		t.endTask()
		t.inTask = true
		t.taskStart, t.taskLast, t.taskMax = e.Time, e.Time, 0
		kind := "TASK"
		if e.Handler {
			kind = "RUNNING HANDLER"
		}
		t.printf("\n%s\n", t.header(kind, e.Task))
	case events.HostResult:
		t.noteTaskEvent(e)
		t.hostResult(e)
	case events.HostOutput:
		t.noteTaskEvent(e)
		// until's retries show at every verbosity, as ansible-playbook's FAILED - RETRYING.
		if t.opts.Verbosity > 0 || e.Stream == "retry" {
			t.printf("%s | %s\n", e.Host, e.Line)
		}
	case events.Warning:
		t.printf("%s\n", t.paint(colorWarn, "[WARNING]: "+e.Msg))
	case events.Recap:
		t.endTask()
		t.recap(e.Stats)
	case events.RunEnd:
		t.endTask()
		if e.Msg != "" {
			t.printf("\n%s\n", t.paint(runEndColor(e.ExitCode), e.Msg))
		}
		if e.Journal != "" {
			t.printf("\njournal: %s\n", e.Journal)
		}
	}
}

// header formats "KIND [name] ****" padded with stars to headerWidth columns (at least three).
func (t *Text) header(kind, name string) string {
	h := kind + " [" + name + "] "
	stars := headerWidth - len([]rune(h))
	if stars < 3 {
		stars = 3
	}
	return h + strings.Repeat("*", stars)
}

func (t *Text) noteTaskEvent(e events.Event) {
	if !e.Time.IsZero() && e.Time.After(t.taskLast) {
		t.taskLast = e.Time
	}
	if e.Duration > t.taskMax {
		t.taskMax = e.Duration
	}
}

// endTask prints the elapsed time of the task that just ended, when it was slow.
func (t *Text) endTask() {
	if !t.inTask {
		return
	}
	t.inTask = false
	elapsed := t.taskMax
	if !t.taskStart.IsZero() && t.taskLast.Sub(t.taskStart) > elapsed {
		elapsed = t.taskLast.Sub(t.taskStart)
	}
	if elapsed > slowTask {
		t.printf("elapsed: %s\n", FormatDuration(elapsed))
	}
}

// FormatDuration rounds d for people: 3.2s, 1m4s.
func FormatDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

func (t *Text) hostResult(e events.Event) {
	target := "[" + e.Host
	if e.Delegate != "" {
		target += " -> " + e.Delegate
	}
	target += "]"
	if e.Item != nil {
		target += " => (item=" + ItemLabel(e.Item) + ")"
	}
	// The mark follows each result, not the run: a check_mode: false task runs for real
	// under --check, and a check_mode: true task only probes in a real run.
	check := ""
	if e.Check {
		check = " (check)"
	}

	switch {
	case e.Unknown:
		t.printf("%s\n", t.paint(colorUnknown, "unknown: "+target+": "+orDefault(e.Msg, "check mode cannot tell what would happen")))
	case e.Status == events.Failed || e.Status == events.Ignored:
		t.printf("%s\n", t.paint(colorFailed, "failed: "+target+": "+orDefault(e.Msg, "task failed")))
		t.commandDetails(e.Result, colorFailed)
		if e.Status == events.Ignored {
			t.printf("%s\n", t.paint(colorSkipped, "...ignoring"))
		}
	case e.Status == events.Unreachable:
		t.printf("%s\n", t.paint(colorFailed, "unreachable: "+target+": "+orDefault(e.Msg, "host unreachable")))
	case e.Status == events.Included:
		t.printf("%s\n", t.paint(colorSkipped, "included: "+e.Msg+" for "+e.Host))
	case e.Status == events.Skipped:
		// As ansible-playbook prints it.
		line := "skipping: " + target
		if e.Msg != "" && t.opts.Verbosity > 0 {
			line += ": " + e.Msg
		}
		t.printf("%s\n", t.paint(colorSkipped, line))
	default:
		status := string(e.Status)
		if status == "" {
			status = string(events.OK)
		}
		line := status + ": " + target + check
		if e.Msg != "" {
			line += ": " + e.Msg
		}
		t.printf("%s\n", t.paint(statusColor(e.Status), line))
	}
	if t.opts.Diff && e.Diff != nil {
		t.diff(e.Diff)
	}
	if t.opts.Verbosity >= 2 && len(e.Result) > 0 {
		b, err := json.MarshalIndent(e.Result, "    ", "  ")
		if err != nil {
			b = []byte(fmt.Sprintf("%v", e.Result))
		}
		t.printf("    %s\n", b)
	}
}

// commandDetails prints a failed command's rc and stderr (and stdout when stderr is empty),
// which is what an operator needs to see first.
func (t *Text) commandDetails(r map[string]any, c color) {
	if r == nil {
		return
	}
	if rc, ok := r["rc"]; ok {
		t.printf("%s\n", t.paint(c, fmt.Sprintf("  rc: %v", rc)))
	}
	stream := "stderr"
	text, _ := r["stderr"].(string)
	if strings.TrimSpace(text) == "" {
		stream = "stdout"
		text, _ = r["stdout"].(string)
	}
	if strings.TrimSpace(text) == "" {
		return
	}
	t.printf("%s\n", t.paint(c, "  "+stream+":"))
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		t.printf("%s\n", t.paint(c, "    "+l))
	}
}

func (t *Text) diff(d *events.Diff) {
	lines := UnifiedDiff(d.Before, d.After, 3)
	if len(lines) == 0 {
		return
	}
	t.printf("%s\n", t.paint(colorDiffDel, "--- "+orDefault(d.BeforeLabel, "before")))
	t.printf("%s\n", t.paint(colorDiffAdd, "+++ "+orDefault(d.AfterLabel, "after")))
	for _, l := range lines {
		c := colorNone
		switch {
		case strings.HasPrefix(l, "@@"):
			c = colorDiffHunk
		case strings.HasPrefix(l, "-"):
			c = colorDiffDel
		case strings.HasPrefix(l, "+"):
			c = colorDiffAdd
		}
		t.printf("%s\n", t.paint(c, l))
	}
}

// recapFields are the PLAY RECAP columns, in ansible-playbook's order.
var recapFields = []string{"ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"}

func statsValues(s *events.Stats) []int {
	return []int{s.OK, s.Changed, s.Unreachable, s.Failed, s.Skipped, s.Rescued, s.Ignored}
}

// recapColumns are the recap's columns and one host's values: a dry run adds how many results
// it could not tell (unknown), so that changed=1 does not hide three unknowns.
func (t *Text) recapColumns(s *events.Stats) ([]string, []int) {
	if !t.check {
		return recapFields, statsValues(s)
	}
	return append(recapFields[:len(recapFields):len(recapFields)], "unknown"), append(statsValues(s), s.Unknown)
}

func (t *Text) recap(stats map[string]*events.Stats) {
	t.printf("\n%s\n", recapHeader())
	hosts := make([]string, 0, len(stats))
	nameWidth := 0
	for h := range stats {
		hosts = append(hosts, h)
		if n := len([]rune(h)); n > nameWidth {
			nameWidth = n
		}
	}
	sort.Strings(hosts)
	// Each column is as wide as its widest value, so the columns line up.
	fields, _ := t.recapColumns(&events.Stats{})
	widths := make([]int, len(fields))
	for _, h := range hosts {
		if stats[h] == nil {
			stats[h] = &events.Stats{}
		}
		_, values := t.recapColumns(stats[h])
		for i, v := range values {
			if n := len(fmt.Sprint(v)); n > widths[i] {
				widths[i] = n
			}
		}
	}
	for _, h := range hosts {
		s := stats[h]
		var b strings.Builder
		b.WriteString(t.paint(hostColor(s), fmt.Sprintf("%-*s", nameWidth, h)))
		b.WriteString(" :")
		_, values := t.recapColumns(s)
		for i, v := range values {
			width := widths[i]
			if i == len(fields)-1 {
				width = 0 // no padding at the end of the line
			}
			field := fmt.Sprintf("%s=%-*d", fields[i], width, v)
			if v > 0 {
				field = t.paint(fieldColor(fields[i]), field)
			}
			b.WriteString("  ")
			b.WriteString(field)
		}
		t.printf("%s\n", b.String())
	}
}

func recapHeader() string {
	h := "PLAY RECAP "
	return h + strings.Repeat("*", headerWidth-len(h))
}

// ItemLabel shows a loop item compactly: strings as they are, other values as JSON.
func ItemLabel(item any) string {
	if s, ok := item.(string); ok {
		return s
	}
	b, err := json.Marshal(item)
	if err != nil {
		return fmt.Sprint(item)
	}
	return string(b)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (t *Text) printf(format string, args ...any) {
	if t.status != nil {
		t.status.erase() // a normal line never mixes with the status line
	}
	// A failed write to the terminal cannot be reported anywhere better; the journal keeps
	// the events regardless.
	_, _ = fmt.Fprintf(t.w, format, args...)
}

// statusAfter draws the status line after an event, and runs the ticker that redraws it
// while a task goes on without events: from the first task to the end of the run.
func (t *Text) statusAfter(e events.Event) {
	switch {
	case e.Kind == events.RunEnd && t.stopTick != nil:
		close(t.stopTick)
		t.stopTick = nil
		return
	case e.Kind == events.TaskStart && t.stopTick == nil && !t.manualTick:
		t.stopTick = make(chan struct{})
		go t.tick(t.stopTick)
	}
	t.status.draw(t.clock())
}

func (t *Text) tick(stop <-chan struct{}) {
	tk := time.NewTicker(statusEvery)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			t.mu.Lock()
			t.status.draw(t.clock())
			t.mu.Unlock()
		}
	}
}
