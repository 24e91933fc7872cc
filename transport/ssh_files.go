package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkg/sftp"
)

// sftpOptions make large copies fast: many requests in flight per file, both ways.
var sftpOptions = []sftp.ClientOption{
	sftp.UseConcurrentWrites(true),
	sftp.UseConcurrentReads(true),
	sftp.MaxConcurrentRequestsPerFile(64),
}

// sftpClient returns the connection's sftp client, starting it on first use.
func (c *SSHConn) sftpClient(ctx context.Context) (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	if c.ctx.Err() != nil {
		return nil, fmt.Errorf("host %s: connection is closed", c.name)
	}
	type res struct {
		cl  *sftp.Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		cl, err := sftp.NewClient(c.client, sftpOptions...)
		ch <- res{cl, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if c.lost(r.err) {
				return nil, c.unreachable("start sftp", r.err)
			}
			return nil, fmt.Errorf("host %s: start sftp: %w (does sshd have the sftp subsystem?)", c.name, r.err)
		}
		c.sftp = r.cl
		return r.cl, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.cl != nil {
				r.cl.Close()
			}
		}()
		return nil, ctx.Err()
	case <-c.dead:
		return nil, c.unreachable("start sftp", c.deadErr)
	}
}

// dropSFTP closes cl and forgets it, so the next call starts a fresh one. It ends any
// request stuck on it.
func (c *SSHConn) dropSFTP(cl *sftp.Client) {
	c.sftpMu.Lock()
	if c.sftp == cl {
		c.sftp = nil
	}
	c.sftpMu.Unlock()
	cl.Close()
}

// withSFTP runs op with the sftp client. When ctx ends first, op gets a moment to stop by
// itself (its reader or writer checks ctx, and a Put removes its temporary file); only if it
// does not is the client dropped, which ends every request on it, so the call never hangs.
func (c *SSHConn) withSFTP(ctx context.Context, what string, op func(*sftp.Client) error) error {
	end, err := c.begin()
	if err != nil {
		return err
	}
	defer end()
	ctx, stop := c.execContext(ctx)
	defer stop()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("host %s: %s: %w", c.name, what, err)
	}
	cl, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- op(cl) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(sftpStopGrace):
			c.dropSFTP(cl)
			select {
			case <-done:
			case <-time.After(reapTimeout):
			}
		}
		return fmt.Errorf("host %s: %s: %w", c.name, what, ctx.Err())
	}
	if err != nil && (c.isDead() || errors.Is(err, io.EOF) && c.lost(err)) {
		return c.unreachable(what, err)
	}
	return err
}

// sftpStopGrace is how long a cancelled transfer may take to stop by itself before the sftp
// client (shared by the connection's other transfers) is dropped.
const sftpStopGrace = 2 * time.Second

// Put streams r to dest: into a temporary file in the same directory (mode 0600 while being
// written, named for ctx's run: see TempBase), then chmod and an atomic rename over dest. The
// temporary files of dest that other runs left behind are removed first (TempDebris). When
// the transfer fails or ctx ends, the temporary file is removed: by the transfer itself, or,
// when its sftp client had to be dropped, over a fresh one.
//
// Put goes over sftp also when the host has an executor: the names of its temporary files
// carry the run, and the next run that writes dest finds and removes what a killed one left
// there; one sftp session per connection streams as fast as the executor would.
func (c *SSHConn) Put(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error {
	return c.putSFTP(ctx, r, dest, mode)
}

// putSFTP is Put over sftp.
func (c *SSHConn) putSFTP(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error {
	what := "put " + dest
	// Held until the clean-up below is done, so that Close waits for it.
	end, err := c.begin()
	if err != nil {
		return err
	}
	defer end()
	tmp := TempPath(ctx, dest)
	var exists atomic.Bool // the temporary file is on the host
	err = c.withSFTP(ctx, what, func(cl *sftp.Client) error {
		f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return fmt.Errorf("host %s: %s: create %s: %w", c.name, what, tmp, c.whyWriteFailed(ctx, cl, path.Dir(dest), err))
		}
		exists.Store(true)
		ok := false
		defer func() {
			if !ok {
				f.Close()
				if err := cl.Remove(tmp); err == nil || errors.Is(err, fs.ErrNotExist) {
					exists.Store(false)
				}
			}
		}()
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		removeSFTPDebris(ctx, cl, f, dest)
		if _, err := f.ReadFromWithConcurrency(ctxReader{ctx, r}, 0); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, c.whyWriteFailed(ctx, cl, path.Dir(dest), err))
		}
		if err := f.Chmod(mode & fs.ModePerm); err != nil {
			return fmt.Errorf("host %s: %s: chmod: %w", c.name, what, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, c.whyWriteFailed(ctx, cl, path.Dir(dest), err))
		}
		if err := cl.PosixRename(tmp, dest); err != nil {
			return fmt.Errorf("host %s: %s: rename into place: %w", c.name, what, err)
		}
		exists.Store(false)
		ok = true
		return nil
	})
	if exists.Load() {
		c.removeLeftover(tmp)
	}
	return err
}

// removeSFTPDebris removes the temporary files of dest that other runs left beside it (see
// TempDebris); f is the temporary file just created there, whose time is the host's now.
func removeSFTPDebris(ctx context.Context, cl *sftp.Client, f *sftp.File, dest string) {
	st, err := f.Stat()
	if err != nil {
		return
	}
	infos, err := cl.ReadDir(path.Dir(dest))
	if err != nil {
		return
	}
	for _, name := range TempDebris(ctx, infos, path.Base(dest), st.ModTime()) {
		_ = cl.Remove(path.Join(path.Dir(dest), name))
	}
}

// leftoverTimeout bounds the removal of a temporary file after its transfer ended.
const leftoverTimeout = 1500 * time.Millisecond

// removeLeftover removes the temporary file p that a failed or cancelled Put could not remove
// itself (its sftp client was dropped), over a fresh sftp session and within a short time of
// its own, since the task's context may have ended.
func (c *SSHConn) removeLeftover(p string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl, err := sftp.NewClient(c.client)
		if err != nil {
			return
		}
		defer cl.Close()
		_ = cl.Remove(p)
	}()
	select {
	case <-done:
	case <-time.After(leftoverTimeout):
	}
}

// whyWriteFailed looks for the cause of a failed write into dir, which sftp reports as a
// bare SSH_FX_FAILURE: when the filesystem of dir has (next to) no free space or inodes left,
// the error says so and satisfies errors.Is(err, syscall.ENOSPC). It asks the host with the
// statvfs extension of OpenSSH's sftp server, or with df when the server lacks it. Other
// errors, and those whose cause it cannot tell, are returned as they are.
func (c *SSHConn) whyWriteFailed(ctx context.Context, cl *sftp.Client, dir string, err error) error {
	var status *sftp.StatusError
	if ctx.Err() != nil || !errors.As(err, &status) || status.FxCode() != sftp.ErrSSHFxFailure {
		return err
	}
	var free, size, inodes int64 = -1, -1, -1
	if st, serr := cl.StatVFS(dir); serr == nil {
		free, size = int64(min(st.Bavail, st.Bfree)*st.Frsize), int64(st.Blocks*st.Frsize)
		if st.Files > 0 {
			inodes = int64(st.Favail)
		}
	} else if free, size = c.dfFree(ctx, dir); free < 0 {
		return err
	}
	switch {
	case inodes == 0:
		return &wrappedErrors{msg: fmt.Sprintf("no space left on device: no free inodes on the filesystem of %s: %v", dir, err), errs: []error{syscall.ENOSPC, err}}
	case free >= 0 && free < lowSpace:
		return &wrappedErrors{msg: fmt.Sprintf("no space left on device: %s free of %s on the filesystem of %s: %v", sizeText(free), sizeText(size), dir, err),
			errs: []error{syscall.ENOSPC, err}}
	}
	return err
}

// lowSpace is the free space below which a failed write is put down to a full filesystem.
const lowSpace = 1 << 20

// dfFree asks df on the host for the free and total bytes of the filesystem of dir; -1 when
// it cannot tell.
func (c *SSHConn) dfFree(ctx context.Context, dir string) (free, size int64) {
	res, err := c.Exec(ctx, &Cmd{Argv: []string{"df", "-Pk", dir}})
	if err != nil || res.RC != 0 {
		return -1, -1
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 {
		return -1, -1
	}
	total, err1 := strconv.ParseInt(f[1], 10, 64)
	avail, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return -1, -1
	}
	return avail << 10, total << 10
}

func sizeText(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// wrappedErrors is an error with a message of its own that unwraps to several causes.
type wrappedErrors struct {
	msg  string
	errs []error
}

func (e *wrappedErrors) Error() string   { return e.msg }
func (e *wrappedErrors) Unwrap() []error { return e.errs }

// Get streams the file src on the host to w.
func (c *SSHConn) Get(ctx context.Context, src string, w io.Writer) error {
	if x := c.executor(); x != nil {
		return c.execGet(ctx, x, src, w)
	}
	what := "get " + src
	return c.withSFTP(ctx, what, func(cl *sftp.Client) error {
		f, err := cl.Open(src)
		if err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		defer f.Close()
		if _, err := f.WriteTo(ctxWriter{ctx, w}); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		return nil
	})
}

// Stat describes p on the host, following symlinks. Owner and group are names when the host
// can tell them, numeric ids otherwise.
func (c *SSHConn) Stat(ctx context.Context, p string) (*FileInfo, error) {
	if x := c.executor(); x != nil {
		return c.execStat(ctx, x, p)
	}
	var fi *FileInfo
	var uid, gid uint32
	err := c.withSFTP(ctx, "stat "+p, func(cl *sftp.Client) error {
		st, err := cl.Stat(p)
		if err != nil {
			return fmt.Errorf("host %s: stat %s: %w", c.name, p, err)
		}
		fi = &FileInfo{Path: p, Exists: true, IsDir: st.IsDir(), Size: st.Size(), Mode: st.Mode().Perm(), ModTime: st.ModTime()}
		if fs, ok := st.Sys().(*sftp.FileStat); ok {
			uid, gid = fs.UID, fs.GID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fi.Owner, fi.Group = c.idNames(ctx, uid, gid)
	return fi, nil
}

// idNames resolves a uid and gid to names on the host, once per connection.
func (c *SSHConn) idNames(ctx context.Context, uid, gid uint32) (string, string) {
	u, g := strconv.FormatUint(uint64(uid), 10), strconv.FormatUint(uint64(gid), 10)
	c.namesMu.Lock()
	owner, okU := c.names["u"+u]
	group, okG := c.names["g"+g]
	c.namesMu.Unlock()
	if okU && okG {
		return owner, group
	}
	owner, group = u, g
	res, err := c.Exec(ctx, &Cmd{Argv: []string{"sh", "-c", `getent passwd "$1" | cut -d: -f1; getent group "$2" | cut -d: -f1`, "sh", u, g}})
	if err != nil || res.RC != 0 {
		return owner, group // not cached: the host may answer next time
	}
	lines := strings.Split(string(res.Stdout), "\n")
	if len(lines) > 0 && lines[0] != "" {
		owner = lines[0]
	}
	if len(lines) > 1 && lines[1] != "" {
		group = lines[1]
	}
	c.namesMu.Lock()
	c.names["u"+u], c.names["g"+g] = owner, group
	c.namesMu.Unlock()
	return owner, group
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ctxWriter stops a copy once its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
