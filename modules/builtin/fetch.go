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
			"into a temporary file renamed into place.",
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

// fetchDest is where fetch writes src on the controller.
func fetchDest(h *modules.Host, src, dest string, flat bool) string {
	if flat {
		if strings.HasSuffix(dest, "/") {
			dest = filepath.Join(dest, path.Base(src))
		}
		return controllerDest(h, dest)
	}
	host, _ := h.Vars["inventory_hostname"].(string)
	if host == "" {
		host = h.Name
	}
	return controllerDest(h, filepath.Join(dest, host, filepath.FromSlash(path.Clean("/"+src))))
}

func fetchFile(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	src := args.String("src")
	dest := fetchDest(h, src, args.String("dest"), args.Bool("flat"))
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
	localSum, size, err := hashLocalFile(dest)
	if err == nil && localSum == remoteSum {
		data["checksum"], data["size"] = localSum, size
		return modules.Result{Data: data}, nil
	}
	if !apply {
		data["checksum"], data["size"] = remoteSum, fi.Size
		return modules.Result{Changed: true, Msg: "would fetch " + src + " to " + dest, Data: data}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return modules.Fail(fmt.Sprintf("create the controller directory for %s: %v", dest, err), data), nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".omsbook-*")
	if err != nil {
		return modules.Fail(fmt.Sprintf("write %s on the controller: %v", dest, err), data), nil
	}
	defer os.Remove(tmp.Name())
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
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return modules.Fail(fmt.Sprintf("write %s on the controller: %v", dest, err), data), nil
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return modules.Fail(fmt.Sprintf("write %s on the controller: %v", dest, err), data), nil
	}
	data["checksum"], data["size"] = sum, counter.n
	return modules.Result{Changed: true, Data: data}, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
