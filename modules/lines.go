package modules

import (
	"bytes"
	"strings"
	"sync"
)

// LineWriter is an io.Writer for a command's live output: it passes each complete line written
// to it, without its line break, to emit (h.Output, for -v), keeping a partial line until more
// arrives or Flush is called. A line longer than 64 KiB is passed on in pieces rather than held
// without bound. It is safe for concurrent use.
type LineWriter struct {
	mu      sync.Mutex
	stream  string
	emit    func(stream, line string)
	partial []byte
}

// NewLineWriter returns a LineWriter that passes the lines of stream ("stdout" or "stderr")
// to emit.
func NewLineWriter(stream string, emit func(stream, line string)) *LineWriter {
	return &LineWriter{stream: stream, emit: emit}
}

// Write passes on every line that p completes.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(w.stream, strings.TrimSuffix(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	// A line longer than 64 KiB is emitted in pieces rather than held without bound.
	if len(w.partial) > 64<<10 {
		w.emit(w.stream, string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

// Flush emits the last, unterminated line, if any.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit(w.stream, strings.TrimSuffix(string(w.partial), "\r"))
		w.partial = nil
	}
}
