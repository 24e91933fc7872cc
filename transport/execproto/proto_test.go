package execproto

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	frames := []Frame{
		{Type: Hello, ID: 0, Payload: []byte(`{"version":1}`)},
		{Type: Exec, ID: 1, Payload: []byte(`{"argv":["true"]}`)},
		{Type: EOF, ID: 1},
		{Type: Stdout, ID: 4294967295, Payload: bytes.Repeat([]byte("x"), ChunkSize)},
		{Type: Ack, ID: 7, Payload: AckPayload(12345)},
	}
	for _, f := range frames {
		if err := w.Write(f.Type, f.ID, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf)
	for i, want := range frames {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || got.ID != want.ID || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("frame %d: got %v/%d/%d bytes, want %v/%d/%d bytes", i, got.Type, got.ID, len(got.Payload), want.Type, want.ID, len(want.Payload))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if n, err := AckCount(frames[4].Payload); err != nil || n != 12345 {
		t.Fatalf("ack count %d, %v", n, err)
	}
}

func TestReaderRefusesBadFrames(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"too short for a header", []byte{0, 0, 0, 2, 1, 0}, ErrBadFrame},
		{"unknown type", AppendFrame(nil, Type(99), 1, nil), ErrBadFrame},
		{"too big", []byte{0, 0x20, 0, 0, 1, 0, 0, 0, 1}, ErrFrameTooBig},
		{"cut inside the header", []byte{0, 0, 0, 9, 2, 0}, io.ErrUnexpectedEOF},
		{"cut inside the payload", AppendFrame(nil, Stdout, 1, []byte("hello"))[:11], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.in)).Next()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWriterRefusesOversizedPayload(t *testing.T) {
	err := NewWriter(io.Discard).Write(Stdout, 1, make([]byte, MaxPayload+1))
	if !errors.Is(err, ErrFrameTooBig) {
		t.Fatalf("got %v", err)
	}
}

func TestReadPreamble(t *testing.T) {
	r := NewReader(bytes.NewReader(append([]byte(Preamble), AppendFrame(nil, Hello, 0, []byte("{}"))...)))
	line, err := r.ReadPreamble()
	if err != nil || line != Preamble {
		t.Fatalf("preamble %q, %v", line, err)
	}
	if f, err := r.Next(); err != nil || f.Type != Hello {
		t.Fatalf("frame after the preamble: %v, %v", f, err)
	}
	if _, err := NewReader(bytes.NewReader(bytes.Repeat([]byte("a"), 5000))).ReadPreamble(); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("endless line: %v", err)
	}
}

// FuzzReader feeds the decoder arbitrary bytes: it must never panic nor allocate beyond the
// frame limit, and every frame it accepts must encode back to the bytes it came from.
func FuzzReader(f *testing.F) {
	f.Add(AppendFrame(nil, Hello, 0, []byte(`{"version":1}`)))
	f.Add(AppendFrame(AppendFrame(nil, Exec, 1, []byte(`{"shell":"true"}`)), EOF, 1, nil))
	f.Add(AppendFrame(nil, Ack, 3, AckPayload(1)))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		var out []byte
		for {
			fr, err := r.Next()
			if err != nil {
				break
			}
			if len(fr.Payload) > MaxPayload {
				t.Fatalf("payload of %d bytes accepted", len(fr.Payload))
			}
			out = AppendFrame(out, fr.Type, fr.ID, fr.Payload)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("re-encoded frames differ from the input")
		}
	})
}
