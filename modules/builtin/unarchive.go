package builtin

import (
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// Unarchive extracts a tar or zip archive into a directory on the host, as Ansible's
// unarchive.
type Unarchive struct{}

func (Unarchive) Name() string { return "unarchive" }

func (Unarchive) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Extract a tar (plain, gz, bz2, xz) or zip archive into a directory on the host",
		Description: "As Ansible's unarchive: `src` is a controller file (relative paths are " +
			"looked up in files/, then the playbook directory), copied to a temporary directory on " +
			"the host (made by mktemp -d, removed afterwards), or with remote_src a file already on " +
			"the host. `dest` must be an existing directory. The archive is compared with dest " +
			"first, and extracted only when they differ: tar archives with the host's GNU tar " +
			"(`tar --diff`: content, mode, owner and modification time; compression is recognised " +
			"by tar), zip archives with the host's unzip (a member is up to date when dest has a " +
			"file of the same content, compared with cmp; modes and times are not compared). mode/owner/group are applied to every extracted path.",
		CheckMode: "Compares without extracting (a controller src is still copied to a temporary " +
			"directory on the host, as Ansible does): changed, listing the members that would be " +
			"extracted (also in the diff), or ok.",
		Args: []modules.Arg{
			{Name: "src", Type: modules.String, Required: true, Doc: "the archive: a controller file, or with remote_src a file on the host"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "the existing directory on the host to extract into"},
			{Name: "remote_src", Type: modules.Bool, Default: false, Doc: "src is already on the host"},
			{Name: "creates", Type: modules.String, Doc: "a path on the host; when it exists, nothing is done"},
			{Name: "list_files", Type: modules.Bool, Default: false, Doc: "register the archive's members in files"},
			{Name: "exclude", Type: modules.StringList, Doc: "members (globs) not to extract"},
			attrModeArg, attrOwnerArg, attrGroupArg,
		},
		Returns: []modules.Field{
			{Name: "dest", Type: "string", Doc: "the directory"},
			{Name: "src", Type: "string", Doc: "the archive on the host"},
			{Name: "handler", Type: "string", Doc: "TgzArchive (any tar) or ZipArchive, as Ansible names them"},
			{Name: "files", Type: "list", Doc: "with list_files: the archive's members"},
			{Name: "extract_results", Type: "map", Doc: "cmd, rc, out and err of the extraction"},
		},
	}
}

func (m Unarchive) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m Unarchive) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (m Unarchive) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	f := hostFiles(h)
	dest := args.String("dest")
	data := map[string]any{"dest": dest, "src": args.String("src")}
	if c := args.String("creates"); c != "" {
		ci, err := f.Stat(ctx, c)
		if err != nil {
			return modules.Result{}, err
		}
		if ci.Exists {
			return modules.Result{Msg: "skipped, since " + c + " exists", Data: data}, nil
		}
	}
	di, err := f.Stat(ctx, dest)
	if err != nil {
		return modules.Result{}, err
	}
	if !di.IsDir() {
		return modules.Fail(fmt.Sprintf("dest '%s' must be an existing dir", dest), data), nil
	}
	src := args.String("src")
	if !args.Bool("remote_src") {
		local, err := controllerPath(h, src, "files")
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		tmpDir, err := hostTempDir(ctx, h)
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		defer func() { _ = f.Remove(context.WithoutCancel(ctx), tmpDir, true) }()
		fh, err := os.Open(local)
		if err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		src = path.Join(tmpDir, path.Base(local))
		err = f.WriteFileAtomic(ctx, src, fh, 0o600)
		fh.Close()
		if err != nil {
			return modules.Fail(fmt.Sprintf("copy the archive to the host: %v", err), data), nil
		}
	} else if si, err := f.Stat(ctx, src); err != nil {
		return modules.Result{}, err
	} else if !si.Exists {
		return modules.Fail(fmt.Sprintf("Source '%s' does not exist", src), data), nil
	}
	data["src"] = src
	a := archiveOf(h, src, args.Strings("exclude"))
	if strings.HasSuffix(strings.ToLower(src), ".zip") {
		a.zip = true
	}
	members, err := a.list(ctx)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	data["handler"] = map[bool]string{true: "ZipArchive", false: "TgzArchive"}[a.zip]
	if args.Bool("list_files") {
		data["files"] = anyList(members)
	}
	diffs, err := a.differences(ctx, dest, members)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	res := modules.Result{Data: data, Changed: len(diffs) > 0}
	if res.Changed && h.Diff {
		res.Diff = &modules.Diff{Before: strings.Join(diffs, "\n") + "\n", After: "extracted from " + args.String("src") + "\n",
			BeforeLabel: dest + " (before)", AfterLabel: dest + " (after)"}
	}
	if !apply {
		if res.Changed {
			res.Msg = fmt.Sprintf("would extract %d member(s) into %s", len(diffs), dest)
		}
		data["changed"] = res.Changed
		return res, nil
	}
	if res.Changed {
		cmd, r, err := a.extract(ctx, dest)
		if err != nil {
			return execError(ctx, cmd, err)
		}
		data["extract_results"] = map[string]any{"cmd": cmd, "rc": r.RC, "out": string(r.Stdout), "err": string(r.Stderr)}
		if r.RC != 0 {
			return modules.Fail(fmt.Sprintf("failed to unpack %s into %s: %s", src, dest, strings.TrimSpace(string(r.Stderr))), data), nil
		}
	}
	if args.Has("mode") || args.Has("owner") || args.Has("group") {
		for _, mbr := range members {
			pi, err := f.Lstat(ctx, path.Join(dest, mbr))
			if err != nil {
				return modules.Result{}, err
			}
			if !pi.Exists {
				continue
			}
			ch, err := applyAttrs(ctx, h, pi, args, false, true)
			if err != nil {
				return modules.Fail(err.Error(), data), nil
			}
			res.Changed = res.Changed || ch.changed
		}
	}
	data["changed"] = res.Changed
	return res, nil
}

// hostTempDir makes a private temporary directory on the host (mktemp -d).
func hostTempDir(ctx context.Context, h *modules.Host) (string, error) {
	r, err := h.Conn.Exec(ctx, h.ArgvCmd("mktemp", "-d"))
	if err != nil {
		return "", err
	}
	if r.RC != 0 {
		return "", fmt.Errorf("mktemp -d on the host: %s", strings.TrimSpace(string(r.Stderr)))
	}
	return strings.TrimSpace(string(r.Stdout)), nil
}

// archive is an archive file on the host, read with its tar or unzip.
type archive struct {
	h       *modules.Host
	path    string
	zip     bool
	exclude []string
}

func archiveOf(h *modules.Host, p string, exclude []string) *archive {
	return &archive{h: h, path: p, exclude: exclude}
}

// exec runs argv on the host; the first result is the command for messages.
func (a *archive) exec(ctx context.Context, argv ...string) (string, *transport.ExecResult, error) {
	r, err := a.h.Conn.Exec(ctx, a.h.ArgvCmd(argv...))
	return strings.Join(argv, " "), r, err
}

func (a *archive) tarExcludes() []string {
	var out []string
	for _, e := range a.exclude {
		out = append(out, "--exclude="+e)
	}
	return out
}

// list returns the archive's member names (directories end with /), without excluded ones.
func (a *archive) list(ctx context.Context) ([]string, error) {
	var argv []string
	if a.zip {
		argv = append([]string{"unzip", "-Z1", a.path}, append([]string{"-x"}, a.exclude...)...)
		if len(a.exclude) == 0 {
			argv = argv[:3]
		}
	} else {
		argv = append([]string{"tar", "-t", "-f", a.path}, a.tarExcludes()...)
	}
	_, r, err := a.exec(ctx, argv...)
	if err != nil {
		return nil, err
	}
	if r.RC == 127 {
		return nil, fmt.Errorf("%s is not installed on the host: unarchive needs it", argv[0])
	}
	if r.RC != 0 {
		if !a.zip {
			// Not a tar archive: try it as a zip.
			z := &archive{h: a.h, path: a.path, zip: true, exclude: a.exclude}
			if names, zerr := z.list(ctx); zerr == nil {
				a.zip = true
				return names, nil
			}
		}
		return nil, fmt.Errorf("cannot read %s as a tar or zip archive: %s", a.path, strings.TrimSpace(string(r.Stderr)))
	}
	var names []string
	for _, l := range strings.Split(string(r.Stdout), "\n") {
		if l = strings.TrimPrefix(l, "./"); l != "" && l != "." {
			names = append(names, l)
		}
	}
	return names, nil
}

// differences lists the members dest does not hold as the archive has them ("name: why").
func (a *archive) differences(ctx context.Context, dest string, members []string) ([]string, error) {
	if !a.zip {
		argv := append([]string{"tar", "-d", "-f", a.path, "-C", dest}, a.tarExcludes()...)
		_, r, err := a.exec(ctx, argv...)
		if err != nil {
			return nil, err
		}
		if r.RC > 1 && len(r.Stdout) == 0 {
			return nil, fmt.Errorf("tar --diff: %s", strings.TrimSpace(string(r.Stderr)))
		}
		var out []string
		for _, l := range strings.Split(string(r.Stdout)+string(r.Stderr), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "tar: Exiting") {
				out = append(out, strings.TrimPrefix(l, "tar: "))
			}
		}
		sort.Strings(out)
		return out, nil
	}
	// zip: the member's size against the file's.
	_, r, err := a.exec(ctx, "unzip", "-Zl", a.path)
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, l := range strings.Split(string(r.Stdout), "\n") {
		f := strings.Fields(l)
		// -rw-r--r--  3.0 unx   6 tx   6 stor 24-Jan-01 10:00 name (the first field's width varies)
		if len(f) >= 10 && strings.Count(f[1], ".") == 1 {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err == nil {
				sizes[strings.Join(f[9:], " ")] = n
			}
		}
	}
	files := hostFiles(a.h)
	var out []string
	for _, mbr := range members {
		pi, err := files.Lstat(ctx, path.Join(dest, mbr))
		if err != nil {
			return nil, err
		}
		switch {
		case !pi.Exists:
			out = append(out, mbr+": does not exist")
		case strings.HasSuffix(mbr, "/"):
			if !pi.IsDir() {
				out = append(out, mbr+": is not a directory")
			}
		case pi.Type != "file" || pi.Size != sizes[mbr]:
			out = append(out, mbr+": size differs")
		default:
			// Same size: compare the content (the script is constant, the paths its arguments).
			_, r, err := a.exec(ctx, "sh", "-c", `unzip -p "$1" "$2" | cmp -s - "$3"`, "sh", a.path, mbr, path.Join(dest, mbr))
			if err != nil {
				return nil, err
			}
			if r.RC != 0 {
				out = append(out, mbr+": contents differ")
			}
		}
	}
	return out, nil
}

func (a *archive) extract(ctx context.Context, dest string) (string, *transport.ExecResult, error) {
	if a.zip {
		argv := []string{"unzip", "-o", a.path, "-d", dest}
		if len(a.exclude) > 0 {
			argv = append(argv, append([]string{"-x"}, a.exclude...)...)
		}
		return a.exec(ctx, argv...)
	}
	return a.exec(ctx, append([]string{"tar", "-x", "-f", a.path, "-C", dest}, a.tarExcludes()...)...)
}
