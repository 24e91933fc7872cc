package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

// page is the report's one HTML file: its CSS and script are inline, it loads nothing else.
//
//go:embed report.html.tmpl
var page string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return fmt.Sprintf("%.3f%%", f) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 UTC") },
	"add":  func(a, b int) int { return a + b },
}).Parse(page))

// Write renders r as the HTML page; html/template escapes every value taken from the journal.
func Write(w io.Writer, r *Report) error {
	if err := tmpl.Execute(w, r); err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	return nil
}
