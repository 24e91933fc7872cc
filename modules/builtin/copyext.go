package builtin

// What copy and template do besides writing one file's content: owner and group, a
// timestamped backup, a validate command, copying a controller directory (Ansible's trailing
// slash rule) and copying a file already on the host (remote_src).

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// fileWriteExtraArgs are the arguments copy and template share beyond content, dest and mode.
var fileWriteExtraArgs = []modules.Arg{
	attrOwnerArg, attrGroupArg,
	{Name: "backup", Type: modules.Bool, Default: false, Doc: "before replacing dest, keep a timestamped copy of it beside it (registered as backup_file)"},
	validateArg,
}

// copyOnlyArgs are copy's own arguments.
var copyOnlyArgs = []modules.Arg{
	{Name: "directory_mode", Type: modules.Any, Doc: "copying a directory: the mode of the directories created (default: the umask's)"},
	{Name: "remote_src", Type: modules.Bool, Default: false, Doc: "src is a file on the host, copied there (cp), not a controller file"},
}

// beforeWrite runs validate on the new content, and makes the backup, before dest is replaced.
// It returns a failure message, or "".
func beforeWrite(ctx context.Context, h *modules.Host, src fileSource, args modules.Args, dest string, cur *transport.FileInfo, data map[string]any) string {
	if v := args.String("validate"); v != "" {
		if err := validateSource(ctx, h, v, dest, src); err != nil {
			return err.Error()
		}
	}
	if cur != nil && args.Bool("backup") {
		bk := backupName(dest)
		if err := copyOnHost(ctx, h, dest, bk, transport.UnixBits(cur.Mode)); err != nil {
			return err.Error()
		}
		data["backup_file"] = bk
	}
	return ""
}

// validateSource writes src to a temporary file beside dest and runs the validate command on it.
func validateSource(ctx context.Context, h *modules.Host, validate, dest string, src fileSource) error {
	return validateWith(ctx, h, validate, dest, func(tmp string) error {
		r, err := src.open()
		if err != nil {
			return err
		}
		defer r.Close()
		return hostFiles(h).WriteFileAtomic(ctx, tmp, r, 0o600)
	})
}

// ownership compares dest's owner and group with the arguments and, when apply is true, sets
// them. It returns whether they differ (differed).
func ownership(ctx context.Context, h *modules.Host, args modules.Args, dest string, cur *transport.FileInfo, apply bool) (bool, error) {
	owner, group := args.String("owner"), args.String("group")
	if owner == "" && group == "" {
		return false, nil
	}
	var pi *transport.PathInfo
	if cur != nil {
		pi = &transport.PathInfo{Path: dest, Exists: true, Type: "file", Owner: cur.Owner, Group: cur.Group}
	}
	if apply {
		var err error
		if pi, err = hostFiles(h).Stat(ctx, dest); err != nil {
			return false, err
		}
	}
	if pi == nil || !pi.Exists {
		return true, nil // a new file: it will be given them
	}
	only := modules.Args{"owner": owner, "group": group}
	ch, err := applyAttrs(ctx, h, pi, only, true, apply)
	return ch.changed, err
}

// copyDirectory copies the controller directory dir to dest on the host: its content when src
// ends with /, the directory itself (dest/BASE) otherwise, as Ansible does.
func copyDirectory(ctx context.Context, h *modules.Host, args modules.Args, dir string, apply bool) (modules.Result, error) {
	src, dest := args.String("src"), strings.TrimSuffix(args.String("dest"), "/")
	root := dest
	if !strings.HasSuffix(src, "/") {
		root = path.Join(dest, filepath.Base(dir))
	}
	f := hostFiles(h)
	var dirs, files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			dirs = append(dirs, filepath.ToSlash(rel))
		case d.Type().IsRegular():
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return modules.Fail(fmt.Sprintf("read %s: %v", dir, err), nil), nil
	}
	sort.Strings(files)
	data := map[string]any{"dest": root, "src": src}
	var changed []string
	for _, d := range dirs {
		p := path.Join(root, d)
		pi, err := f.Stat(ctx, p)
		if err != nil {
			return modules.Result{}, err
		}
		if pi.Exists {
			if !pi.IsDir() {
				return modules.Fail(fmt.Sprintf("%s exists and is not a directory", p), data), nil
			}
			continue
		}
		changed = append(changed, p+"/")
		if !apply {
			continue
		}
		if err := f.MkdirAll(ctx, p); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		if dm := args["directory_mode"]; dm != nil {
			ni, err := f.Lstat(ctx, p)
			if err != nil {
				return modules.Result{}, err
			}
			if _, err := applyAttrs(ctx, h, ni, modules.Args{"mode": dm, "owner": args.String("owner"), "group": args.String("group")}, true, true); err != nil {
				return modules.Fail(err.Error(), data), nil
			}
		}
	}
	var diff *modules.Diff
	for _, rel := range files {
		fa := modules.Args{}
		for k, v := range args {
			fa[k] = v
		}
		delete(fa, "content")
		fa["dest"] = path.Join(root, rel)
		fsrc := fileSource{path: filepath.Join(dir, filepath.FromSlash(rel)), name: rel}
		r, err := writeFile(ctx, h, fsrc, fa, apply)
		if err != nil || r.Failed {
			return r, err
		}
		if r.Changed {
			changed = append(changed, path.Join(root, rel))
			if r.Diff != nil {
				if diff == nil {
					diff = &modules.Diff{BeforeLabel: root + " (before)", AfterLabel: root + " (after)"}
				}
				diff.Before += "--- " + path.Join(root, rel) + "\n" + r.Diff.Before
				diff.After += "--- " + path.Join(root, rel) + "\n" + r.Diff.After
			}
		}
	}
	data["changed"] = len(changed) > 0
	res := modules.Result{Changed: len(changed) > 0, Data: data, Diff: diff}
	if res.Changed {
		verb := "copied"
		if !apply {
			verb = "would copy"
		}
		res.Msg = verb + ": " + strings.Join(changed, ", ")
		if diff == nil && h.Diff {
			res.Diff = &modules.Diff{Before: "", After: strings.Join(changed, "\n") + "\n", BeforeLabel: root + " (before)", AfterLabel: root + " (after)"}
		}
	}
	return res, nil
}

// copyRemote copies the file src on the host to dest on the host (remote_src): compared by
// checksum, copied with cp into a temporary file beside dest, renamed into place.
func copyRemote(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	f := hostFiles(h)
	src, dest := args.String("src"), args.String("dest")
	si, err := f.Stat(ctx, src)
	if err != nil {
		return modules.Result{}, err
	}
	if !si.Exists {
		return modules.Fail(fmt.Sprintf("Source %s not found", src), nil), nil
	}
	if si.IsDir() {
		return modules.Fail(fmt.Sprintf("src %s is a directory: omsbook's remote_src copies one file", src), nil), nil
	}
	di, err := f.Stat(ctx, dest)
	if err != nil {
		return modules.Result{}, err
	}
	if di.IsDir() || strings.HasSuffix(dest, "/") {
		dest = path.Join(dest, path.Base(src))
		if di, err = f.Stat(ctx, dest); err != nil {
			return modules.Result{}, err
		}
	}
	sum, err := f.Checksum(ctx, src, "sha256")
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	data := map[string]any{"dest": dest, "src": src, "checksum": sum, "size": si.Size}
	write := !di.Exists
	if di.Exists && args.Bool("force") {
		have, err := f.Checksum(ctx, dest, "sha256")
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		write = have != sum
	}
	res := modules.Result{Changed: write, Data: data}
	if write && h.Diff && si.Size <= maxDiffBytes {
		after, err1 := f.ReadFile(ctx, src, maxDiffBytes)
		before := []byte{}
		if di.Exists {
			before, err = f.ReadFile(ctx, dest, maxDiffBytes)
		}
		if err1 == nil && err == nil && looksLikeText(after) && looksLikeText(before) {
			res.Diff = &modules.Diff{Before: string(before), After: string(after), BeforeLabel: dest + " (before)", AfterLabel: dest + " (after)"}
		}
	}
	if write && apply {
		if v := args.String("validate"); v != "" {
			err := validateWith(ctx, h, v, dest, func(tmp string) error { return copyOnHost(ctx, h, src, tmp, 0o600) })
			if err != nil {
				return modules.Fail(err.Error(), data), nil
			}
		}
		if di.Exists && args.Bool("backup") {
			bk := backupName(dest)
			if err := copyOnHost(ctx, h, dest, bk, di.Mode); err != nil {
				return modules.Fail(err.Error(), data), nil
			}
			data["backup_file"] = bk
		}
		tmp := path.Join(dirOf(dest), "."+baseOf(dest)+".omsbook-copy")
		if err := copyOnHost(ctx, h, src, tmp, si.Mode); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		if err := f.Rename(ctx, tmp, dest); err != nil {
			_ = f.Remove(context.WithoutCancel(ctx), tmp, false)
			return modules.Fail(err.Error(), data), nil
		}
	}
	if pi, err := f.Stat(ctx, dest); err != nil {
		return modules.Result{}, err
	} else if pi.Exists {
		ch, err := applyAttrs(ctx, h, pi, args, true, apply)
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		res.Changed = res.Changed || ch.changed
	}
	data["changed"] = res.Changed
	return res, nil
}
