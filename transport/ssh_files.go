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
// written), then chmod and an atomic rename over dest.
func (c *SSHConn) Put(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error {
	what := "put " + dest
	return c.withSFTP(ctx, what, func(cl *sftp.Client) error {
		tmp := path.Join(path.Dir(dest), "."+path.Base(dest)+".omsbook-"+randomSuffix())
		f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return fmt.Errorf("host %s: %s: create %s: %w", c.name, what, tmp, err)
		}
		ok := false
		defer func() {
			if !ok {
				f.Close()
				_ = cl.Remove(tmp)
			}
		}()
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		if _, err := f.ReadFromWithConcurrency(ctxReader{ctx, r}, 0); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		if err := f.Chmod(mode & fs.ModePerm); err != nil {
			return fmt.Errorf("host %s: %s: chmod: %w", c.name, what, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
		if err := cl.PosixRename(tmp, dest); err != nil {
			return fmt.Errorf("host %s: %s: rename into place: %w", c.name, what, err)
		}
		ok = true
		return nil
	})
}

// Get streams the file src on the host to w.
func (c *SSHConn) Get(ctx context.Context, src string, w io.Writer) error {
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
