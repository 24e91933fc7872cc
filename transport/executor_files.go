package transport

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"syscall"

	"github.com/omsbook/omsbook/transport/execproto"
)

// File operations through the host's executor: each is one request on the open stream, done
// in the executor's process (no command is started), as the login user. Files uses them
// where it would use sftp or a command without become.

// viaExecutor returns the ssh connection and its running executor when f's operations can go
// through it (no become), else nils.
func (f Files) viaExecutor() (*SSHConn, *executorClient) {
	c := f.sshConn()
	if c == nil {
		return nil, nil
	}
	if x := c.executor(); x != nil {
		return c, x
	}
	return nil, nil
}

// op runs one file request as an operation of the connection (Close waits for it).
func (c *SSHConn) op(ctx context.Context, x *executorClient, req execproto.FileRequest, in io.Reader, out io.Writer) (*execproto.FileResult, error) {
	ctx, done, err := c.operation(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return x.fileOp(ctx, c, req, in, out)
}

// operation registers an operation (begin) and merges ctx with the connection's life
// (execContext); done ends both.
func (c *SSHConn) operation(ctx context.Context) (context.Context, func(), error) {
	end, err := c.begin()
	if err != nil {
		return nil, nil, err
	}
	ctx, stop := c.execContext(ctx)
	return ctx, func() { stop(); end() }, nil
}

func (c *SSHConn) execGet(ctx context.Context, x *executorClient, src string, w io.Writer) error {
	_, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpRead, Path: src}, nil, w)
	return err
}

func (c *SSHConn) execStat(ctx context.Context, x *executorClient, p string) (*FileInfo, error) {
	res, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpStat, Path: p, Follow: true}, nil, nil)
	if err != nil {
		return nil, err
	}
	if res.Info == nil || !res.Info.Exists {
		return nil, &execFileError{msg: fmt.Sprintf("host %s: stat %s: file does not exist", c.name, p), errno: syscall.ENOENT}
	}
	pi := pathInfo(p, res.Info)
	return &FileInfo{Path: p, Exists: true, IsDir: pi.Type == "directory", Size: pi.Size, Mode: fs.FileMode(pi.Mode & 0o777),
		ModTime: pi.ModTime, Owner: pi.Owner, Group: pi.Group}, nil
}

func (c *SSHConn) execPathInfo(ctx context.Context, x *executorClient, p string, follow bool) (*PathInfo, error) {
	res, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpStat, Path: p, Follow: follow}, nil, nil)
	if err != nil {
		return nil, err
	}
	return pathInfo(p, res.Info), nil
}

func (c *SSHConn) execChmod(ctx context.Context, x *executorClient, p string, mode uint32) error {
	_, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpChmod, Path: p, Mode: mode}, nil, nil)
	return err
}

func (c *SSHConn) execChown(ctx context.Context, x *executorClient, p, owner, group string, follow, recurse bool) error {
	_, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpChown, Path: p, Owner: owner, Group: group, Follow: follow, Recurse: recurse}, nil, nil)
	return err
}

func (c *SSHConn) execChecksum(ctx context.Context, x *executorClient, p, algo string) (string, error) {
	res, err := c.op(ctx, x, execproto.FileRequest{Op: execproto.OpChecksum, Path: p, Algo: algo}, nil, nil)
	if err != nil {
		return "", err
	}
	return res.Sum, nil
}
