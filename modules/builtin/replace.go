package builtin

import (
	"context"
	"fmt"
	"regexp"

	"github.com/omsbook/omsbook/modules"
)

// Replace replaces every match of a regular expression in a text file, as Ansible's replace.
type Replace struct{}

func (Replace) Name() string { return "replace" }

func (Replace) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Replace every match of a regular expression in a text file on the host",
		Description: "As Ansible's replace: every match of `regexp` (multiline: ^ and $ match at " +
			"each line) is replaced by `replace`, which may use the groups (\\1, \\g<name>). " +
			"With `after` and/or `before` (expressions, matched across lines), only the text after " +
			"the first match of after and before the next match of before is considered; when they " +
			"do not match, nothing changes. Expressions are Go's RE2 (the common Python syntax is the " +
			"same; look-arounds are not supported). A missing file fails.",
		CheckMode: "Computes the new content without writing: changed with the diff, ok when " +
			"already so; also reports mode/owner/group changes.",
		Args: textEditArgs(
			modules.Arg{Name: "regexp", Type: modules.String, Required: true, Doc: "the regular expression to look for"},
			modules.Arg{Name: "replace", Type: modules.String, Default: "", Doc: "what each match becomes; empty removes the matches"},
			modules.Arg{Name: "after", Type: modules.String, Doc: "only replace after the first match of this expression"},
			modules.Arg{Name: "before", Type: modules.String, Doc: "only replace before the match of this expression"},
		),
		Returns: []modules.Field{
			{Name: "msg", Type: "string", Doc: "\"N replacements made\" or empty"},
			{Name: "backup_file", Type: "string", Doc: "the backup's path, when backup made one"},
		},
	}
}

// Validate requires path.
func (Replace) Validate(args modules.Args) error { return validatePath(args) }

func (m Replace) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m Replace) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (m Replace) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	p := pathArg(args)
	re, err := pyRegexp("regexp", args.String("regexp"), "m")
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	var section *regexp.Regexp
	a, b := args.String("after"), args.String("before")
	pattern := ""
	switch {
	case a != "" && b != "":
		pattern = a + "(?P<subsection>.*?)" + b
	case a != "":
		pattern = a + "(?P<subsection>.*)"
	case b != "":
		pattern = "(?P<subsection>.*)" + b
	}
	if pattern != "" {
		if section, err = pyRegexp("after/before", pattern, "s"); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	}
	tmpl := pyTemplate(args.String("replace"))
	return editTextFile(ctx, h, args, apply, "backup_file", func(text string, exists bool) (string, string, map[string]any, *modules.Result) {
		if !exists {
			r := modules.Fail(fmt.Sprintf("Path %s does not exist !", p), map[string]any{"rc": 257})
			return "", "", nil, &r
		}
		start, end := 0, len(text)
		if section != nil {
			mm := section.FindStringSubmatchIndex(text)
			if mm == nil {
				return text, "Pattern for before/after params did not match the given file: " + pattern, nil, nil
			}
			i := section.SubexpIndex("subsection")
			start, end = mm[2*i], mm[2*i+1]
		}
		part := text[start:end]
		n := 0
		var res []byte
		last := 0
		for _, mm := range re.FindAllStringSubmatchIndex(part, -1) {
			res = append(res, part[last:mm[0]]...)
			res = re.ExpandString(res, tmpl, part, mm)
			last = mm[1]
			n++
		}
		res = append(res, part[last:]...)
		if n == 0 || string(res) == part {
			return text, "", nil, nil
		}
		return text[:start] + string(res) + text[end:], fmt.Sprintf("%d replacements made", n), nil, nil
	})
}
