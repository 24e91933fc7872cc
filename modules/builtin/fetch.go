package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// Fetch copies a file from the host to the controller.
type Fetch struct{}

func (Fetch) Name() string { return "fetch" }

func (Fetch) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Copy a file from the host to the controller",
		Description: "Copies `src` on the host to the controller. As in Ansible, the file lands in " +
			"DEST/INVENTORY_HOSTNAME/SRC_PATH (so that many hosts do not overwrite each other), or " +
			"exactly at `dest` with `flat: true` (dest ending with / then takes src's base name). " +
			"Relative dest paths are relative to the playbook directory. The file is fetched only " +
			"when its sha256 differs from the controller copy's, streamed (never held in memory) " +
			"into a temporary file beside it (`.NAME.omsbook-tmp-RUN_ID-RANDOM`) renamed into place; " +
			"the temporary file is removed when the task is cancelled, and one that a killed run " +
			"left is removed by the next fetch to the same path.",
		CheckMode: "Compares checksums without fetching: changed when the controller copy is " +
			"missing or differs, ok when it is the same.",
		Args: []modules.Arg{
			{Name: "src", Type: modules.String, Required: true, Doc: "the file on the host"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "a directory on the controller (or the file itself with flat: true)"},
			{Name: "flat", Type: modules.Bool, Default: false, Doc: "write exactly to dest instead of dest/HOST/SRC"},
			{Name: "fail_on_missing", Type: modules.Bool, Default: true, Doc: "fail when src does not exist on the host; false: report ok with a message"},
		},
		Returns: []modules.Field{
			{Name: "dest", Type: "string", Doc: "the path written on the controller"},
			{Name: "checksum", Type: "string", Doc: "sha256 of the fetched file"},
			{Name: "remote_checksum", Type: "string", Doc: "sha256 of src on the host"},
			{Name: "size", Type: "int", Doc: "size of the file in bytes"},
		},
	}
}

func (m Fetch) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return fetchFile(ctx, h, args, false)
}

func (m Fetch) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return fetchFile(ctx, h, args, true)
}

// fetchDest is where fetch writes src on the controller: a directory (which the module may
// create) and the file's path relative to it. Nothing but dest itself is taken as written: the
// host's name must be one path component and src's path stays below DEST/HOST, as Ansible
// refuses directory traversal there too.
func fetchDest(h *modules.Host, src, dest string, flat bool) (base, rel string, err error) {
	if flat {
		if strings.HasSuffix(dest, "/") {
			name := path.Base(src)
			if err := nameComponent("the base name of src", name); err != nil {
				return "", "", err
			}
			return controllerDest(h, dest), name, nil
		}
		full := controllerDest(h, dest)
		return filepath.Dir(full), filepath.Base(full), nil
	}
	host, _ := h.Vars["inventory_hostname"].(string)
	if host == "" {
		host = h.Name
	}
	if err := nameComponent("the host name", host); err != nil {
		return "", "", err
	}
	rel, err = containedRel(host, path.Clean("/" + src)[1:])
	if err != nil {
		return "", "", err
	}
	return controllerDest(h, dest), rel, nil
}

func fetchFile(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	src := args.String("src")
	base, rel, err := fetchDest(h, src, args.String("dest"), args.Bool("flat"))
	if err != nil {
		return modules.Fail(fmt.Sprintf("fetch %s: %v", src, err), nil), nil
	}
	dest := filepath.Join(base, rel)
	data := map[string]any{"dest": dest}
	fi, err := statHost(ctx, h, src)
	if err != nil {
		return modules.Result{}, err
	}
	switch {
	case fi == nil && !args.Bool("fail_on_missing"):
		return modules.Result{Msg: fmt.Sprintf("the file %s was not found on the host", src), Data: data}, nil
	case fi == nil:
		return modules.Fail(fmt.Sprintf("the file %s was not found on the host (fail_on_missing: false lets the task go on)", src), data), nil
	case fi.IsDir:
		return modules.Fail(fmt.Sprintf("src %s is a directory on the host: fetch takes one file", src), data), nil
	}
	remoteSum, err := remoteChecksum(ctx, h, src)
	if err != nil {
		return modules.Result{}, err
	}
	data["remote_checksum"] = remoteSum
	// Everything below dest is reached through root, which refuses a symlink leading out.
	var root *os.Root
	if r, err := os.OpenRoot(base); err == nil {
		root = r
		defer root.Close()
		if f, err := root.Open(rel); err == nil {
			localSum, size, err := hashReader(f)
			f.Close()
			if err == nil && localSum == remoteSum {
				data["checksum"], data["size"] = localSum, size
				return modules.Result{Data: data}, nil
			}
		}
	}
	if !apply {
		data["checksum"], data["size"] = remoteSum, fi.Size
		return modules.Result{Changed: true, Msg: "would fetch " + src + " to " + dest, Data: data}, nil
	}
	if root == nil {
		if err := os.MkdirAll(base, 0o755); err != nil {
			return modules.Fail(fmt.Sprintf("create the controller directory %s: %v", base, err), data), nil
		}
		if root, err = os.OpenRoot(base); err != nil {
			return modules.Fail(fmt.Sprintf("open the controller directory %s: %v", base, err), data), nil
		}
		defer root.Close()
	}
	if err := root.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
		return modules.Fail(fmt.Sprintf("create the controller directory for %s: %v", dest, err), data), nil
	}
	tmpName, tmp, err := transport.CreateTemp(ctx, root, rel)
	if err != nil {
		return modules.Fail(fmt.Sprintf("write %s on the controller: %v", dest, err), data), nil
	}
	defer root.Remove(tmpName)
	hsh := sha256.New()
	counter := &countWriter{}
	err = h.Conn.Get(ctx, src, io.MultiWriter(tmp, hsh, counter))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return modules.Result{}, err
		}
		return modules.Fail(fmt.Sprintf("fetch %s: %v", src, err), data), nil
	}
	sum := hex.EncodeToString(hsh.Sum(nil))
	if sum != remoteSum {
		return modules.Fail(fmt.Sprintf("fetch %s: checksum mismatch after transfer (host %s, received %s): the file changed while it was copied; run again", src, remoteSum, sum), data), nil
	}
	if err := writeContained(root, tmpName, rel, 0o644); err != nil {
		return modules.Fail(fmt.Sprintf("write %s on the controller: %v", dest, err), data), nil
	}
	data["checksum"], data["size"] = sum, counter.n
	return modules.Result{Changed: true, Data: data}, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
