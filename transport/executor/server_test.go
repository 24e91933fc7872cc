package executor

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/transport/execproto"
)

// peer is the client's end of an in-process executor.
type peer struct {
	t    *testing.T
	w    *execproto.Writer
	r    *execproto.Reader
	in   io.Closer
	done chan error
}

func startServer(t *testing.T) *peer {
	t.Helper()
	cr, sw := io.Pipe() // server -> client
	sr, cw := io.Pipe() // client -> server
	p := &peer{t: t, w: execproto.NewWriter(cw), r: execproto.NewReader(cr), in: cw, done: make(chan error, 1)}
	go func() { p.done <- Serve(sr, sw); sw.Close() }()
	if line, err := p.r.ReadPreamble(); err != nil || line != execproto.Preamble {
		t.Fatalf("preamble %q, %v", line, err)
	}
	f, err := p.r.Next()
	if err != nil || f.Type != execproto.Hello {
		t.Fatalf("hello: %v %v", f, err)
	}
	t.Cleanup(func() {
		cw.Close()
		go func() { _, _ = io.Copy(io.Discard, cr) }()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the executor did not end with its input")
		}
	})
	return p
}

func (p *peer) send(t execproto.Type, id uint32, v any) {
	p.t.Helper()
	var b []byte
	switch v := v.(type) {
	case nil:
	case []byte:
		b = v
	default:
		b, _ = json.Marshal(v)
	}
	if err := p.w.Write(t, id, b); err != nil {
		p.t.Fatal(err)
	}
}

// collect reads frames until the request id ends, returning its stdout, stderr and last frame.
func (p *peer) collect(id uint32) (stdout, stderr string, last execproto.Frame) {
	p.t.Helper()
	for {
		f, err := p.r.Next()
		if err != nil {
			p.t.Fatal(err)
		}
		if f.ID != id {
			continue
		}
		switch f.Type {
		case execproto.Stdout, execproto.Chunk:
			stdout += string(f.Payload)
		case execproto.Stderr:
			stderr += string(f.Payload)
		case execproto.Exit, execproto.Result:
			return stdout, stderr, f
		}
	}
}

func TestServeRunsACommand(t *testing.T) {
	p := startServer(t)
	p.send(execproto.Exec, 1, execproto.ExecRequest{Shell: `read x; echo "got $x $V"; echo oops >&2; exit 4`, Env: map[string]string{"V": "v1"}, Stdin: true})
	p.send(execproto.Data, 1, []byte("line\n"))
	p.send(execproto.EOF, 1, nil)
	out, errOut, last := p.collect(1)
	var st execproto.ExitStatus
	if err := json.Unmarshal(last.Payload, &st); err != nil {
		t.Fatal(err)
	}
	if out != "got line v1\n" || errOut != "oops\n" || st.RC != 4 {
		t.Fatalf("stdout %q stderr %q status %+v", out, errOut, st)
	}
}

func TestServeCancelKillsTheCommand(t *testing.T) {
	p := startServer(t)
	p.send(execproto.Exec, 7, execproto.ExecRequest{Argv: []string{"sleep", "300"}})
	time.Sleep(100 * time.Millisecond)
	p.send(execproto.Cancel, 7, nil)
	_, _, last := p.collect(7)
	var st execproto.ExitStatus
	if err := json.Unmarshal(last.Payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.RC != -1 || st.Signal != "KILL" {
		t.Fatalf("status %+v, want killed", st)
	}
}

func TestServeFileOperations(t *testing.T) {
	p := startServer(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	p.send(execproto.File, 1, execproto.FileRequest{Op: execproto.OpWrite, Path: dest, Mode: 0o640})
	p.send(execproto.Data, 1, []byte("hello "))
	p.send(execproto.Data, 1, []byte("world"))
	p.send(execproto.EOF, 1, nil)
	if _, _, last := p.collect(1); strings.Contains(string(last.Payload), "error") {
		t.Fatalf("write: %s", last.Payload)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != "hello world" {
		t.Fatalf("written %q, %v", b, err)
	}
	p.send(execproto.File, 2, execproto.FileRequest{Op: execproto.OpRead, Path: dest})
	if got, _, _ := p.collect(2); got != "hello world" {
		t.Fatalf("read %q", got)
	}
	p.send(execproto.File, 3, execproto.FileRequest{Op: execproto.OpStat, Path: dest})
	_, _, last := p.collect(3)
	var res execproto.FileResult
	if err := json.Unmarshal(last.Payload, &res); err != nil || res.Info == nil || res.Info.Mode != 0o640 || res.Info.Size != 11 || res.Info.Type != "file" {
		t.Fatalf("stat: %s %v", last.Payload, err)
	}
	p.send(execproto.File, 4, execproto.FileRequest{Op: execproto.OpChecksum, Path: filepath.Join(dir, "missing")})
	_, _, last = p.collect(4)
	if err := json.Unmarshal(last.Payload, &res); err != nil || res.Errno != "ENOENT" {
		t.Fatalf("checksum of a missing file: %s", last.Payload)
	}
}
