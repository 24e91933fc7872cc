package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Local runs commands and moves files on the controller.
type Local struct{ Name string }

// NewLocal returns a connection to the controller itself.
func NewLocal(name string) *Local { return &Local{Name: name} }

// Local reports true: this connection is the controller.
func (l *Local) Local() bool { return true }

// Close does nothing: a local connection holds no resources.
func (l *Local) Close() error { return nil }

// Exec runs cmd in its own process group, so that cancelling ctx kills the command and every
// process it started. A become command runs through sudo (see becomeGate).
func (l *Local) Exec(ctx context.Context, cmd *Cmd) (*ExecResult, error) {
	var gate *becomeGate
	if cmd.Become {
		gate = newBecomeGate(cmd, l.Name)
	}
	argv, err := buildArgv(cmd, gate)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if gate != nil {
		gate.cancel = cancel
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = cmd.Dir
	if len(cmd.Env) > 0 {
		c.Env = os.Environ()
		for k, v := range cmd.Env {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	outW, errW := teeWriter(&stdout, cmd.Stdout), teeWriter(&stderr, cmd.Stderr)
	// sudo's prompt and start marker come on stderr, or with it on the terminal.
	var sudoOut *becomeFilter
	switch {
	case gate != nil && cmd.PTY:
		sudoOut = gate.filter(outW.Write)
		outW = sudoOut
	case gate != nil:
		sudoOut = gate.filter(errW.Write)
		errW = sudoOut
	}
	c.Stdout, c.Stderr = outW, errW
	ended := make(chan struct{})
	var ptmx *os.File
	if cmd.PTY {
		// Start under a pseudo-terminal: it becomes the controlling terminal of a new session
		// and the command's stdin, stdout and stderr (pty only assigns it to nil ones), so that
		// prompts that need a terminal appear; input and output travel through its master side.
		in, out := cmd.Stdin, c.Stdout
		c.Stdin, c.Stdout, c.Stderr = nil, nil, nil
		ptmx, err = pty.StartWithAttrs(c, nil, &syscall.SysProcAttr{Setsid: true, Setctty: true})
		if err != nil {
			return nil, fmt.Errorf("start %q under a pty: %w", argv[0], err)
		}
		defer ptmx.Close()
		switch {
		case gate != nil:
			// The terminal stays open for the output: input ends with ^D, not a close.
			go gate.feed(ctx, ptmx, func() {}, in, ended)
		case in != nil:
			go func() { _, _ = io.Copy(ptmx, in) }()
		}
		copied := make(chan struct{})
		go func() {
			_, _ = io.Copy(out, ptmx) // ends with EIO once the command exits
			close(copied)
		}()
		err = waitKill(ctx, c, copied)
	} else {
		var stdin io.WriteCloser
		if gate != nil {
			if stdin, err = c.StdinPipe(); err != nil {
				return nil, fmt.Errorf("start %q: stdin: %w", argv[0], err)
			}
		} else {
			c.Stdin = cmd.Stdin
		}
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			return nil, fmt.Errorf("start %q: %w", argv[0], err)
		}
		if gate != nil {
			go gate.feed(ctx, stdin, func() { stdin.Close() }, cmd.Stdin, ended)
		}
		err = waitKill(ctx, c, nil)
	}
	close(ended)
	if sudoOut != nil {
		sudoOut.flush()
	}
	res := &ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctxErr := ctx.Err(); ctxErr != nil {
		res.RC, res.Signal = -1, "KILL"
		if gate != nil {
			if ferr := gate.failure(); ferr != nil {
				return res, ferr
			}
		}
		return res, fmt.Errorf("command killed: %w", ctxErr)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.RC = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// Named as the ssh transport names it (sshd's exit-signal): "TERM", "KILL".
			res.RC, res.Signal = -1, strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")
		}
	default:
		return res, fmt.Errorf("run %q: %w", argv[0], err)
	}
	if gate != nil {
		if ferr := gate.finish(res.RC); ferr != nil {
			return res, ferr
		}
	}
	return res, nil
}

// waitKill waits for c, killing its whole process group when ctx ends first.
func waitKill(ctx context.Context, c *exec.Cmd, outputDone <-chan struct{}) error {
	done := make(chan error, 1)
	go func() {
		if outputDone != nil {
			select {
			case <-outputDone:
			case <-ctx.Done():
			}
		}
		done <- c.Wait()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return ctx.Err()
		}
	}
}

func teeWriter(keep *bytes.Buffer, live io.Writer) io.Writer {
	if live == nil {
		return keep
	}
	return io.MultiWriter(keep, live)
}

// buildArgv turns a Cmd into the argv to execute, wrapped in sudo by gate for Become.
func buildArgv(cmd *Cmd, gate *becomeGate) ([]string, error) {
	var argv []string
	switch {
	case len(cmd.Argv) > 0 && cmd.Shell != "":
		return nil, errors.New("command has both argv and a shell line")
	case len(cmd.Argv) > 0:
		argv = cmd.Argv
	case cmd.Shell != "":
		argv = []string{"/bin/sh", "-c", cmd.Shell}
	default:
		return nil, errors.New("empty command")
	}
	if gate != nil {
		argv = gate.wrapArgv(argv)
	}
	return argv, nil
}

// Put writes r to dest through a temporary file in the same directory, renamed into place
// (see CreateTemp: it is named for ctx's run, and removed when the write fails or ctx ends).
func (l *Local) Put(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error {
	dir := filepath.Dir(dest)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("put %s: %w", dest, err)
	}
	defer root.Close()
	name, tmp, err := CreateTemp(ctx, root, filepath.Base(dest))
	if err != nil {
		return fmt.Errorf("put %s: %w", dest, err)
	}
	defer root.Remove(name)
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", dest, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", dest, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", dest, err)
	}
	if err := os.Rename(filepath.Join(dir, name), dest); err != nil {
		return fmt.Errorf("put %s: %w", dest, err)
	}
	return nil
}

// Get copies the local file src to w.
func (l *Local) Get(ctx context.Context, src string, w io.Writer) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("get %s: %w", src, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("get %s: %w", src, err)
	}
	return nil
}

// Stat describes a local path.
func (l *Local) Stat(ctx context.Context, path string) (*FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	fi := &FileInfo{Path: path, Exists: true, IsDir: st.IsDir(), Size: st.Size(), Mode: st.Mode().Perm(), ModTime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.Owner = lookupName(strconv.Itoa(int(sys.Uid)), func(id string) (string, error) {
			u, err := user.LookupId(id)
			if err != nil {
				return "", err
			}
			return u.Username, nil
		})
		fi.Group = lookupName(strconv.Itoa(int(sys.Gid)), func(id string) (string, error) {
			g, err := user.LookupGroupId(id)
			if err != nil {
				return "", err
			}
			return g.Name, nil
		})
	}
	return fi, nil
}

func lookupName(id string, lookup func(string) (string, error)) string {
	if name, err := lookup(id); err == nil {
		return name
	}
	return id
}

// ctxReader stops a copy once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
