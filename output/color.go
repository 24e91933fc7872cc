package output

import (
	"os"

	"github.com/omsbook/omsbook/events"
)

// color is an ANSI SGR code; colorNone leaves text as it is.
type color string

const (
	colorNone     color = ""
	colorOK       color = "32" // green
	colorChanged  color = "33" // yellow
	colorFailed   color = "31" // red
	colorSkipped  color = "36" // cyan
	colorUnknown  color = "35" // magenta
	colorWarn     color = "35"
	colorCheck    color = "36"
	colorDiffAdd  color = "32"
	colorDiffDel  color = "31"
	colorDiffHunk color = "36"
)

// paint wraps s in c when colour is on.
func (t *Text) paint(c color, s string) string {
	if !t.opts.Color || c == colorNone || s == "" {
		return s
	}
	return "\x1b[" + string(c) + "m" + s + "\x1b[0m"
}

func statusColor(s events.Status) color {
	switch s {
	case events.Changed:
		return colorChanged
	case events.Failed, events.Unreachable:
		return colorFailed
	case events.Skipped, events.Ignored:
		return colorSkipped
	case events.Rescued:
		return colorChanged
	}
	return colorOK
}

// hostColor colours a recap line's host name by its worst outcome.
func hostColor(s *events.Stats) color {
	switch {
	case s.Failed > 0 || s.Unreachable > 0:
		return colorFailed
	case s.Changed > 0:
		return colorChanged
	}
	return colorOK
}

func fieldColor(field string) color {
	switch field {
	case "ok":
		return colorOK
	case "changed", "rescued":
		return colorChanged
	case "unreachable", "failed":
		return colorFailed
	case "unknown":
		return colorUnknown
	}
	return colorSkipped
}

func runEndColor(code int) color {
	if code == 0 {
		return colorOK
	}
	return colorFailed
}

// WantColor says whether text output to f is coloured for mode: always, never, or auto (a
// terminal, as golang.org/x/term tells, and NO_COLOR unset). NO_COLOR turns always off too,
// unless explicit says always was asked for on the command line.
func WantColor(mode string, explicit bool, f *os.File) bool {
	switch mode {
	case "never":
		return false
	case "always":
		if explicit {
			return true
		}
		return !noColor()
	}
	return UseColor(f)
}

// noColor reports whether NO_COLOR asks for no colour: set at all, as UseColor has always read it.
func noColor() bool { _, set := os.LookupEnv("NO_COLOR"); return set }
