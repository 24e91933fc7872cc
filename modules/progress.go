package modules

import (
	"context"
	"io"
)

// ProgressFunc receives a module's progress on its host: done of total units (total 0 when
// unknown). It may be called from any goroutine.
type ProgressFunc func(done, total int64, unit string)

type progressKey struct{}

// WithProgress returns ctx carrying f: the runner gives it to a module call so that the
// module's Progress reports reach a terminal's status line as events.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	if f == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, f)
}

// Progress reports how far a long module has got: done of total (0 when unknown) units, such
// as "nodes" or "bytes". It is a no-op when nobody listens (no terminal, JSON output, tests),
// safe from any goroutine, and cheap to call often: the runner throttles what it passes on.
// Modules never print; this is how they show progress.
func Progress(ctx context.Context, done, total int64, unit string) {
	if f, ok := ctx.Value(progressKey{}).(ProgressFunc); ok {
		f(done, total, unit)
	}
}

// ProgressReader returns r reporting, as it is read, the bytes read so far of total: for a
// module streaming a file to a host. It is r itself when nobody listens.
func ProgressReader(ctx context.Context, r io.Reader, total int64) io.Reader {
	f, ok := ctx.Value(progressKey{}).(ProgressFunc)
	if !ok {
		return r
	}
	return &progressReader{r: r, total: total, f: f}
}

type progressReader struct {
	r     io.Reader
	n     int64
	total int64
	f     ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.n += int64(n)
		p.f(p.n, p.total, "bytes")
	}
	return n, err
}
