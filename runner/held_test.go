package runner

import (
	"context"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

// heldCount counts what holdMod registered and closed.
type heldCount struct {
	registered, closed chan struct{}
}

// holdMod registers a resource for the rest of the run (check: true instead fails when one
// was closed already).
type holdMod struct{ n *heldCount }

func (holdMod) Name() string { return "hold" }

func (holdMod) Spec() modules.Spec {
	return modules.Spec{Summary: "holds a resource until the run ends (test)", Args: []modules.Arg{{Name: "check", Type: modules.Bool}}}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (m holdMod) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (m holdMod) Apply(_ context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if args.Bool("check") {
		select {
		case <-m.n.closed:
			return modules.Fail("the held resource was closed before the run ended", nil), nil
		default:
			return modules.Result{}, nil
		}
	}
	h.AtRunEnd(closerFunc(func() error { close(m.n.closed); return nil }))
	close(m.n.registered)
	return modules.Result{Changed: true}, nil
}

// TestHeldResourcesCloseAtRunEnd: what a module registers with AtRunEnd stays open for the
// tasks after it and is closed when the run ends, and when it is cancelled.
func TestHeldResourcesCloseAtRunEnd(t *testing.T) {
	for _, cancelled := range []bool{false, true} {
		pb := "- hosts: hz-1\n  tasks:\n    - hold: {}\n    - hold: {check: true}\n"
		if cancelled {
			pb += "    - rec: {sleep: 10m}\n"
		}
		e := mustLoad(t, pb, Options{}, nil)
		e.held = heldCount{registered: make(chan struct{}), closed: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		if cancelled {
			go func() { <-e.held.registered; cancel() }()
		}
		code := e.plan.run(ctx, e.sink)
		cancel()
		want := ExitOK
		if cancelled {
			want = ExitInterrupted
		}
		if code != want {
			t.Fatalf("cancelled %v: exit %d, want %d: %s", cancelled, code, want, e.sink.end().Msg)
		}
		select {
		case <-e.held.closed:
		default:
			t.Fatalf("cancelled %v: the held resource is still open after the run", cancelled)
		}
	}
}
