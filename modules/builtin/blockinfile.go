package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// BlockInFile keeps a block of lines between two marker lines in a text file, as Ansible's
// blockinfile.
type BlockInFile struct{}

func (BlockInFile) Name() string { return "blockinfile" }

func (BlockInFile) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Insert, update or remove a block of lines between marker lines in a text file",
		Description: "As Ansible's blockinfile: the block sits between the lines `marker` with " +
			"{mark} replaced by `marker_begin` and by `marker_end`. When both markers are in the " +
			"file, what lies between them (markers included) is replaced by the block; otherwise " +
			"the block is added after the last line matching `insertafter` (EOF, the default) or " +
			"before the last line matching `insertbefore` (or at BOF), at the end when the " +
			"expression matches no line. state=absent, or an empty block, removes the block and its " +
			"markers. Expressions are Go's RE2, matched against each line without its line end.",
		CheckMode: "Computes the new content without writing: changed with the diff, ok when " +
			"already so; also reports mode/owner/group changes.",
		Args: textEditArgs(
			modules.Arg{Name: "block", Type: modules.String, Default: "", Doc: "the lines to keep between the markers (alias content)"},
			modules.Arg{Name: "content", Type: modules.String, Doc: "alias of block"},
			modules.Arg{Name: "marker", Type: modules.String, Default: "# {mark} ANSIBLE MANAGED BLOCK", Doc: "the marker line template; {mark} becomes marker_begin or marker_end"},
			modules.Arg{Name: "marker_begin", Type: modules.String, Default: "BEGIN", Doc: "what {mark} becomes in the first marker"},
			modules.Arg{Name: "marker_end", Type: modules.String, Default: "END", Doc: "what {mark} becomes in the last marker"},
			modules.Arg{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			modules.Arg{Name: "insertafter", Type: modules.String, Doc: "EOF (the default) or a regular expression: a new block goes after its last match"},
			modules.Arg{Name: "insertbefore", Type: modules.String, Doc: "BOF or a regular expression: a new block goes before its last match"},
			modules.Arg{Name: "create", Type: modules.Bool, Default: false, Doc: "create the file when missing; otherwise a missing file fails"},
		),
		Returns: []modules.Field{
			{Name: "msg", Type: "string", Doc: "\"Block inserted\", \"Block removed\", \"File created\" or empty"},
			{Name: "backup_file", Type: "string", Doc: "the backup's path, when backup made one"},
		},
	}
}

// Validate checks path and that insertafter and insertbefore are not both given.
func (BlockInFile) Validate(args modules.Args) error {
	if err := validatePath(args); err != nil {
		return err
	}
	return mutuallyExclusive(args, "insertbefore", "insertafter")
}

func (m BlockInFile) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m BlockInFile) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (m BlockInFile) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	p := pathArg(args)
	block := args.String("block")
	if args.Has("content") {
		block = args.String("content")
	}
	after, before := args.String("insertafter"), args.String("insertbefore")
	if !args.Has("insertafter") && !args.Has("insertbefore") {
		after = "EOF"
	}
	var insRe *regexp.Regexp
	var err error
	switch {
	case after != "" && after != "EOF":
		insRe, err = pyRegexp("insertafter", after, "")
	case before != "" && before != "BOF":
		insRe, err = pyRegexp("insertbefore", before, "")
	}
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	marker := args.String("marker")
	m0 := strings.ReplaceAll(marker, "{mark}", args.String("marker_begin")) + "\n"
	m1 := strings.ReplaceAll(marker, "{mark}", args.String("marker_end")) + "\n"
	present := args.String("state") == "present"
	return editTextFile(ctx, h, args, apply, "backup_file", func(text string, exists bool) (string, string, map[string]any, *modules.Result) {
		if !exists {
			if !present {
				return text, fmt.Sprintf("File %s not present", p), nil, nil
			}
			if !args.Bool("create") {
				r := modules.Fail(fmt.Sprintf("Path %s does not exist !", p), map[string]any{"rc": 257})
				return "", "", nil, &r
			}
		}
		lines := splitLines(text)
		var blockLines []string
		if present && block != "" {
			b := block
			if !strings.HasSuffix(b, "\n") {
				b += "\n"
			}
			blockLines = append(append([]string{m0}, splitLines(b)...), m1)
		}
		n0, n1 := -1, -1
		for i, l := range lines {
			if l == m0 {
				n0 = i
			}
			if l == m1 {
				n1 = i
			}
		}
		switch {
		case n0 == -1 || n1 == -1:
			n0 = -1
			switch {
			case insRe != nil:
				for i, l := range lines {
					if insRe.MatchString(content(l)) {
						n0 = i
					}
				}
				if n0 == -1 {
					n0 = len(lines)
				} else if after != "" {
					n0++
				}
			case before != "":
				n0 = 0
			default:
				n0 = len(lines)
			}
		case n0 < n1:
			lines = append(lines[:n0], lines[n1+1:]...)
		default:
			lines = append(lines[:n1], lines[n0+1:]...)
			n0 = n1
		}
		if n0 > 0 && !strings.HasSuffix(lines[n0-1], "\n") {
			lines[n0-1] += "\n"
		}
		out := append(append(append([]string{}, lines[:n0]...), blockLines...), lines[n0:]...)
		result := strings.Join(out, "")
		msg := ""
		switch {
		case exists && result == text:
		case !exists:
			msg = "File created"
		case blockLines == nil:
			msg = "Block removed"
		default:
			msg = "Block inserted"
		}
		return result, msg, nil, nil
	})
}
