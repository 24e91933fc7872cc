package modules

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	// Nobody listens: a no-op, and the reader is the one given.
	Progress(context.Background(), 1, 2, "nodes")
	r := strings.NewReader("abc")
	if got := ProgressReader(context.Background(), r, 3); got != io.Reader(r) {
		t.Fatalf("ProgressReader without a listener wraps the reader")
	}

	type report struct {
		done, total int64
		unit        string
	}
	var got []report
	ctx := WithProgress(context.Background(), func(done, total int64, unit string) { got = append(got, report{done, total, unit}) })
	Progress(ctx, 1, 3, "nodes Online")
	data, err := io.ReadAll(ProgressReader(ctx, io.LimitReader(strings.NewReader(strings.Repeat("x", 10)), 10), 10))
	if err != nil || len(data) != 10 {
		t.Fatalf("read through the progress reader: %d bytes, %v", len(data), err)
	}
	if len(got) < 2 || got[0] != (report{1, 3, "nodes Online"}) || got[len(got)-1] != (report{10, 10, "bytes"}) {
		t.Fatalf("reports %+v, want 1/3 nodes Online first and 10/10 bytes last", got)
	}
	if WithProgress(context.Background(), nil) != context.Background() {
		t.Fatal("WithProgress(nil) changes the context")
	}
}
