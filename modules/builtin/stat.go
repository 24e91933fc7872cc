package builtin

import (
	"context"
	"fmt"

	"github.com/omsbook/omsbook/modules"
)

// Stat describes a path on the host.
type Stat struct{}

func (Stat) Name() string { return "stat" }

func (Stat) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Describe a path on the host",
		Description: "Registers `stat` with exists, isdir, isreg, size, mode, mtime, owner and " +
			"group of `path`, and its sha256 checksum with `checksum: true`. A missing path is not " +
			"an error: stat.exists is false. Never changes anything.",
		CheckMode: "The same as a real run: stat only reads.",
		Args: []modules.Arg{
			{Name: "path", Type: modules.String, Required: true, Doc: "the path on the host"},
			{Name: "checksum", Type: modules.Bool, Default: false, Doc: "also compute the sha256 of a regular file"},
		},
		Returns: []modules.Field{
			{Name: "stat", Type: "map", Doc: "exists, path, isdir, isreg, size, mode (\"0644\"), mtime (Unix seconds), pw_name, gr_name, checksum (sha256, with checksum: true)"},
		},
	}
}

func (m Stat) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Stat) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	p := args.String("path")
	fi, err := statHost(ctx, h, p)
	if err != nil {
		return modules.Result{}, err
	}
	st := map[string]any{"exists": fi != nil, "path": p}
	if fi != nil {
		st["isdir"] = fi.IsDir
		st["isreg"] = !fi.IsDir
		st["size"] = fi.Size
		st["mode"] = modeString(fi.Mode)
		st["mtime"] = float64(fi.ModTime.UnixNano()) / 1e9
		st["pw_name"] = fi.Owner
		st["gr_name"] = fi.Group
		if args.Bool("checksum") && !fi.IsDir {
			sum, err := remoteChecksum(ctx, h, p)
			if err != nil {
				return modules.Result{}, fmt.Errorf("stat %s: %w", p, err)
			}
			st["checksum"] = sum
		}
	}
	return modules.Result{Data: map[string]any{"stat": st}}, nil
}
