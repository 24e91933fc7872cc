package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/omsbook/omsbook/transport/execproto"
)

// executorClient speaks the executor protocol over one session: many requests at once, each
// a few frames on the open stream, so that a command costs one round trip, not a session's
// three.
type executorClient struct {
	host  string
	sess  *ssh.Session
	w     *execproto.Writer
	hello execproto.HelloMsg

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]*call

	dead    chan struct{} // closed when the stream has ended
	deadErr error
}

// call is one request in flight: frames for it go to handle, run by the reading goroutine.
type call struct {
	handle func(*call, execproto.Frame)
	acks   chan int
	done   chan struct{} // closed by finish, on the request's last frame
	once   sync.Once
}

// finish marks the call done; the reading goroutine delivers nothing more to it.
func (c *call) finish() { c.once.Do(func() { close(c.done) }) }

func newExecutorClient(host string, sess *ssh.Session, stdin io.WriteCloser, r *execproto.Reader, hello execproto.HelloMsg) *executorClient {
	x := &executorClient{host: host, sess: sess, w: execproto.NewWriter(stdin), hello: hello,
		pending: map[uint32]*call{}, dead: make(chan struct{})}
	go x.read(r)
	return x
}

// read dispatches frames to their calls until the stream ends.
func (x *executorClient) read(r *execproto.Reader) {
	var err error
	for {
		var f execproto.Frame
		if f, err = r.Next(); err != nil {
			break
		}
		x.mu.Lock()
		c := x.pending[f.ID]
		x.mu.Unlock()
		if c == nil {
			continue
		}
		if f.Type == execproto.Ack {
			if n, aerr := execproto.AckCount(f.Payload); aerr == nil {
				select {
				case c.acks <- n:
				default: // more acks than chunks sent: a confused executor; ignore
				}
			}
			continue
		}
		c.handle(c, f)
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = errors.New("the executor ended")
	}
	x.deadErr = err
	close(x.dead)
}

func (x *executorClient) alive() bool {
	select {
	case <-x.dead:
		return false
	default:
		return true
	}
}

// open registers a call and sends its first frame.
func (x *executorClient) open(t execproto.Type, v any, handle func(*call, execproto.Frame)) (uint32, *call, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	c := &call{handle: handle, acks: make(chan int, execproto.Window/execproto.ChunkSize+2), done: make(chan struct{})}
	x.mu.Lock()
	x.nextID++
	id := x.nextID
	x.pending[id] = c
	x.mu.Unlock()
	if err := x.w.Write(t, id, body); err != nil {
		x.forget(id)
		return 0, nil, x.lostErr(err)
	}
	return id, c, nil
}

func (x *executorClient) forget(id uint32) {
	x.mu.Lock()
	delete(x.pending, id)
	x.mu.Unlock()
}

func (x *executorClient) lostErr(err error) error {
	select {
	case <-x.dead:
		return fmt.Errorf("host %s: executor: %w", x.host, x.deadErr)
	default:
		return fmt.Errorf("host %s: executor: %w", x.host, err)
	}
}

// send streams r as the call's input within the window, then its end. It stops early when
// ctx ends or the call is done; the error is the reader's.
func (x *executorClient) send(ctx context.Context, id uint32, c *call, r io.Reader) error {
	buf := make([]byte, execproto.ChunkSize)
	inFlight := 0
	var rerr error
	for {
		for inFlight+execproto.ChunkSize > execproto.Window {
			select {
			case n := <-c.acks:
				inFlight -= n
			case <-c.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-x.dead:
				return nil
			}
		}
		n, err := r.Read(buf)
		if n > 0 {
			if werr := x.w.Write(execproto.Data, id, buf[:n]); werr != nil {
				return nil
			}
			inFlight += n
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	if rerr == nil {
		_ = x.w.Write(execproto.EOF, id, nil)
	}
	return rerr
}

// cancel asks the executor to end the call and waits for it to, at most grace.
func (x *executorClient) cancel(id uint32, cl *call, grace time.Duration) {
	_ = x.w.Write(execproto.Cancel, id, nil)
	select {
	case <-cl.done:
	case <-x.dead:
	case <-time.After(grace):
	}
}

// exec runs cmd through the executor. Its results and errors are as SSHConn.Exec's over a
// session; ctx's end kills the command's process group on the host.
func (x *executorClient) exec(ctx context.Context, c *SSHConn, cmd *Cmd) (*ExecResult, error) {
	if _, err := remoteCommandLine(cmd, nil); err != nil {
		return nil, err // the same checks as a session's: argv or shell, variable names
	}
	req := execproto.ExecRequest{Argv: cmd.Argv, Shell: cmd.Shell, Dir: cmd.Dir, Env: cmd.Env, Stdin: cmd.Stdin != nil}
	if dl, ok := ctx.Deadline(); ok {
		// The host kills the command at its deadline even if this end is gone by then.
		req.Timeout = max(time.Until(dl)+killTimeout, time.Second)
	}
	var stdout, stderr lockedBuffer
	outW := teeWriter(&stdout.buf, cmd.Stdout)
	errW := teeWriter(&stderr.buf, cmd.Stderr)
	var status execproto.ExitStatus
	var badExit error
	handle := func(cl *call, f execproto.Frame) {
		switch f.Type {
		case execproto.Stdout:
			stdout.mu.Lock()
			_, _ = outW.Write(f.Payload)
			stdout.mu.Unlock()
		case execproto.Stderr:
			stderr.mu.Lock()
			_, _ = errW.Write(f.Payload)
			stderr.mu.Unlock()
		case execproto.Exit:
			if err := json.Unmarshal(f.Payload, &status); err != nil {
				badExit = err
			}
			x.forget(f.ID)
			cl.finish()
		}
	}
	id, cl, err := x.open(execproto.Exec, req, handle)
	if err != nil {
		return nil, err
	}
	if cmd.Stdin != nil {
		go func() { _ = x.send(ctx, id, cl, ctxReader{ctx, cmd.Stdin}) }()
	}
	result := func() *ExecResult { return snapshot(&stdout, &stderr) }
	select {
	case <-cl.done:
	case <-ctx.Done():
		x.cancel(id, cl, killTimeout+reapTimeout)
		res := result()
		res.RC, res.Signal = -1, "KILL"
		if c.ctx.Err() != nil {
			return res, fmt.Errorf("host %s: command killed: connection closed", c.name)
		}
		return res, fmt.Errorf("host %s: command killed: %w", c.name, ctx.Err())
	case <-x.dead:
		x.forget(id)
		return result(), c.executorLost(x, "command")
	}
	res := result()
	switch {
	case badExit != nil:
		return res, fmt.Errorf("host %s: command: bad exit status from the executor: %w", c.name, badExit)
	case status.Error != "":
		return res, fmt.Errorf("host %s: run command: %s", c.name, status.Error)
	}
	res.RC, res.Signal = status.RC, status.Signal
	return res, nil
}

// fileOp runs one file operation: in, when set, is sent as its input (a write); Chunk frames
// (a read) go to out. An error of out cancels the operation and is returned as it is.
func (x *executorClient) fileOp(ctx context.Context, c *SSHConn, req execproto.FileRequest, in io.Reader, out io.Writer) (*execproto.FileResult, error) {
	var res execproto.FileResult
	var outErr, badResult error
	handle := func(cl *call, f execproto.Frame) {
		switch f.Type {
		case execproto.Chunk:
			if outErr == nil && out != nil {
				if _, err := out.Write(f.Payload); err != nil {
					outErr = err
					_ = x.w.Write(execproto.Cancel, f.ID, nil)
				}
			}
		case execproto.Result:
			if err := json.Unmarshal(f.Payload, &res); err != nil {
				badResult = err
			}
			x.forget(f.ID)
			cl.finish()
		}
	}
	id, cl, err := x.open(execproto.File, req, handle)
	if err != nil {
		return nil, err
	}
	sendErr := make(chan error, 1)
	if in != nil {
		go func() { sendErr <- x.send(ctx, id, cl, ctxReader{ctx, in}) }()
	} else {
		sendErr <- nil
	}
	what := req.Op + " " + req.Path
	switch req.Op {
	case execproto.OpWrite:
		what = "put " + req.Path
	case execproto.OpRead:
		what = "get " + req.Path
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		x.cancel(id, cl, reapTimeout)
		return nil, fmt.Errorf("host %s: %s: %w", c.name, what, ctx.Err())
	case <-x.dead:
		x.forget(id)
		return nil, c.executorLost(x, what)
	}
	if in != nil {
		if err := <-sendErr; err != nil {
			return nil, fmt.Errorf("host %s: %s: %w", c.name, what, err)
		}
	}
	switch {
	case outErr != nil:
		return nil, outErr
	case badResult != nil:
		return nil, fmt.Errorf("host %s: %s: bad result from the executor: %w", c.name, what, badResult)
	case res.TooBig:
		return nil, fmt.Errorf("host %s: %s: %w", c.name, what, ErrTooBig)
	case res.Error != "" && res.Total > 0:
		return nil, spaceError(c.name, what, req.Path, &res)
	case res.Error != "":
		return nil, &execFileError{msg: fmt.Sprintf("host %s: %s: %s", c.name, what, res.Error), errno: errnoOf(res.Errno)}
	}
	return &res, nil
}

// spaceError says a write ran out of space, and how much the filesystem has left.
func spaceError(host, what, p string, res *execproto.FileResult) error {
	dir := path.Dir(p)
	msg := fmt.Sprintf("no space left on device: %s free of %s on the filesystem of %s", sizeText(res.Free), sizeText(res.Total), dir)
	if res.Inodes {
		msg = "no space left on device: no free inodes on the filesystem of " + dir
	}
	return &execFileError{msg: fmt.Sprintf("host %s: %s: %s: %s", host, what, msg, res.Error), errno: errnoOf(res.Errno)}
}

// execFileError is a file operation the host refused; it unwraps to the system error, so that
// errors.Is(err, fs.ErrNotExist) and syscall.ENOSPC work as for sftp's.
type execFileError struct {
	msg   string
	errno error
}

func (e *execFileError) Error() string { return e.msg }
func (e *execFileError) Unwrap() error { return e.errno }

func errnoOf(name string) error {
	switch name {
	case "ENOENT":
		return syscall.ENOENT
	case "EACCES":
		return syscall.EACCES
	case "EPERM":
		return syscall.EPERM
	case "ENOSPC":
		return syscall.ENOSPC
	case "EEXIST":
		return syscall.EEXIST
	case "ENOTDIR":
		return syscall.ENOTDIR
	case "EISDIR":
		return syscall.EISDIR
	case "EROFS":
		return syscall.EROFS
	case "EDQUOT":
		return syscall.EDQUOT
	}
	return nil
}

// pathInfo turns the executor's description of p into a PathInfo.
func pathInfo(p string, fi *execproto.FileInfo) *PathInfo {
	if fi == nil || !fi.Exists {
		return &PathInfo{Path: p}
	}
	return &PathInfo{Path: p, Exists: true, Type: fi.Type, Mode: fi.Mode, Size: fi.Size, ModTime: time.Unix(0, fi.ModTime),
		Owner: fi.Owner, Group: fi.Group, LinkTarget: fi.LinkTarget}
}

// executorLost is the error of a request whose executor stream ended: the connection's loss
// when that is why (its end may lag the stream's by a moment), else the executor's end.
func (c *SSHConn) executorLost(x *executorClient, what string) error {
	select {
	case <-c.dead:
		return c.unreachable(what, c.deadErr)
	case <-time.After(500 * time.Millisecond):
	}
	return fmt.Errorf("host %s: %s: %w", c.name, what, x.deadErr)
}
