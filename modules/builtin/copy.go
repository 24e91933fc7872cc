package builtin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// Copy puts a controller file or given content at a path on the host.
type Copy struct{}

func (Copy) Name() string { return "copy" }

func (Copy) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Copy a controller file, or given content, to a path on the host",
		Description: "Writes `content`, or the controller file `src` (relative paths are looked up " +
			"in the playbook directory's files/, then the playbook directory), to `dest` on the host. " +
			"The sha256 of the source is compared with the host file's: the file is written only " +
			"when they differ (atomically, through a temporary file beside it renamed into place: " +
			"`.NAME.omsbook-tmp-RUN_ID-RANDOM`, removed when the task is cancelled; one that a killed " +
			"run left is removed by the next run that writes dest), and only " +
			"the mode is set when just the mode differs. Big files are streamed, never held in " +
			"memory. When dest is a directory (or ends with /), the file keeps src's base name. " +
			"The destination directory must exist. A controller directory as src is copied " +
			"file by file, as Ansible copies one: `src: dir/` copies its content into dest, " +
			"`src: dir` the directory itself (dest/dir), creating the directories (directory_mode). " +
			"remote_src copies a file already on the host. owner/group are set, backup keeps the " +
			"old file (backup_file), validate checks the new content before it is installed.",
		CheckMode: "Compares checksums and modes without writing: changed when the file would be " +
			"written or its mode set, ok when already so; with --diff, shows the text change for " +
			"small text files.",
		Args: append([]modules.Arg{
			{Name: "content", Type: modules.String, Doc: "the text to write (instead of src)"},
			{Name: "src", Type: modules.String, Doc: "a file on the controller to copy (instead of content)"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "the path on the host"},
			fileModeArgSpec,
			{Name: "force", Type: modules.Bool, Default: true, Doc: "replace a dest whose content differs; false: only create a missing dest"},
		}, append(fileWriteExtraArgs, copyOnlyArgs...)...),
		Returns: fileWriteReturns,
	}
}

// fileWriteReturns documents what copy and template register.
var fileWriteReturns = []modules.Field{
	{Name: "dest", Type: "string", Doc: "the path written on the host"},
	{Name: "src", Type: "string", Doc: "the controller source file, when src was given"},
	{Name: "checksum", Type: "string", Doc: "sha256 of the new content"},
	{Name: "size", Type: "int", Doc: "size of the new content in bytes"},
	{Name: "mode", Type: "string", Doc: "the file's mode, as an octal string"},
	{Name: "changed", Type: "bool", Doc: "whether the file was (or, in check mode, would be) written or its mode set"},
	{Name: "backup_file", Type: "string", Doc: "the backup's path, when backup made one"},
}

// Validate requires exactly one of content and src, and a valid mode.
func (Copy) Validate(args modules.Args) error {
	if err := oneOf(args, "content", "src"); err != nil {
		return err
	}
	if unrendered(args["mode"]) {
		return nil // checked when the template is rendered, at run time
	}
	_, _, err := fileModeArg(args["mode"])
	return err
}

func (m Copy) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if res, done, err := copySpecial(ctx, h, args, false); done {
		return res, err
	}
	src, err := copySource(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	return writeFile(ctx, h, src, args, false)
}

func (m Copy) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if res, done, err := copySpecial(ctx, h, args, true); done {
		return res, err
	}
	src, err := copySource(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	return writeFile(ctx, h, src, args, true)
}

// copySpecial handles remote_src and a controller directory as src; done is false for a
// single controller file or content.
func copySpecial(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, bool, error) {
	if args.Bool("remote_src") {
		if !args.Has("src") {
			return modules.Fail("remote_src needs src", nil), true, nil
		}
		res, err := copyRemote(ctx, h, args, apply)
		return res, true, err
	}
	if !args.Has("src") {
		return modules.Result{}, false, nil
	}
	p, err := controllerPath(h, args.String("src"), "files")
	if err != nil {
		return modules.Result{}, false, nil // copySource reports it
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		res, err := copyDirectory(ctx, h, args, p, apply)
		return res, true, err
	}
	return modules.Result{}, false, nil
}

func copySource(h *modules.Host, args modules.Args) (fileSource, error) {
	if err := oneOf(args, "content", "src"); err != nil {
		return fileSource{}, err
	}
	if args.Has("content") {
		return fileSource{data: []byte(args.String("content"))}, nil
	}
	p, err := controllerPath(h, args.String("src"), "files")
	if err != nil {
		return fileSource{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return fileSource{}, fmt.Errorf("src %s: %w", p, err)
	}
	if st.IsDir() {
		return fileSource{}, fmt.Errorf("src %s is a directory: copy takes one file; list the files with a loop", p)
	}
	return fileSource{path: p, name: args.String("src")}, nil
}

// fileSource is what copy and template write: in-memory text, or a controller file that is
// streamed (never read whole).
type fileSource struct {
	data []byte
	path string // controller file; data is unused when set
	name string // src as the task gave it
}

func (s fileSource) open() (io.ReadCloser, error) {
	if s.path != "" {
		return os.Open(s.path)
	}
	return io.NopCloser(bytes.NewReader(s.data)), nil
}

func (s fileSource) checksum() (string, int64, error) {
	if s.path != "" {
		return hashLocalFile(s.path)
	}
	return hashReader(bytes.NewReader(s.data))
}

// text returns the source for a diff, when it is small text.
func (s fileSource) text() (string, bool) {
	if s.path == "" {
		return string(s.data), looksLikeText(s.data)
	}
	st, err := os.Stat(s.path)
	if err != nil || st.Size() > maxDiffBytes {
		return "", false
	}
	b, err := os.ReadFile(s.path)
	if err != nil || !looksLikeText(b) {
		return "", false
	}
	return string(b), true
}

// writeFile compares src with dest on the host and, when apply is true, writes it or sets its
// mode. It is copy's and template's Check (apply false) and Apply.
func writeFile(ctx context.Context, h *modules.Host, src fileSource, args modules.Args, apply bool) (modules.Result, error) {
	dest := args.String("dest")
	wantMode, modeGiven, err := fileModeArg(args["mode"])
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	if dest == "" {
		return modules.Fail("dest is empty: give the path to write on the host", nil), nil
	}
	cur, err := statHost(ctx, h, dest)
	if err != nil {
		return modules.Result{}, err
	}
	if (cur != nil && cur.IsDir) || strings.HasSuffix(dest, "/") {
		if src.name == "" {
			return modules.Fail(fmt.Sprintf("dest %s is a directory: give the file's full path", dest), nil), nil
		}
		dest = path.Join(dest, path.Base(src.name))
		if cur, err = statHost(ctx, h, dest); err != nil {
			return modules.Result{}, err
		}
		if cur != nil && cur.IsDir {
			return modules.Fail(fmt.Sprintf("dest %s is a directory: give the file's full path", dest), nil), nil
		}
	}
	if cur == nil {
		dir := path.Dir(dest)
		parent, err := statHost(ctx, h, dir)
		if err != nil {
			return modules.Result{}, err
		}
		if parent == nil && !apply {
			// In check mode an earlier task that would create the directory did not run:
			// say what would happen instead of failing a dry run that a real run passes.
			return modules.Result{Changed: true, Msg: fmt.Sprintf("would write %s (its directory %s does not exist yet: an earlier task must create it)", dest, dir),
				Data: map[string]any{"dest": dest, "changed": true}}, nil
		}
		if parent == nil || !parent.IsDir {
			return modules.Fail(fmt.Sprintf("destination directory %s does not exist on the host: create it first (e.g. command: mkdir -p %s)", dir, dir), nil), nil
		}
	}
	sum, size, err := src.checksum()
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	data := map[string]any{"dest": dest, "checksum": sum, "size": size}
	if src.name != "" {
		data["src"] = src.name
	}

	mode := fs.FileMode(0o644)
	switch {
	case modeGiven:
		mode = wantMode
	case cur != nil:
		mode = fs.FileMode(transport.UnixBits(cur.Mode))
	}
	data["mode"] = fmt.Sprintf("%04o", uint32(mode))

	writeContent := cur == nil
	if cur != nil && args.Bool("force") {
		remoteSum, err := remoteChecksum(ctx, h, dest)
		if err != nil {
			return modules.Result{}, err
		}
		writeContent = remoteSum != sum
	}
	setMode := !writeContent && cur != nil && modeGiven && transport.UnixBits(cur.Mode)&0o777 != uint32(wantMode)&0o777
	setOwner, err := ownership(ctx, h, args, dest, cur, false)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	res := modules.Result{Changed: writeContent || setMode || setOwner, Data: data}
	data["changed"] = res.Changed

	if writeContent && h.Diff {
		if after, ok := src.text(); ok {
			before, ok := "", true
			if cur != nil {
				before, ok = readSmallText(ctx, h, dest, cur.Size)
			}
			if ok {
				res.Diff = &modules.Diff{Before: before, After: after, BeforeLabel: dest + " (before)", AfterLabel: dest + " (after)"}
			}
		}
	}
	if !apply {
		switch {
		case writeContent && cur == nil:
			res.Msg = "would create " + dest
		case writeContent:
			res.Msg = "would replace " + dest + " (content differs)"
		case setMode:
			res.Msg = fmt.Sprintf("would set the mode of %s to %04o", dest, uint32(wantMode))
		case setOwner:
			res.Msg = "would set the owner or group of " + dest
		}
		return res, nil
	}
	switch {
	case writeContent:
		if msg := beforeWrite(ctx, h, src, args, dest, cur, data); msg != "" {
			return modules.Fail(msg, data), nil
		}
		r, err := src.open()
		if err != nil {
			return modules.Fail(fmt.Sprintf("open %s: %v", src.path, err), data), nil
		}
		defer r.Close()
		if err := h.Conn.Put(ctx, modules.ProgressReader(ctx, r, size), dest, transport.FileModeOf(uint32(mode))); err != nil {
			if ctx.Err() != nil {
				return modules.Result{}, err
			}
			return modules.Fail(fmt.Sprintf("write %s on the host: %v", dest, err), data), nil
		}
	case setMode:
		res2, err := h.Conn.Exec(ctx, h.ArgvCmd("chmod", fmt.Sprintf("%04o", uint32(wantMode)), "--", dest))
		if err != nil {
			return execError(ctx, "chmod", err)
		}
		if res2.RC != 0 {
			return modules.Fail(fmt.Sprintf("set the mode of %s: %s", dest, strings.TrimSpace(string(res2.Stderr))), data), nil
		}
	}
	if setOwner || (writeContent && (args.Has("owner") || args.Has("group"))) {
		if _, err := ownership(ctx, h, args, dest, cur, true); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
	}
	return res, nil
}
