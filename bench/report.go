package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// PrintTable writes the medians and ratios as a table. The ratio column is baseline/omsbook:
// above 1 omsbook is faster; against the floor it shows how close omsbook comes to it.
func PrintTable(w io.Writer, res *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tcase\tomsbook\tbaseline\tbaseline time\tbaseline/omsbook\tload\tnotes")
	for _, r := range res.Rows {
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n", r.Workload, r.Case, FormatDuration(time.Duration(r.Omsbook)),
			r.Baseline, FormatDuration(time.Duration(r.Base)), ratio, r.Load, r.Extra)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// FormatDuration rounds d for a table: ms below 10 s, else 0.1 s.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < 10*time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// WriteJSON writes res as indented JSON.
func WriteJSON(w io.Writer, res *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
