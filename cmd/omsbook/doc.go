package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/registry"
)

// cmdDoc lists the modules, or documents one: what it does, what --check does, its arguments
// and the fields it registers. It needs no inventory and touches nothing.
func cmdDoc(args []string, std stdio) error {
	f, pos, err := parseFlags("doc", args, std)
	if err != nil {
		return err
	}
	if f.markdown {
		if len(pos) > 0 {
			return &usageError{cmd: "doc", msg: "--markdown documents every module: give no MODULE"}
		}
		return writeMarkdown(std.out)
	}
	switch len(pos) {
	case 0:
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		for _, m := range registry.All() {
			fmt.Fprintf(tw, "%s\t%s\n", m.Name(), m.Spec().Summary)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write module list: %w", err)
		}
		fmt.Fprintln(std.out, "\nrun 'omsbook doc MODULE' for a module's arguments and check-mode behaviour")
		return nil
	case 1:
	default:
		return &usageError{cmd: "doc", msg: "doc takes one module name"}
	}
	m, ok := registry.Lookup(pos[0])
	if !ok {
		msg := fmt.Sprintf("unknown module %q", pos[0])
		if close := closest(pos[0], registry.Names()); close != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", close)
		}
		return fmt.Errorf("%s: run 'omsbook doc' to list the modules", msg)
	}
	writeModuleDoc(std, m)
	return nil
}

func writeModuleDoc(std stdio, m modules.Module) {
	s := m.Spec()
	w := std.out
	fmt.Fprintf(w, "%s: %s\n", m.Name(), s.Summary)
	if s.Description != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(s.Description, "", docWidth))
	}
	if s.Controller {
		fmt.Fprintln(w, "\nRuns on the controller: it needs no connection to the host.")
	}
	if s.CheckMode != "" {
		fmt.Fprintf(w, "\nCheck mode (--check):\n%s\n", wrap(s.CheckMode, "  ", docWidth))
	}
	if s.FreeForm != "" {
		fmt.Fprintf(w, "\nFree form: `%s: VALUE` stands for `%s: {%s: VALUE}`.\n", m.Name(), m.Name(), s.FreeForm)
	}

	fmt.Fprintln(w, "\nArguments:")
	if len(s.Args) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tDEFAULT\tSECRET\tDESCRIPTION")
		for _, a := range s.Args {
			def := ""
			if a.Default != nil {
				def = fmt.Sprint(a.Default)
			}
			doc := a.Doc
			if len(a.Choices) > 0 {
				doc += " (one of: " + strings.Join(a.Choices, ", ") + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Type, yesNo(a.Required), def, yesNo(a.Secret), doc)
		}
		_ = tw.Flush()
	}
	if s.AnyArgs {
		fmt.Fprintln(w, "  Any other argument name is accepted too (see above for what it means).")
	}

	fmt.Fprintln(w, "\nReturns (besides changed, failed, skipped, msg):")
	if len(s.Returns) == 0 {
		fmt.Fprintln(w, "  nothing more")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tDESCRIPTION")
	for _, f := range s.Returns {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.Type, f.Doc)
	}
	_ = tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// docWidth is the column prose in `omsbook doc` wraps at.
const docWidth = 92

// wrap fills each paragraph of s (paragraphs are separated by blank lines; lines that start
// with a space or "-" are kept as written, for lists and examples) to width columns, each line
// starting with prefix.
func wrap(s, prefix string, width int) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if len(out) > 0 {
			out = append(out, "")
		}
		var line string
		flush := func() {
			if line != "" {
				out = append(out, prefix+line)
				line = ""
			}
		}
		for _, l := range strings.Split(para, "\n") {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "-") {
				flush()
				out = append(out, prefix+l)
				continue
			}
			for _, word := range strings.Fields(l) {
				switch {
				case line == "":
					line = word
				case len(prefix)+len(line)+1+len(word) > width:
					flush()
					line = word
				default:
					line += " " + word
				}
			}
		}
		flush()
	}
	return strings.Join(out, "\n")
}

// closest returns the candidate nearest to name by edit distance, when it is near enough to be
// a likely typo.
func closest(name string, candidates []string) string {
	best, bestDist := "", len(name)/2+2
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
