// Package executor is the program omsbook runs on a host to serve many commands and file
// operations over one SSH session: omsbook's own binary, started as `omsbook __executor`
// (Subcommand), speaking the execproto protocol on its standard input and output. It runs
// each command in a session and process group of its own, with separate standard output and
// error, its exit status, environment, working directory and input, and kills the group on
// cancel, on timeout, and when its input (the connection) ends. File operations are done in
// its own process, without starting one.
package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/omsbook/omsbook/transport/execproto"
)

// Subcommand is the hidden argument that makes omsbook (or a test binary that calls
// ServeIfAsked) the executor.
const Subcommand = "__executor"

// ServeIfAsked serves as the executor, then exits, when the program was started with
// Subcommand as its first argument; otherwise it returns at once. Call it first in main (and
// in TestMain of tests that run commands through the executor).
func ServeIfAsked() {
	if len(os.Args) < 2 || os.Args[1] != Subcommand {
		return
	}
	if err := Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "omsbook executor:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve runs the protocol on in and out until in ends; then it kills whatever still runs.
func Serve(in io.Reader, out io.Writer) error {
	s := &server{w: execproto.NewWriter(out), reqs: map[uint32]*request{}}
	if _, err := io.WriteString(out, execproto.Preamble); err != nil {
		return err
	}
	hello, _ := json.Marshal(execproto.HelloMsg{Version: execproto.Version, PID: os.Getpid(), UID: os.Getuid(), Arch: runtime.GOARCH})
	if err := s.w.Write(execproto.Hello, 0, hello); err != nil {
		return err
	}
	r := execproto.NewReader(in)
	var err error
	for {
		var f execproto.Frame
		if f, err = r.Next(); err != nil {
			break
		}
		s.dispatch(f)
	}
	s.shutdown()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

type server struct {
	w    *execproto.Writer
	mu   sync.Mutex
	reqs map[uint32]*request
	wg   sync.WaitGroup
}

// request is one open request: its input queue and, for a command, its process.
type request struct {
	id    uint32
	in    *queue
	abort chan struct{} // closed by Cancel
	once  sync.Once
	ack   func(n int) // acknowledges n bytes of input
}

func (r *request) cancel() { r.once.Do(func() { close(r.abort) }) }

func (s *server) dispatch(f execproto.Frame) {
	switch f.Type {
	case execproto.Exec, execproto.File:
		id := f.ID
		req := &request{id: id, in: newQueue(), abort: make(chan struct{}),
			ack: func(n int) { _ = s.w.Write(execproto.Ack, id, execproto.AckPayload(n)) }}
		s.mu.Lock()
		if _, dup := s.reqs[f.ID]; dup {
			s.mu.Unlock()
			s.fail(f, fmt.Sprintf("request id %d is in use", f.ID))
			return
		}
		s.reqs[f.ID] = req
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(req.id)
			if f.Type == execproto.Exec {
				s.runExec(req, f.Payload)
			} else {
				s.runFile(req, f.Payload)
			}
		}()
	case execproto.Data, execproto.EOF, execproto.Cancel:
		s.mu.Lock()
		req := s.reqs[f.ID]
		s.mu.Unlock()
		if req == nil {
			return // already finished: late input or cancel
		}
		switch f.Type {
		case execproto.Data:
			req.in.push(f.Payload)
		case execproto.EOF:
			req.in.close()
		case execproto.Cancel:
			req.cancel()
			req.in.close()
		}
	}
}

// fail answers a request that cannot start.
func (s *server) fail(f execproto.Frame, msg string) {
	if f.Type == execproto.Exec {
		s.send(execproto.Exit, f.ID, execproto.ExitStatus{RC: -1, Error: msg})
		return
	}
	s.send(execproto.Result, f.ID, execproto.FileResult{Error: msg})
}

func (s *server) forget(id uint32) {
	s.mu.Lock()
	delete(s.reqs, id)
	s.mu.Unlock()
}

func (s *server) send(t execproto.Type, id uint32, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(execproto.ExitStatus{RC: -1, Error: err.Error()})
	}
	_ = s.w.Write(t, id, b)
}

// shutdown kills every command still running (the client is gone) and waits for them.
func (s *server) shutdown() {
	s.mu.Lock()
	for _, r := range s.reqs {
		r.cancel()
		r.in.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// queue is a request's input: the reader pushes, the request's goroutine pops. The client
// sends at most execproto.Window bytes ahead of the Acks, which bounds it.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(b []byte) {
	q.mu.Lock()
	if !q.closed {
		q.chunks = append(q.chunks, b)
	}
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop returns the next chunk, or nil at the end of the input.
func (q *queue) pop() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.chunks) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.chunks) == 0 {
		return nil
	}
	b := q.chunks[0]
	q.chunks = q.chunks[1:]
	return b
}

// errnoName names the system error under err ("ENOENT"), or "".
func errnoName(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch errno {
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EACCES:
		return "EACCES"
	case syscall.EPERM:
		return "EPERM"
	case syscall.ENOSPC:
		return "ENOSPC"
	case syscall.EEXIST:
		return "EEXIST"
	case syscall.ENOTDIR:
		return "ENOTDIR"
	case syscall.EISDIR:
		return "EISDIR"
	case syscall.EROFS:
		return "EROFS"
	case syscall.EDQUOT:
		return "EDQUOT"
	}
	return fmt.Sprintf("errno %d", int(errno))
}
