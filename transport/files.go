package transport

// Host file operations on top of a Conn: the one place the file modules (file, copy,
// lineinfile, ...) read, write and change files on a host, so that their quoting lives here
// and not in shell strings composed per module.
//
// Without become, an ssh connection does what it can over sftp (read, write, chmod, lstat,
// readlink, mkdir, remove, symlink, hard link, rename) and a local one calls the operating
// system. sftp cannot change user, so with become (and for what sftp has no request for:
// chown, checksums, the identity of a file, a tree listing) the operation runs as a command
// through the connection's Exec, with the task's become settings: standard POSIX and GNU
// coreutils tools (cat, head, mv, chmod, chown, ln, mkdir, rm, stat, find, sha256sum, sha1sum,
// md5sum). Every argv is quoted by the transport (internal/shellquote); no operation builds a
// shell line from its arguments.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
)

// Files does file operations on the host of Conn, as the user Become says.
type Files struct {
	Conn Conn
	// Become runs every operation as a command through sudo as BecomeUser (see Cmd).
	Become         bool
	BecomeUser     string
	BecomePassword string
}

// ErrTooBig is returned by ReadFile for a file larger than the limit.
var ErrTooBig = errors.New("file is larger than the limit")

// PathInfo describes a path without following a final symlink (Lstat) or following it.
type PathInfo struct {
	Path   string
	Exists bool
	// Type is "file", "directory", "link", or "other" (device, socket, fifo).
	Type string
	// Mode holds the permission bits with set-uid, set-gid and sticky in Unix numbering
	// (0o4755).
	Mode       uint32
	Size       int64
	ModTime    time.Time
	Owner      string // a name when the host knows one, else the numeric id
	Group      string
	LinkTarget string // for a link: what it points to, as written
}

// IsDir reports whether p is a directory.
func (p *PathInfo) IsDir() bool { return p.Exists && p.Type == "directory" }

func (f Files) sshConn() *SSHConn {
	if f.Become {
		return nil
	}
	c, _ := f.Conn.(*SSHConn)
	return c
}

func (f Files) local() bool {
	if f.Become {
		return false
	}
	_, ok := f.Conn.(*Local)
	return ok
}

func (f Files) cmd(argv ...string) *Cmd {
	return &Cmd{Argv: argv, Become: f.Become, BecomeUser: f.BecomeUser, BecomePassword: f.BecomePassword}
}

// run runs argv and turns a non-zero exit status into an error carrying its stderr.
func (f Files) run(ctx context.Context, what string, stdin io.Reader, argv ...string) (*ExecResult, error) {
	c := f.cmd(argv...)
	c.Stdin = stdin
	res, err := f.Conn.Exec(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if res.RC != 0 {
		msg := strings.TrimSpace(string(res.Stderr))
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", res.RC)
		}
		return res, &OpError{What: what, Msg: msg, NotExist: strings.Contains(msg, "No such file or directory")}
	}
	return res, nil
}

// OpError is a file operation that the host refused.
type OpError struct {
	What     string
	Msg      string
	NotExist bool
}

func (e *OpError) Error() string { return e.What + ": " + e.Msg }

// Is makes a missing file satisfy errors.Is(err, fs.ErrNotExist).
func (e *OpError) Is(target error) bool { return e.NotExist && target == fs.ErrNotExist }

// ReadFile returns the content of the file p; a file bigger than limit bytes (limit > 0) gives
// ErrTooBig.
func (f Files) ReadFile(ctx context.Context, p string, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	w := io.Writer(&buf)
	if limit > 0 {
		w = &capWriter{w: &buf, n: limit}
	}
	if f.Become {
		argv := []string{"cat", "--", p}
		if limit > 0 {
			argv = []string{"head", "-c", strconv.FormatInt(limit+1, 10), "--", p}
		}
		res, err := f.run(ctx, "read "+p, nil, argv...)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(res.Stdout); err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return buf.Bytes(), nil
	}
	if err := f.Conn.Get(ctx, p, w); err != nil {
		if errors.Is(err, ErrTooBig) {
			return nil, fmt.Errorf("read %s: %w (%d bytes)", p, ErrTooBig, limit)
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

type capWriter struct {
	w io.Writer
	n int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.n {
		return 0, ErrTooBig
	}
	c.n -= int64(len(p))
	return c.w.Write(p)
}

// WriteFileAtomic writes r to p: into a temporary file in the same directory, then sets mode
// (Unix bits, 0o4755 style) and renames it over p, so that p is either the old or the new file.
func (f Files) WriteFileAtomic(ctx context.Context, p string, r io.Reader, mode uint32) error {
	if !f.Become {
		if err := f.Conn.Put(ctx, r, p, FileModeOf(mode)); err != nil {
			return err
		}
		if mode&0o7000 != 0 {
			return f.Chmod(ctx, p, mode)
		}
		return nil
	}
	tmp := TempPath(ctx, p)
	// The script's text is constant; the paths and the mode are its arguments.
	const script = `umask 077; cat > "$1" && chmod "$2" "$1" && mv -f "$1" "$3" || { rm -f "$1"; exit 1; }`
	_, err := f.run(ctx, "write "+p, ctxReader{ctx, r}, "sh", "-c", script, "sh", tmp, fmt.Sprintf("%04o", mode), p)
	if err != nil && ctx.Err() != nil {
		// The script was killed before it could remove its file: remove it now, with a short
		// time of its own (a connection that is closing refuses: then the next Put of p finds
		// it).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leftoverTimeout)
		defer cancel()
		_ = f.Remove(rctx, tmp, false)
	}
	return err
}

// Chmod sets the mode (Unix bits) of p, following a symlink.
func (f Files) Chmod(ctx context.Context, p string, mode uint32) error {
	if c, x := f.viaExecutor(); x != nil {
		return c.execChmod(ctx, x, p, mode)
	}
	switch {
	case f.local():
		if err := os.Chmod(p, FileModeOf(mode)); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, "chmod "+p, func(cl *sftp.Client) error {
			if err := cl.Chmod(p, FileModeOf(mode)); err != nil {
				return fmt.Errorf("host %s: chmod %s: %w", c.name, p, err)
			}
			return nil
		})
	}
	_, err := f.run(ctx, "chmod "+p, nil, "chmod", fmt.Sprintf("%04o", mode), "--", p)
	return err
}

// Chown sets the owner and/or group (names or numeric ids; "" leaves one as it is) of p,
// itself when it is a symlink (no follow) unless follow is true; recurse descends a directory.
func (f Files) Chown(ctx context.Context, p, owner, group string, follow, recurse bool) error {
	if owner == "" && group == "" {
		return nil
	}
	if c, x := f.viaExecutor(); x != nil {
		return c.execChown(ctx, x, p, owner, group, follow, recurse)
	}
	spec := owner
	if group != "" {
		spec += ":" + group
	}
	argv := []string{"chown"}
	if recurse {
		argv = append(argv, "-R")
	}
	if !follow {
		argv = append(argv, "-h")
	}
	_, err := f.run(ctx, "chown "+p, nil, append(argv, spec, "--", p)...)
	return err
}

// Checksum returns the hex digest (algo "sha256", "sha1" or "md5") of the file p, computed on
// the host so that the file need not travel; locally, without become, it is read here.
func (f Files) Checksum(ctx context.Context, p, algo string) (string, error) {
	var h hash.Hash
	tool := ""
	switch algo {
	case "sha256", "":
		h, tool = sha256.New(), "sha256sum"
	case "sha1":
		h, tool = sha1.New(), "sha1sum"
	case "md5":
		h, tool = md5.New(), "md5sum"
	default:
		return "", fmt.Errorf("checksum algorithm %q: want sha256, sha1 or md5", algo)
	}
	if c, x := f.viaExecutor(); x != nil {
		return c.execChecksum(ctx, x, p, algo)
	}
	if f.local() {
		fh, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("checksum %s: %w", p, err)
		}
		defer fh.Close()
		if _, err := io.Copy(h, ctxReader{ctx, fh}); err != nil {
			return "", fmt.Errorf("checksum %s: %w", p, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	res, err := f.run(ctx, "checksum "+p, nil, tool, "--", p)
	if err != nil {
		return "", err
	}
	fields := strings.Fields(string(res.Stdout))
	if len(fields) == 0 {
		return "", fmt.Errorf("checksum %s: %s printed nothing", p, tool)
	}
	return strings.TrimPrefix(fields[0], `\`), nil
}

// Lstat describes p without following a final symlink. A missing path gives Exists false and
// no error.
func (f Files) Lstat(ctx context.Context, p string) (*PathInfo, error) { return f.stat(ctx, p, false) }

// Stat describes p, following symlinks. A missing path (or a dangling link) gives Exists
// false and no error.
func (f Files) Stat(ctx context.Context, p string) (*PathInfo, error) { return f.stat(ctx, p, true) }

func (f Files) stat(ctx context.Context, p string, follow bool) (*PathInfo, error) {
	if c, x := f.viaExecutor(); x != nil {
		return c.execPathInfo(ctx, x, p, follow)
	}
	switch {
	case f.local():
		st, err := os.Lstat(p)
		if follow {
			st, err = os.Stat(p)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return &PathInfo{Path: p}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", p, err)
		}
		pi := infoFrom(p, st)
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			pi.Owner = lookupName(strconv.Itoa(int(sys.Uid)), func(id string) (string, error) {
				u, err := user.LookupId(id)
				if err != nil {
					return "", err
				}
				return u.Username, nil
			})
			pi.Group = lookupName(strconv.Itoa(int(sys.Gid)), func(id string) (string, error) {
				g, err := user.LookupGroupId(id)
				if err != nil {
					return "", err
				}
				return g.Name, nil
			})
		}
		if pi.Type == "link" {
			pi.LinkTarget, _ = os.Readlink(p)
		}
		return pi, nil
	case f.sshConn() != nil:
		c := f.sshConn()
		var pi *PathInfo
		var uid, gid uint32
		err := c.withSFTP(ctx, "stat "+p, func(cl *sftp.Client) error {
			st, err := cl.Lstat(p)
			if follow {
				st, err = cl.Stat(p)
			}
			if errors.Is(err, fs.ErrNotExist) {
				pi = &PathInfo{Path: p}
				return nil
			}
			if err != nil {
				return fmt.Errorf("host %s: stat %s: %w", c.name, p, err)
			}
			pi = infoFrom(p, st)
			if s, ok := st.Sys().(*sftp.FileStat); ok {
				uid, gid = s.UID, s.GID
			}
			if pi.Type == "link" {
				if pi.LinkTarget, err = cl.ReadLink(p); err != nil {
					return fmt.Errorf("host %s: readlink %s: %w", c.name, p, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if pi.Exists {
			pi.Owner, pi.Group = c.idNames(ctx, uid, gid)
		}
		return pi, nil
	}
	// stat(1): type, mode in hex, size, mtime, owner, group; then the link target.
	argv := []string{"stat", "-c", "%F|%f|%s|%Y|%U|%G", "--", p}
	if follow {
		argv = []string{"stat", "-L", "-c", "%F|%f|%s|%Y|%U|%G", "--", p}
	}
	res, err := f.run(ctx, "stat "+p, nil, argv...)
	if errors.Is(err, fs.ErrNotExist) {
		return &PathInfo{Path: p}, nil
	}
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSpace(string(res.Stdout)), "|")
	if len(parts) != 6 {
		return nil, fmt.Errorf("stat %s: unexpected output %q", p, res.Stdout)
	}
	raw, _ := strconv.ParseUint(parts[1], 16, 32)
	size, _ := strconv.ParseInt(parts[2], 10, 64)
	mt, _ := strconv.ParseInt(parts[3], 10, 64)
	pi := &PathInfo{Path: p, Exists: true, Mode: uint32(raw) & 0o7777, Size: size, ModTime: time.Unix(mt, 0), Owner: parts[4], Group: parts[5]}
	switch {
	case strings.Contains(parts[0], "symbolic link"):
		pi.Type = "link"
		if r, err := f.run(ctx, "readlink "+p, nil, "readlink", "--", p); err == nil {
			pi.LinkTarget = strings.TrimSuffix(string(r.Stdout), "\n")
		}
	case strings.Contains(parts[0], "directory"):
		pi.Type = "directory"
	case strings.Contains(parts[0], "regular"):
		pi.Type = "file"
	default:
		pi.Type = "other"
	}
	return pi, nil
}

func infoFrom(p string, st fs.FileInfo) *PathInfo {
	pi := &PathInfo{Path: p, Exists: true, Size: st.Size(), ModTime: st.ModTime(), Mode: UnixBits(st.Mode())}
	switch m := st.Mode(); {
	case m&fs.ModeSymlink != 0:
		pi.Type = "link"
	case m.IsDir():
		pi.Type = "directory"
	case m.IsRegular():
		pi.Type = "file"
	default:
		pi.Type = "other"
	}
	return pi
}

// MkdirAll creates the directory p and its missing parents (mode 0755 as the umask allows,
// as mkdir -p does); an existing directory is no error.
func (f Files) MkdirAll(ctx context.Context, p string) error {
	switch {
	case f.local():
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", p, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, "mkdir "+p, func(cl *sftp.Client) error {
			if err := cl.MkdirAll(p); err != nil {
				return fmt.Errorf("host %s: mkdir %s: %w", c.name, p, err)
			}
			return nil
		})
	}
	_, err := f.run(ctx, "mkdir "+p, nil, "mkdir", "-p", "--", p)
	return err
}

// Remove removes p (a file, a link, or with recursive a whole directory); a missing path is no
// error.
func (f Files) Remove(ctx context.Context, p string, recursive bool) error {
	switch {
	case f.local():
		rm := os.Remove
		if recursive {
			rm = os.RemoveAll
		}
		if err := rm(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, "remove "+p, func(cl *sftp.Client) error {
			rm := cl.Remove
			if recursive {
				rm = cl.RemoveAll
			}
			if err := rm(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("host %s: remove %s: %w", c.name, p, err)
			}
			return nil
		})
	}
	flag := "-f"
	if recursive {
		flag = "-rf"
	}
	_, err := f.run(ctx, "remove "+p, nil, "rm", flag, "--", p)
	return err
}

// Symlink makes link a symbolic link to target (as written: relative targets stay relative).
// An existing link is replaced atomically (a new link renamed over it).
func (f Files) Symlink(ctx context.Context, target, link string) error {
	return f.link(ctx, target, link, true)
}

// Hardlink makes link a hard link to the file target, replacing an existing link atomically.
func (f Files) Hardlink(ctx context.Context, target, link string) error {
	return f.link(ctx, target, link, false)
}

func (f Files) link(ctx context.Context, target, link string, sym bool) error {
	tmp := path.Join(path.Dir(link), "."+path.Base(link)+".omsbook-"+randomSuffix())
	what := "link " + link
	switch {
	case f.local():
		mk := os.Link
		if sym {
			mk = os.Symlink
		}
		if err := mk(target, tmp); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := os.Rename(tmp, link); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, what, func(cl *sftp.Client) error {
			// sftp's link requests take (target, new name), as os.Symlink does.
			mk := cl.Link
			if sym {
				mk = cl.Symlink
			}
			if err := mk(target, tmp); err != nil {
				return fmt.Errorf("host %s: %s: %w", c.name, what, err)
			}
			if err := cl.PosixRename(tmp, link); err != nil {
				_ = cl.Remove(tmp)
				return fmt.Errorf("host %s: %s: %w", c.name, what, err)
			}
			return nil
		})
	}
	flag := "-T"
	if sym {
		flag = "-sT"
	}
	if _, err := f.run(ctx, what, nil, "ln", flag, "--", target, tmp); err != nil {
		return err
	}
	if _, err := f.run(ctx, what, nil, "mv", "-Tf", "--", tmp, link); err != nil {
		_ = f.Remove(ctx, tmp, false)
		return err
	}
	return nil
}

// Touch sets the access and modification times of the existing path p to now.
func (f Files) Touch(ctx context.Context, p string) error {
	now := time.Now()
	switch {
	case f.local():
		if err := os.Chtimes(p, now, now); err != nil {
			return fmt.Errorf("touch %s: %w", p, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, "touch "+p, func(cl *sftp.Client) error {
			if err := cl.Chtimes(p, now, now); err != nil {
				return fmt.Errorf("host %s: touch %s: %w", c.name, p, err)
			}
			return nil
		})
	}
	_, err := f.run(ctx, "touch "+p, nil, "touch", "-c", "--", p)
	return err
}

// RealPath resolves every symbolic link in p (as readlink -f: a missing final element is
// allowed).
func (f Files) RealPath(ctx context.Context, p string) (string, error) {
	if f.local() {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r, nil
		}
	}
	res, err := f.run(ctx, "resolve "+p, nil, "readlink", "-f", "--", p)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(res.Stdout), "\n"), nil
}

// Rename moves oldp to newp, replacing newp.
func (f Files) Rename(ctx context.Context, oldp, newp string) error {
	switch {
	case f.local():
		if err := os.Rename(oldp, newp); err != nil {
			return fmt.Errorf("rename %s: %w", oldp, err)
		}
		return nil
	case f.sshConn() != nil:
		c := f.sshConn()
		return c.withSFTP(ctx, "rename "+oldp, func(cl *sftp.Client) error {
			if err := cl.PosixRename(oldp, newp); err != nil {
				return fmt.Errorf("host %s: rename %s: %w", c.name, oldp, err)
			}
			return nil
		})
	}
	_, err := f.run(ctx, "rename "+oldp, nil, "mv", "-Tf", "--", oldp, newp)
	return err
}

// SameFile reports whether a and b are the same file (device and inode), following links.
func (f Files) SameFile(ctx context.Context, a, b string) (bool, error) {
	if f.local() {
		sa, err := os.Stat(a)
		if err != nil {
			return false, nil
		}
		sb, err := os.Stat(b)
		if err != nil {
			return false, nil
		}
		return os.SameFile(sa, sb), nil
	}
	res, err := f.run(ctx, "stat "+a, nil, "stat", "-L", "-c", "%d:%i", "--", a, b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ids := strings.Fields(string(res.Stdout))
	return len(ids) == 2 && ids[0] == ids[1], nil
}

// Tree lists root and everything below it (not following links), root first.
func (f Files) Tree(ctx context.Context, root string) ([]PathInfo, error) {
	if f.local() {
		var out []PathInfo
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			pi, err := f.Lstat(ctx, p)
			if err != nil {
				return err
			}
			out = append(out, *pi)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", root, err)
		}
		return out, nil
	}
	res, err := f.run(ctx, "list "+root, nil, "find", root, "-printf", `%y %m %s %T@ %u %g %p\0%l\0`)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(string(res.Stdout), "\x00")
	var out []PathInfo
	for i := 0; i+1 < len(parts); i += 2 {
		fields := strings.SplitN(parts[i], " ", 7)
		if len(fields) != 7 {
			return nil, fmt.Errorf("list %s: unexpected output %q", root, parts[i])
		}
		mode, _ := strconv.ParseUint(fields[1], 8, 32)
		size, _ := strconv.ParseInt(fields[2], 10, 64)
		secs, _ := strconv.ParseFloat(fields[3], 64)
		pi := PathInfo{Path: fields[6], Exists: true, Mode: uint32(mode), Size: size, ModTime: time.Unix(int64(secs), 0), Owner: fields[4], Group: fields[5]}
		switch fields[0] {
		case "f":
			pi.Type = "file"
		case "d":
			pi.Type = "directory"
		case "l":
			pi.Type, pi.LinkTarget = "link", parts[i+1]
		default:
			pi.Type = "other"
		}
		out = append(out, pi)
	}
	return out, nil
}

// TempFile creates an empty file with a unique name in dir (mode 0600) and returns its path.
func (f Files) TempFile(ctx context.Context, dir, prefix string) (string, error) {
	p := path.Join(dir, "."+prefix+".omsbook-"+randomSuffix())
	if err := f.WriteFileAtomic(ctx, p, bytes.NewReader(nil), 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// FileModeOf turns Unix permission bits ("4755" as 0o4755) into an fs.FileMode.
func FileModeOf(n uint32) fs.FileMode {
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// UnixBits turns an fs.FileMode's permissions into Unix bits ("4755" as 0o4755).
func UnixBits(m fs.FileMode) uint32 {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return n
}
