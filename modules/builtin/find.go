package builtin

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Find lists the files under directories of the host whose names match glob patterns, as
// Ansible's find does.
type Find struct{}

func (Find) Name() string { return "find" }

func (Find) Spec() modules.Spec {
	return modules.Spec{
		Summary: "List the files of host directories whose names match patterns",
		Description: "Runs `find` and `stat` on the host (POSIX find and the stat of coreutils or " +
			"BusyBox) and registers `files`, the entries under `paths` whose base names match one of " +
			"`patterns` (shell globs), sorted by path, each with path, size, mtime (Unix seconds), " +
			"isreg, isdir and islnk. A path that does not exist or cannot be read is listed in " +
			"`skipped_paths`, as Ansible does, and is not an error. Never changes anything.",
		CheckMode: "The same as a real run: find only reads.",
		Args: []modules.Arg{
			{Name: "paths", Type: modules.StringList, Required: true, Doc: "directories to search"},
			{Name: "patterns", Type: modules.StringList, Doc: "shell globs the base name must match (any of them); default every name"},
			{Name: "recurse", Type: modules.Bool, Default: false, Doc: "descend into subdirectories"},
			{Name: "file_type", Type: modules.String, Default: "file", Choices: []string{"file", "directory", "link", "any"}, Doc: "the kind of entry to list"},
			{Name: "hidden", Type: modules.Bool, Default: false, Doc: "also list names that start with a dot"},
		},
		Returns: []modules.Field{
			{Name: "files", Type: "list", Doc: "the matches: {path, size, mtime, isreg, isdir, islnk}"},
			{Name: "matched", Type: "int", Doc: "how many matched"},
			{Name: "examined", Type: "int", Doc: "how many entries were looked at"},
			{Name: "skipped_paths", Type: "map", Doc: "path -> why it was not searched"},
		},
	}
}

// Validate checks the patterns.
func (Find) Validate(args modules.Args) error {
	for _, p := range args.Strings("patterns") {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("patterns: %q is not a valid glob: %w", p, err)
		}
	}
	return nil
}

func (m Find) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Find) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	var files []any
	examined := 0
	skipped := map[string]any{}
	for _, dir := range args.Strings("paths") {
		entries, err := findEntries(ctx, h, dir, args.Bool("recurse"))
		if err != nil {
			skipped[dir] = err.Error()
			continue
		}
		for _, e := range entries {
			examined++
			if e.matches(args) {
				files = append(files, e.data())
			}
		}
	}
	sort.Slice(files, func(i, j int) bool {
		return files[i].(map[string]any)["path"].(string) < files[j].(map[string]any)["path"].(string)
	})
	if files == nil {
		files = []any{}
	}
	msg := fmt.Sprintf("%d of %d entries matched", len(files), examined)
	return modules.Result{Msg: msg, Data: map[string]any{"files": files, "matched": len(files), "examined": examined, "skipped_paths": skipped}}, nil
}

// foundEntry is one line of the host's stat output.
type foundEntry struct {
	path  string
	size  int64
	mtime int64
	mode  uint64 // st_mode, for the file type
}

func (e foundEntry) kind() string {
	switch e.mode & 0o170000 {
	case 0o100000:
		return "file"
	case 0o040000:
		return "directory"
	case 0o120000:
		return "link"
	}
	return "other"
}

func (e foundEntry) matches(args modules.Args) bool {
	base := path.Base(e.path)
	if strings.HasPrefix(base, ".") && !args.Bool("hidden") {
		return false
	}
	if want := args.String("file_type"); want != "any" && e.kind() != want {
		return false
	}
	patterns := args.Strings("patterns")
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, base); ok {
			return true
		}
	}
	return false
}

func (e foundEntry) data() map[string]any {
	k := e.kind()
	return map[string]any{"path": e.path, "size": e.size, "mtime": float64(e.mtime),
		"isreg": k == "file", "isdir": k == "directory", "islnk": k == "link"}
}

// findEntries lists the entries under dir with one find and stat on the host. Names holding a
// newline cannot be told apart in stat's output and are left out.
func findEntries(ctx context.Context, h *modules.Host, dir string, recurse bool) ([]foundEntry, error) {
	argv := []string{"find", dir, "-mindepth", "1"}
	if !recurse {
		argv = append(argv, "-maxdepth", "1")
	}
	argv = append(argv, "-exec", "stat", "-c", "%s %Y %f %n", "{}", "+")
	res, err := h.Conn.Exec(ctx, h.ArgvCmd(argv...))
	if err != nil {
		return nil, fmt.Errorf("find on %s: %w", h.Name, err)
	}
	if res.RC != 0 {
		msg := strings.TrimSpace(string(res.Stderr))
		if msg == "" {
			msg = fmt.Sprintf("find exited with %d", res.RC)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	var out []foundEntry
	for _, line := range strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 {
			continue
		}
		size, err1 := strconv.ParseInt(f[0], 10, 64)
		mtime, err2 := strconv.ParseInt(f[1], 10, 64)
		mode, err3 := strconv.ParseUint(f[2], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, foundEntry{path: f[3], size: size, mtime: mtime, mode: mode})
	}
	return out, nil
}
