package builtin

// Helpers shared by the file modules (copy, template, fetch, stat): modes, controller paths,
// streaming sha256 checksums on the controller and on the host.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// fileModeArg converts a mode argument: an octal string ("0644", "644", "0o644") or a number.
// YAML reads 0644 as the number 420, which is taken as it is; a number above 0777 whose
// decimal digits are all octal (644, 755) is read as those octal digits, since the user
// surely did not mean the sticky and set-id bits that its decimal value would set (write
// special bits as a string: "4755").
func fileModeArg(v any) (fs.FileMode, bool, error) {
	bad := func() (fs.FileMode, bool, error) {
		return 0, false, fmt.Errorf("mode %v is not an octal file mode: write it as a quoted octal string such as \"0644\"", v)
	}
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case string:
		s := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(x), "0o"), "0O")
		if s == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil || n > 0o7777 {
			return bad()
		}
		return fs.FileMode(n), true, nil
	case int, int64, uint64, float64:
		n, err := strconv.ParseInt(fmt.Sprint(x), 10, 64)
		if err != nil || n < 0 {
			return bad()
		}
		if n > 0o777 {
			m, err := strconv.ParseUint(strconv.FormatInt(n, 10), 8, 32)
			if err != nil || m > 0o7777 {
				return bad()
			}
			return fs.FileMode(m), true, nil
		}
		return fs.FileMode(n), true, nil
	}
	return bad()
}

// fileModeArgSpec declares a mode argument.
var fileModeArgSpec = modules.Arg{Name: "mode", Type: modules.Any, Doc: "permissions of dest, best as a quoted octal string (\"0644\", \"4755\"); default: keep the existing file's, 0644 for a new one"}

// modeString formats a permission mode as Ansible does: "0644".
func modeString(m fs.FileMode) string { return fmt.Sprintf("%04o", transport.UnixBits(m)) }

// controllerPath resolves a controller path given in a task: absolute paths stay; relative
// ones are looked up in the task's role first (var role_path), then under the playbook
// directory (var playbook_dir): in each, first in its sub directory (files/ for copy,
// templates/ for template), then in the directory itself, as Ansible looks.
func controllerPath(h *modules.Host, p, subdir string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if filepath.IsAbs(p) {
		return p, nil
	}
	base, _ := h.Vars["playbook_dir"].(string)
	if base == "" {
		base = "."
	}
	var dirs []string
	bases := []string{base}
	if role, _ := h.Vars["role_path"].(string); role != "" {
		bases = []string{role, base}
	}
	for _, b := range bases {
		if subdir != "" {
			dirs = append(dirs, filepath.Join(b, subdir))
		}
		dirs = append(dirs, b)
	}
	var tried []string
	for _, dir := range dirs {
		cand := filepath.Join(dir, p)
		if _, err := os.Stat(cand); err == nil {
			return cand, nil
		}
		tried = append(tried, cand)
	}
	return "", fmt.Errorf("%s not found on the controller (looked at %s): give an absolute path or one relative to the playbook directory", p, strings.Join(tried, ", "))
}

// controllerDest resolves a controller path to write (fetch dest): relative to playbook_dir.
func controllerDest(h *modules.Host, p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	if base, _ := h.Vars["playbook_dir"].(string); base != "" {
		return filepath.Join(base, p)
	}
	return p
}

// hashReader returns the sha256 (hex) and size of everything r yields, streaming.
func hashReader(r io.Reader) (string, int64, error) {
	hsh := sha256.New()
	n, err := io.Copy(hsh, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(hsh.Sum(nil)), n, nil
}

// hashLocalFile returns the sha256 and size of a controller file, streaming.
func hashLocalFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, n, err := hashReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", p, err)
	}
	return sum, n, nil
}

// remoteChecksum returns the sha256 of a file on the host. It asks the host's sha256sum (so
// that a big file need not travel), and falls back to streaming the file through Get into a
// hash when sha256sum is missing or fails.
func remoteChecksum(ctx context.Context, h *modules.Host, p string) (string, error) {
	if !h.Conn.Local() || h.Become {
		res, err := h.Conn.Exec(ctx, h.ArgvCmd("sha256sum", "--", p))
		if err != nil && (transport.IsUnreachable(err) || ctx.Err() != nil) {
			return "", err
		}
		if err == nil && res.RC == 0 {
			if f := strings.Fields(string(res.Stdout)); len(f) > 0 && len(f[0]) == 64 {
				return strings.TrimPrefix(f[0], "\\"), nil
			}
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(h.Conn.Get(ctx, p, pw)) }()
	sum, _, err := hashReader(pr)
	pr.Close()
	if err != nil {
		return "", fmt.Errorf("checksum %s on the host: %w", p, err)
	}
	return sum, nil
}

// statHost stats a path on the host; a missing path gives (nil, nil).
func statHost(ctx context.Context, h *modules.Host, p string) (*transport.FileInfo, error) {
	fi, err := h.Conn.Stat(ctx, p)
	switch {
	case err == nil:
		if !fi.Exists {
			return nil, nil
		}
		return fi, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, fmt.Errorf("stat %s on the host: %w", p, err)
}

// readSmallText reads a host file for a diff when it is small and looks like text; ok is
// false otherwise (too big, binary, unreadable).
func readSmallText(ctx context.Context, h *modules.Host, p string, size int64) (string, bool) {
	if size > maxDiffBytes {
		return "", false
	}
	var buf bytes.Buffer
	if err := h.Conn.Get(ctx, p, &limitedWriter{w: &buf, n: maxDiffBytes}); err != nil {
		return "", false
	}
	if !looksLikeText(buf.Bytes()) {
		return "", false
	}
	return buf.String(), true
}

// maxDiffBytes bounds the files shown in a --diff.
const maxDiffBytes = 64 << 10

func looksLikeText(b []byte) bool { return !bytes.ContainsRune(b, 0) && len(b) <= maxDiffBytes }

type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errors.New("file too big for a diff")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}
