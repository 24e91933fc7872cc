package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// LineInFile keeps one line in a text file present (added or replaced) or absent, as
// Ansible's lineinfile.
type LineInFile struct{}

func (LineInFile) Name() string { return "lineinfile" }

func (LineInFile) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Ensure a line is in a text file on the host, or is not",
		Description: "As Ansible's lineinfile. state=present: the last line matching `regexp` (or " +
			"containing `search_string`; the first with firstmatch) is replaced by `line`; when none " +
			"matches, `line` is added unless the file already has it exactly: after the last line " +
			"matching `insertafter` (or before the last matching `insertbefore`; the first with " +
			"firstmatch), at BOF, or at EOF (the default). With backrefs, `line` may use the " +
			"regexp's groups (\\1, \\g<name>) and nothing is added when the regexp matches no line. " +
			"state=absent removes every line matching regexp / containing search_string / equal to " +
			"line. Regular expressions are Go's RE2, matched against each line without its line " +
			"end (the common Python syntax is the same; look-arounds are not supported). The file is " +
			"read whole (up to 16 MiB) and rewritten atomically through the host's file operations.",
		CheckMode: "Computes the new content without writing: changed with the diff of the file, " +
			"ok when already so; also reports mode/owner/group changes.",
		Args: textEditArgs(
			modules.Arg{Name: "regexp", Type: modules.String, Doc: "a regular expression for the line to replace or remove (alias regex)"},
			modules.Arg{Name: "regex", Type: modules.String, Doc: "alias of regexp"},
			modules.Arg{Name: "search_string", Type: modules.String, Doc: "a literal string for the line to replace or remove (instead of regexp)"},
			modules.Arg{Name: "line", Type: modules.String, Doc: "the line to keep present (required with state=present; alias value)"},
			modules.Arg{Name: "value", Type: modules.String, Doc: "alias of line"},
			modules.Arg{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			modules.Arg{Name: "insertafter", Type: modules.String, Doc: "EOF (the default), BOF, or a regular expression: add the line after its last match"},
			modules.Arg{Name: "insertbefore", Type: modules.String, Doc: "BOF or a regular expression: add the line before its last match"},
			modules.Arg{Name: "backrefs", Type: modules.Bool, Default: false, Doc: "expand the regexp's groups in line; add nothing when regexp matches no line"},
			modules.Arg{Name: "create", Type: modules.Bool, Default: false, Doc: "create the file (and its directory) when missing; otherwise a missing file fails"},
			modules.Arg{Name: "firstmatch", Type: modules.Bool, Default: false, Doc: "use the first match of regexp / insertafter / insertbefore, not the last"},
		),
		Returns: []modules.Field{
			{Name: "msg", Type: "string", Doc: "\"line added\", \"line replaced\", \"N line(s) removed\" or empty"},
			{Name: "backup", Type: "string", Doc: "the backup's path, when backup made one"},
			{Name: "found", Type: "int", Doc: "state=absent: how many lines were removed"},
		},
	}
}

// Validate checks the argument combinations Ansible refuses.
func (LineInFile) Validate(args modules.Args) error {
	if err := validatePath(args); err != nil {
		return err
	}
	for _, set := range [][]string{{"insertbefore", "insertafter"}, {"regexp", "search_string"}, {"backrefs", "search_string"}, {"regexp", "regex"}, {"line", "value"}} {
		if set[0] == "backrefs" {
			if args.Bool("backrefs") && args.Has("search_string") {
				return fmt.Errorf("parameters are mutually exclusive: backrefs|search_string")
			}
			continue
		}
		if err := mutuallyExclusive(args, set...); err != nil {
			return err
		}
	}
	if unrendered(args["state"]) {
		return nil
	}
	re, line := firstOf(args, "regexp", "regex"), firstOf(args, "line", "value")
	switch args.String("state") {
	case "present":
		if args.Bool("backrefs") && re == nil {
			return fmt.Errorf("regexp is required with backrefs=true")
		}
		if line == nil {
			return fmt.Errorf("line is required with state=present")
		}
	case "absent":
		if re == nil && !args.Has("search_string") && line == nil {
			return fmt.Errorf("one of line, search_string, or regexp is required with state=absent")
		}
	}
	return nil
}

func firstOf(args modules.Args, names ...string) any {
	for _, n := range names {
		if v, ok := args[n]; ok && v != nil {
			return v
		}
	}
	return nil
}

func (m LineInFile) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m LineInFile) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (m LineInFile) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	p := pathArg(args)
	le := lineEdit{line: args.String("line"), firstmatch: args.Bool("firstmatch"), backrefs: args.Bool("backrefs")}
	if !args.Has("line") {
		le.line = args.String("value")
	}
	var err error
	if r, ok := firstOf(args, "regexp", "regex").(string); ok {
		if le.re, err = pyRegexp("regexp", r, ""); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	}
	if s, ok := args["search_string"].(string); ok {
		le.search, le.hasSearch = s, true
	}
	le.after, le.before = args.String("insertafter"), args.String("insertbefore")
	if args.Has("insertafter") && le.after != "BOF" && le.after != "EOF" {
		if le.insRe, err = pyRegexp("insertafter", le.after, ""); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	} else if args.Has("insertbefore") && le.before != "BOF" {
		if le.insRe, err = pyRegexp("insertbefore", le.before, ""); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	}
	absent := args.String("state") == "absent"
	return editTextFile(ctx, h, args, apply, "backup", func(before string, exists bool) (string, string, map[string]any, *modules.Result) {
		if absent {
			if !exists {
				return before, "file not present", map[string]any{"found": 0}, nil
			}
			after, n := le.absent(before)
			msg := ""
			if n > 0 {
				msg = fmt.Sprintf("%d line(s) removed", n)
			}
			return after, msg, map[string]any{"found": n}, nil
		}
		if !exists && !args.Bool("create") {
			r := modules.Fail(fmt.Sprintf("Destination %s does not exist !", p), map[string]any{"rc": 257})
			return "", "", nil, &r
		}
		after, msg := le.present(before)
		return after, msg, nil, nil
	})
}

// lineEdit is one lineinfile edit, computed as Ansible's lineinfile computes it.
type lineEdit struct {
	line          string
	re, insRe     *regexp.Regexp
	search        string
	hasSearch     bool
	after, before string // insertafter / insertbefore as given
	firstmatch    bool
	backrefs      bool
}

// content is a line without its line end, what a regexp is matched against (Python's $
// matches before a final newline; Go's does not).
func content(l string) string { return strings.TrimSuffix(l, "\n") }

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

func (e *lineEdit) present(text string) (string, string) {
	lines := splitLines(text)
	idx0, idx1 := -1, -1
	var match []int
	matched := false
	if e.re != nil {
		for i, l := range lines {
			if m := e.re.FindStringSubmatchIndex(content(l)); m != nil {
				idx0, match, matched = i, m, true
				if e.firstmatch {
					break
				}
			}
		}
	}
	if e.hasSearch {
		for i, l := range lines {
			if strings.Contains(l, e.search) {
				idx0, matched = i, true
				if e.firstmatch {
					break
				}
			}
		}
	}
	if !matched {
		for i, l := range lines {
			if e.line == trimEOL(l) {
				idx0 = i
			} else if e.insRe != nil && e.insRe.MatchString(content(l)) {
				if e.after != "" {
					idx1 = i + 1
					if e.firstmatch {
						break
					}
				}
				if e.before != "" {
					idx1 = i
					if e.firstmatch {
						break
					}
				}
			}
		}
	}
	nl := e.line + "\n"
	insert := func(at int, s string) {
		lines = append(lines[:at], append([]string{s}, lines[at:]...)...)
	}
	endsOpen := func() bool {
		return len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") && !strings.HasSuffix(lines[len(lines)-1], "\r")
	}
	msg := ""
	switch {
	case idx0 != -1:
		newLine := e.line
		if e.backrefs && match != nil {
			l := content(lines[idx0])
			newLine = string(e.re.ExpandString(nil, pyTemplate(e.line), l, match))
		}
		if !strings.HasSuffix(newLine, "\n") {
			newLine += "\n"
		}
		if lines[idx0] != newLine {
			lines[idx0] = newLine
			msg = "line replaced"
		}
	case e.backrefs:
	case e.before == "BOF" || e.after == "BOF":
		insert(0, nl)
		msg = "line added"
	case e.after == "EOF" || idx1 == -1:
		if endsOpen() {
			lines = append(lines, "\n")
		}
		lines = append(lines, nl)
		msg = "line added"
	case e.after != "" && idx1 != -1:
		if len(lines) == idx1 {
			if trimEOL(lines[idx1-1]) != e.line {
				lines = append(lines, nl)
				msg = "line added"
			}
		} else if e.line != trimEOL(lines[idx1]) {
			insert(idx1, nl)
			msg = "line added"
		}
	default:
		insert(idx1, nl)
		msg = "line added"
	}
	return strings.Join(lines, ""), msg
}

func (e *lineEdit) absent(text string) (string, int) {
	var keep []string
	n := 0
	for _, l := range splitLines(text) {
		var hit bool
		switch {
		case e.re != nil:
			hit = e.re.MatchString(content(l))
		case e.hasSearch:
			hit = strings.Contains(l, e.search)
		default:
			hit = e.line == trimEOL(l)
		}
		if hit {
			n++
		} else {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, ""), n
}
