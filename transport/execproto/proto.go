// Package execproto is the wire protocol between omsbook and its executor on a host: frames
// over one SSH session's standard input and output, each carrying a request id so that many
// requests share the stream at once.
//
// A frame is a 4-byte big-endian length n, then n bytes: a type byte, a 4-byte big-endian
// request id, and the payload. Control payloads (a command to run, its exit, a file operation
// and its result) are JSON; data payloads (standard input and output, file contents) are raw
// bytes. The executor first writes Preamble, then a Hello frame.
package execproto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Version is the protocol's version, sent in Hello: a client refuses another.
const Version = 1

// Preamble is the line the executor prints before its first frame, so that the client can tell
// a running executor from what a shell printed instead (an error, or the missing marker).
const Preamble = "omsbook-executor-1\n"

// MaxPayload bounds one frame's payload; the decoder refuses bigger frames.
const MaxPayload = 1 << 20

// ChunkSize is how much data one data frame carries at most.
const ChunkSize = 32 << 10

// Window is how much data a sender may have in flight on one request before the receiver has
// acknowledged it (Ack frames), so that a process that does not read its input cannot stall
// the stream.
const Window = 256 << 10

// Type is a frame's type.
type Type byte

// Frame types. C names what the client (omsbook) sends, S what the executor sends.
const (
	Hello  Type = 1  // S: Hello JSON, request id 0
	Exec   Type = 2  // C: ExecRequest JSON; opens a request
	Data   Type = 3  // C: input of a request: a command's stdin, a file being written
	EOF    Type = 4  // C: end of a request's input
	Cancel Type = 5  // C: kill the request's process group and end it
	Stdout Type = 6  // S: a command's standard output
	Stderr Type = 7  // S: a command's standard error
	Exit   Type = 8  // S: ExitStatus JSON; ends an Exec request
	Ack    Type = 9  // S: 4-byte count of input bytes consumed
	File   Type = 10 // C: FileRequest JSON; opens a request
	Chunk  Type = 11 // S: file content of a read
	Result Type = 12 // S: FileResult JSON; ends a File request
)

var typeNames = map[Type]string{Hello: "hello", Exec: "exec", Data: "data", EOF: "eof", Cancel: "cancel",
	Stdout: "stdout", Stderr: "stderr", Exit: "exit", Ack: "ack", File: "file", Chunk: "chunk", Result: "result"}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", byte(t))
}

// Frame is one decoded frame.
type Frame struct {
	Type    Type
	ID      uint32
	Payload []byte
}

// ErrFrameTooBig is the decoder's answer to a length beyond MaxPayload.
var ErrFrameTooBig = errors.New("execproto: frame too big")

// ErrBadFrame is the decoder's answer to a frame too short for its header or of unknown type.
var ErrBadFrame = errors.New("execproto: malformed frame")

const header = 5 // type byte and request id

// Reader decodes frames from a stream.
type Reader struct {
	r   *bufio.Reader
	hdr [4 + header]byte
}

// NewReader returns a frame reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next reads the next frame. It returns io.EOF at a clean end between frames and
// io.ErrUnexpectedEOF when the stream ends inside one.
func (d *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(d.r, d.hdr[:4]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(d.hdr[:4])
	if n < header {
		return Frame{}, fmt.Errorf("%w: length %d", ErrBadFrame, n)
	}
	if n-header > MaxPayload {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrameTooBig, n-header)
	}
	if _, err := io.ReadFull(d.r, d.hdr[4:]); err != nil {
		return Frame{}, unexpected(err)
	}
	f := Frame{Type: Type(d.hdr[4]), ID: binary.BigEndian.Uint32(d.hdr[5:])}
	if _, ok := typeNames[f.Type]; !ok {
		return Frame{}, fmt.Errorf("%w: unknown type %d", ErrBadFrame, d.hdr[4])
	}
	if n > header {
		f.Payload = make([]byte, n-header)
		if _, err := io.ReadFull(d.r, f.Payload); err != nil {
			return Frame{}, unexpected(err)
		}
	}
	return f, nil
}

// ReadPreamble reads one line (at most 4 KiB) before the frames: Preamble from an executor, or
// what a shell printed instead.
func (d *Reader) ReadPreamble() (string, error) {
	var line []byte
	for len(line) < 4096 {
		b, err := d.r.ReadByte()
		if err != nil {
			return string(line), err
		}
		line = append(line, b)
		if b == '\n' {
			return string(line), nil
		}
	}
	return string(line), fmt.Errorf("%w: no end of line in the first 4096 bytes", ErrBadFrame)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Writer encodes frames onto a stream; it is safe for concurrent use, and each frame is written
// whole.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter returns a frame writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sends one frame. A payload beyond MaxPayload is refused.
func (e *Writer) Write(t Type, id uint32, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooBig, len(payload))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf = AppendFrame(e.buf[:0], t, id, payload)
	_, err := e.w.Write(e.buf)
	if cap(e.buf) > 2*ChunkSize+64 {
		e.buf = nil
	}
	return err
}

// Close closes the stream under the writer's lock (when it can be closed), so that it never
// races a frame being written.
func (e *Writer) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// AppendFrame appends the encoding of one frame to b.
func AppendFrame(b []byte, t Type, id uint32, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(header+len(payload)))
	b = append(b, byte(t))
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, payload...)
}

// AckPayload encodes an Ack's byte count; AckCount decodes it.
func AckPayload(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

// AckCount decodes an Ack payload.
func AckCount(p []byte) (int, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("%w: ack of %d bytes", ErrBadFrame, len(p))
	}
	return int(binary.BigEndian.Uint32(p)), nil
}
