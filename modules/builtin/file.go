package builtin

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// File manages a path on the host: a file's attributes, a directory, a symbolic or hard link,
// an empty file, or nothing (absent), as Ansible's file module.
type File struct{}

func (File) Name() string { return "file" }

func (File) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Manage a path on the host: directory, link, hard link, empty file, attributes, or absent",
		Description: "As Ansible's file module. state=file sets the attributes of an existing file " +
			"(it never creates one); directory creates the directory and its missing parents " +
			"(each one created gets mode/owner/group), recurse applies the attributes to " +
			"everything below; link makes `path` a symbolic link to `src` (as written: a relative " +
			"src stays relative to the link's directory); hard makes a hard link; touch creates an " +
			"empty file or updates the times of an existing one; absent removes the path, a " +
			"directory with everything in it. Without state: the path's current type, or file. " +
			"`mode` is octal (\"0755\") or symbolic (\"u+rwx,g-w,o=r\"). A file or directory is " +
			"replaced by a link only with force=true; a directory that is not empty never is. " +
			"Everything goes through the host's file operations (sftp, or commands with become).",
		CheckMode: "Probes the path without changing it: changed with a diff of the path's state " +
			"and attributes (before/after), ok when already so. touch is changed unless both " +
			"access_time and modification_time are preserve, as in Ansible.",
		Args: append(pathArgs("the path to manage", "dest", "name"),
			modules.Arg{Name: "state", Type: modules.String, Choices: []string{"file", "directory", "link", "hard", "touch", "absent"}, Doc: "what path should be; default: its current type, or file"},
			modules.Arg{Name: "src", Type: modules.String, Doc: "state=link/hard: the path the link points to"},
			attrModeArg, attrOwnerArg, attrGroupArg,
			modules.Arg{Name: "recurse", Type: modules.Bool, Default: false, Doc: "state=directory: set the attributes of everything below too"},
			modules.Arg{Name: "follow", Type: modules.Bool, Default: true, Doc: "set the attributes of a link's target rather than the link"},
			modules.Arg{Name: "force", Type: modules.Bool, Default: false, Doc: "state=link/hard: replace a file or an empty directory at path, or link to a src that does not exist"},
			modules.Arg{Name: "access_time", Type: modules.String, Doc: "state=touch: now (the default) or preserve"},
			modules.Arg{Name: "modification_time", Type: modules.String, Doc: "state=touch: now (the default) or preserve"},
		),
		Returns: []modules.Field{
			{Name: "path", Type: "string", Doc: "the path managed (dest for links)"},
			{Name: "dest", Type: "string", Doc: "state=link/hard: the link"},
			{Name: "src", Type: "string", Doc: "state=link/hard: what it points to"},
			{Name: "state", Type: "string", Doc: "the path's state afterwards: file, directory, link, hard or absent"},
			{Name: "mode", Type: "string", Doc: "its mode, octal"},
			{Name: "owner", Type: "string", Doc: "its owner"},
			{Name: "group", Type: "string", Doc: "its group"},
			{Name: "size", Type: "int", Doc: "its size in bytes"},
		},
	}
}

// Validate checks path, src for links and a literal mode.
func (File) Validate(args modules.Args) error {
	if err := validatePath(args); err != nil {
		return err
	}
	if st := args.String("state"); (st == "link" || st == "hard") && !args.Has("src") {
		return fmt.Errorf("src is required with state=%s", st)
	}
	for _, a := range []string{"access_time", "modification_time"} {
		if v := args.String(a); v != "" && v != "now" && v != "preserve" && !unrendered(args[a]) {
			return fmt.Errorf("%s is %q: omsbook takes now or preserve", a, v)
		}
	}
	if v, ok := args["mode"].(string); ok && !unrendered(v) {
		if _, _, err := parseMode(v, 0, false); err != nil {
			return err
		}
	} else if args.Has("mode") && !unrendered(args["mode"]) {
		if _, _, err := fileModeArg(args["mode"]); err != nil {
			return err
		}
	}
	return nil
}

func (m File) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m File) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// fileRun is one file task on one host: what it found, what it changed, for the diff.
type fileRun struct {
	ctx    context.Context
	h      *modules.Host
	f      transport.Files
	args   modules.Args
	apply  bool
	p      string
	before []string
	after  []string
	msgs   []string
}

func (r *fileRun) note(before, after, msg string) {
	r.before = append(r.before, before)
	r.after = append(r.after, after)
	r.msgs = append(r.msgs, msg)
}

func (r *fileRun) fail(format string, a ...any) (modules.Result, error) {
	return modules.Fail(fmt.Sprintf(format, a...), map[string]any{"path": r.p}), nil
}

func (m File) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	r := &fileRun{ctx: ctx, h: h, f: hostFiles(h), args: args, apply: apply, p: strings.TrimSuffix(pathArg(args), "/")}
	if r.p == "" {
		r.p = "/"
	}
	pi, err := r.f.Lstat(ctx, r.p)
	if err != nil {
		return modules.Result{}, err
	}
	prev := "absent"
	if pi.Exists {
		prev = pi.Type
	}
	state := args.String("state")
	if state == "" {
		switch {
		case args.Bool("recurse"):
			state = "directory"
		case prev == "absent" || prev == "other":
			state = "file"
		default:
			state = prev
		}
	}
	follow := args.Bool("follow")
	var res modules.Result
	switch state {
	case "absent":
		res, err = r.absent(pi)
	case "file":
		res, err = r.file(pi, follow)
	case "directory":
		res, err = r.directory(pi, follow)
	case "touch":
		res, err = r.touch(pi, follow)
	case "link", "hard":
		res, err = r.link(pi, state == "hard", follow)
	default:
		return r.fail("state %q: want file, directory, link, hard, touch or absent", state)
	}
	if err != nil || res.Failed {
		return res, err
	}
	res.Changed = len(r.before) > 0
	res.Msg = strings.Join(r.msgs, "; ")
	if res.Changed && h.Diff {
		res.Diff = &modules.Diff{Before: strings.Join(r.before, ""), After: strings.Join(r.after, ""), BeforeLabel: r.p + " (before)", AfterLabel: r.p + " (after)"}
	}
	res.Data["changed"] = res.Changed
	return res, nil
}

// data describes path as it ends up (or, in check mode, as it is).
func (r *fileRun) data(state string, follow bool) map[string]any {
	d := map[string]any{"path": r.p, "state": state}
	if state == "link" || state == "hard" {
		d["dest"], d["src"] = r.p, r.args.String("src")
	}
	stat := r.f.Lstat
	if follow && state != "link" {
		stat = r.f.Stat
	}
	if pi, err := stat(r.ctx, r.p); err == nil && pi.Exists {
		d["mode"], d["owner"], d["group"], d["size"] = fmt.Sprintf("%04o", pi.Mode), pi.Owner, pi.Group, pi.Size
	}
	return d
}

func (r *fileRun) absent(pi *transport.PathInfo) (modules.Result, error) {
	if pi.Exists {
		r.note("path: "+r.p+"\nstate: "+pi.Type+"\n", "path: "+r.p+"\nstate: absent\n", "removed "+r.p)
		if r.apply {
			if err := r.f.Remove(r.ctx, r.p, true); err != nil {
				return r.fail("remove %s: %v", r.p, err)
			}
		}
	}
	return modules.Result{Data: map[string]any{"path": r.p, "state": "absent"}}, nil
}

// target is pi, or what a link pi points to when follow is true.
func (r *fileRun) target(pi *transport.PathInfo, follow bool) (*transport.PathInfo, error) {
	if pi.Exists && pi.Type == "link" && follow {
		t, err := r.f.Stat(r.ctx, r.p)
		if err != nil {
			return nil, err
		}
		if t.Exists {
			return t, nil
		}
	}
	return pi, nil
}

// attrs applies mode/owner/group to pi and notes what changed.
func (r *fileRun) attrs(pi *transport.PathInfo, follow bool) error {
	ch, err := applyAttrs(r.ctx, r.h, pi, r.args, follow, r.apply)
	if err != nil {
		return err
	}
	if ch.changed {
		label := "path: " + pi.Path + "\n"
		r.note(label+strings.Join(ch.before, "\n")+"\n", label+strings.Join(ch.after, "\n")+"\n", "attributes of "+pi.Path)
	}
	return nil
}

func (r *fileRun) file(pi *transport.PathInfo, follow bool) (modules.Result, error) {
	t, err := r.target(pi, follow)
	if err != nil {
		return modules.Result{}, err
	}
	switch {
	case !t.Exists:
		return r.fail("file (%s) is absent, cannot continue", r.p)
	case t.Type != "file" && !(t.Type == "link" && !follow):
		return r.fail("file (%s) is %s, cannot continue", r.p, t.Type)
	}
	if err := r.attrs(t, follow); err != nil {
		return r.fail("%v", err)
	}
	return modules.Result{Data: r.data("file", follow)}, nil
}

func (r *fileRun) directory(pi *transport.PathInfo, follow bool) (modules.Result, error) {
	t, err := r.target(pi, follow)
	if err != nil {
		return modules.Result{}, err
	}
	switch {
	case t.Exists && t.Type != "directory":
		return r.fail("%s already exists as a %s", r.p, t.Type)
	case !t.Exists:
		// Each missing directory from the top down, each given the attributes, as Ansible does.
		var missing []string
		for d := r.p; d != "/" && d != "." && d != ""; d = path.Dir(d) {
			di, err := r.f.Lstat(r.ctx, d)
			if err != nil {
				return modules.Result{}, err
			}
			if di.Exists {
				break
			}
			missing = append([]string{d}, missing...)
		}
		r.note("path: "+r.p+"\nstate: absent\n", "path: "+r.p+"\nstate: directory\n", "created "+r.p)
		if !r.apply {
			return modules.Result{Data: map[string]any{"path": r.p, "state": "directory"}}, nil
		}
		for _, d := range missing {
			if err := r.f.MkdirAll(r.ctx, d); err != nil {
				return r.fail("create %s: %v", d, err)
			}
			di, err := r.f.Lstat(r.ctx, d)
			if err != nil {
				return modules.Result{}, err
			}
			if _, err := applyAttrs(r.ctx, r.h, di, r.args, follow, true); err != nil {
				return r.fail("%v", err)
			}
		}
	default:
		if err := r.attrs(t, follow); err != nil {
			return r.fail("%v", err)
		}
	}
	if r.args.Bool("recurse") && (t.Exists || r.apply) {
		tree, err := r.f.Tree(r.ctx, r.p)
		if err != nil {
			return r.fail("%v", err)
		}
		for i := range tree {
			if tree[i].Path == r.p {
				continue
			}
			if err := r.attrs(&tree[i], false); err != nil {
				return r.fail("%v", err)
			}
		}
	}
	return modules.Result{Data: r.data("directory", follow)}, nil
}

func (r *fileRun) touch(pi *transport.PathInfo, follow bool) (modules.Result, error) {
	t, err := r.target(pi, follow)
	if err != nil {
		return modules.Result{}, err
	}
	preserve := r.args.String("access_time") == "preserve" && r.args.String("modification_time") == "preserve"
	switch {
	case !t.Exists:
		r.note("path: "+r.p+"\nstate: absent\n", "path: "+r.p+"\nstate: file\n", "created "+r.p)
		if !r.apply {
			return modules.Result{Data: map[string]any{"path": r.p, "state": "file"}}, nil
		}
		if err := r.f.WriteFileAtomic(r.ctx, r.p, strings.NewReader(""), 0o644); err != nil {
			return r.fail("create %s: %v", r.p, err)
		}
		if t, err = r.f.Lstat(r.ctx, r.p); err != nil {
			return modules.Result{}, err
		}
	case !preserve:
		r.note("path: "+r.p+"\ntimes: "+t.ModTime.UTC().Format("2006-01-02 15:04:05")+"\n", "path: "+r.p+"\ntimes: now\n", "touched "+r.p)
		if r.apply {
			if err := r.f.Touch(r.ctx, t.Path); err != nil {
				return r.fail("%v", err)
			}
		}
	}
	if err := r.attrs(t, follow); err != nil {
		return r.fail("%v", err)
	}
	return modules.Result{Data: r.data(t.Type, follow)}, nil
}

func (r *fileRun) link(pi *transport.PathInfo, hard, follow bool) (modules.Result, error) {
	src := r.args.String("src")
	state := "link"
	if hard {
		state = "hard"
	}
	abs := src
	if !path.IsAbs(abs) {
		abs = path.Join(path.Dir(r.p), src)
	}
	si, err := r.f.Stat(r.ctx, abs)
	if err != nil {
		return modules.Result{}, err
	}
	force := r.args.Bool("force")
	if !si.Exists && (hard || !force) {
		if hard {
			return r.fail("src does not exist: %s", abs)
		}
		return r.fail("src file does not exist, use \"force=yes\" if you really want to create the link: %s", abs)
	}
	same := false
	switch {
	case !pi.Exists:
	case !hard && pi.Type == "link":
		same = pi.LinkTarget == src
	case hard && pi.Type == "file":
		if same, err = r.f.SameFile(r.ctx, r.p, abs); err != nil {
			return modules.Result{}, err
		}
	}
	if !same {
		if pi.Exists && pi.Type == "directory" {
			tree, err := r.f.Tree(r.ctx, r.p)
			if err != nil {
				return r.fail("%v", err)
			}
			if len(tree) > 1 {
				return r.fail("the directory %s is not empty, refusing to convert it", r.p)
			}
		}
		if pi.Exists && pi.Type != "link" && !force {
			return r.fail("refusing to convert from %s to %s for %s: set force=true to replace it", pi.Type, state, r.p)
		}
		was := "absent"
		if pi.Exists {
			was = pi.Type
			if pi.Type == "link" {
				was += " -> " + pi.LinkTarget
			}
		}
		r.note("path: "+r.p+"\nstate: "+was+"\n", "path: "+r.p+"\nstate: "+state+" -> "+src+"\n", state+" "+r.p+" -> "+src)
		if r.apply {
			if pi.Exists && pi.Type == "directory" {
				if err := r.f.Remove(r.ctx, r.p, false); err != nil {
					return r.fail("%v", err)
				}
			}
			mk, target := r.f.Symlink, src
			if hard {
				mk, target = r.f.Hardlink, abs
			}
			if err := mk(r.ctx, target, r.p); err != nil {
				return r.fail("%v", err)
			}
		}
	}
	if r.apply || same {
		// The attributes: of the target when following (hard links share them anyway), else
		// of the link itself (owner and group only: a link has no mode of its own).
		cur, err := r.f.Lstat(r.ctx, r.p)
		if err != nil {
			return modules.Result{}, err
		}
		if follow || hard {
			if t, err := r.f.Stat(r.ctx, r.p); err == nil && t.Exists {
				cur = t
			}
		}
		if cur.Exists {
			if err := r.attrs(cur, follow || hard); err != nil {
				return r.fail("%v", err)
			}
		}
	}
	return modules.Result{Data: r.data(state, false)}, nil
}
