package builtin

// The pipeline lineinfile, blockinfile and replace share: read the host file whole, compute
// the new text, diff, back up, validate, write atomically, then the file attributes.

import (
	"context"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// maxEditBytes bounds the files the text-editing modules read whole.
const maxEditBytes = 16 << 20

// textEdit computes a file's new text from its current one (exists false: the file is
// missing and may be created). A non-nil fail ends the task with that result.
type textEdit func(before string, exists bool) (after, msg string, data map[string]any, fail *modules.Result)

// textEditArgs are the arguments every text-editing module takes besides its own.
func textEditArgs(own ...modules.Arg) []modules.Arg {
	args := pathArgs("the file on the host", pathAliases...)
	args = append(args, own...)
	return append(args,
		modules.Arg{Name: "backup", Type: modules.Bool, Default: false, Doc: "keep a timestamped copy of the old file beside it (path.PID.YYYY-MM-DD@HH:MM:SS~)"},
		validateArg, attrModeArg, attrOwnerArg, attrGroupArg)
}

// pathArgs declares path (required, checked by validatePath) and its aliases.
func pathArgs(doc string, aliases ...string) []modules.Arg {
	args := []modules.Arg{{Name: "path", Type: modules.String, Doc: doc + " (required; aliases: " + strings.Join(aliases, ", ") + ")"}}
	for _, a := range aliases {
		args = append(args, modules.Arg{Name: a, Type: modules.String, Doc: "alias of path"})
	}
	return args
}

// validatePath requires path or one of its aliases.
func validatePath(args modules.Args) error {
	n := 0
	for _, a := range append([]string{"path"}, pathAliases...) {
		if args.Has(a) {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("missing required argument \"path\"")
	case n > 1:
		return fmt.Errorf("give path once: it has the aliases %s", strings.Join(pathAliases, ", "))
	}
	return nil
}

// pathAliases are the alias names of path, as Ansible's text-editing modules accept them (file
// takes dest and name only); pathArg and validatePath look at all of them, and Coerce refuses
// those a module does not declare.
var pathAliases = []string{"dest", "destfile", "name"}

// pathArg returns path, or the alias given instead.
func pathArg(args modules.Args) string {
	if p := args.String("path"); p != "" {
		return p
	}
	for _, a := range pathAliases {
		if p := args.String(a); p != "" {
			return p
		}
	}
	return ""
}

// editTextFile runs edit on the host file named by args' path and, when apply is true, writes
// the result; backupKey names the registered field of the backup's path ("backup" for
// lineinfile, "backup_file" for the others, as Ansible names them).
func editTextFile(ctx context.Context, h *modules.Host, args modules.Args, apply bool, backupKey string, edit textEdit) (modules.Result, error) {
	p := pathArg(args)
	f := hostFiles(h)
	if li, err := f.Lstat(ctx, p); err != nil {
		return modules.Result{}, err
	} else if li.Type == "link" {
		// Edit the file the link points to, as Ansible does, and keep the link.
		if p, err = f.RealPath(ctx, p); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	}
	pi, err := f.Stat(ctx, p)
	if err != nil {
		return modules.Result{}, err
	}
	if pi.IsDir() {
		return modules.Fail(fmt.Sprintf("Path %s is a directory !", p), map[string]any{"rc": 256}), nil
	}
	before := ""
	if pi.Exists {
		b, err := f.ReadFile(ctx, p, maxEditBytes)
		if err != nil {
			return modules.Fail(fmt.Sprintf("read %s: %v", p, err), nil), nil
		}
		before = string(b)
	}
	after, msg, data, fail := edit(before, pi.Exists)
	if fail != nil {
		return *fail, nil
	}
	if data == nil {
		data = map[string]any{}
	}
	// A missing file is created when there is something to write ("File created" even empty).
	changed := after != before || (!pi.Exists && msg == "File created")
	res := modules.Result{Changed: changed, Data: data}
	if changed && h.Diff {
		res.Diff = &modules.Diff{Before: before, After: after, BeforeLabel: p + " (content)", AfterLabel: p + " (content)"}
	}
	if changed && apply {
		if !pi.Exists {
			if err := f.MkdirAll(ctx, dirOf(p)); err != nil {
				return modules.Fail(err.Error(), data), nil
			}
		}
		if v := args.String("validate"); v != "" {
			if err := runValidate(ctx, h, v, p, []byte(after)); err != nil {
				return modules.Fail(err.Error(), data), nil
			}
		}
		mode := uint32(0o644)
		if pi.Exists {
			mode = pi.Mode
			if args.Bool("backup") {
				bk, err := backupFile(ctx, h, p, []byte(before), pi.Mode)
				if err != nil {
					return modules.Fail(err.Error(), data), nil
				}
				data[backupKey] = bk
			}
		}
		if err := f.WriteFileAtomic(ctx, p, strings.NewReader(after), mode); err != nil {
			return modules.Fail(fmt.Sprintf("write %s: %v", p, err), data), nil
		}
		if pi.Exists && (pi.Owner != "" || pi.Group != "") {
			// A rewritten file keeps its owner and group, as Ansible's atomic_move keeps them.
			cur, err := f.Stat(ctx, p)
			if err == nil && (cur.Owner != pi.Owner || cur.Group != pi.Group) {
				_ = f.Chown(ctx, p, pi.Owner, pi.Group, true, false)
			}
		}
	}
	// The attributes, on the file as it is now (or would be).
	if pi, err = f.Stat(ctx, p); err != nil {
		return modules.Result{}, err
	}
	if pi.Exists {
		ach, err := applyAttrs(ctx, h, pi, args, true, apply)
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		if ach.changed {
			res.Changed = true
			if msg != "" {
				msg += " and "
			}
			msg += "ownership, perms or SE linux context changed"
		}
	}
	res.Msg = msg
	data["msg"] = msg
	data["changed"] = res.Changed
	return res, nil
}

// mutuallyExclusive fails when more than one of names is given.
func mutuallyExclusive(args modules.Args, names ...string) error {
	var given []string
	for _, n := range names {
		if v, ok := args[n]; ok && v != nil && v != "" {
			given = append(given, n)
		}
	}
	if len(given) > 1 {
		return fmt.Errorf("parameters are mutually exclusive: %s", strings.Join(given, "|"))
	}
	return nil
}
