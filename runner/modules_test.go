package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// call is one recorded module call.
type call struct {
	Host  string
	Conn  string // "local" or the delegate
	Msg   string
	Check bool
	Vars  map[string]any
	Env   map[string]string
	Start time.Time
	Args  modules.Args
	// Become settings the module was given.
	Become                     bool
	BecomeUser, BecomePassword string
}

// recorder keeps the calls of the test modules and how many ran at once.
type recorder struct {
	mu       sync.Mutex
	calls    []call
	inFlight atomic.Int32
	maxIn    atomic.Int32
	attempts map[string]int // per host+msg, for flaky
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// recMod is a test module: it records each call and does what its arguments say.
type recMod struct{ rec *recorder }

func (recMod) Name() string { return "rec" }

func (recMod) Spec() modules.Spec {
	return modules.Spec{
		Summary:  "records calls (test)",
		FreeForm: "msg",
		Args: []modules.Arg{
			{Name: "msg", Type: modules.String},
			{Name: "fail", Type: modules.Bool},
			{Name: "change", Type: modules.Bool},
			{Name: "unknown", Type: modules.Bool},
			{Name: "sleep", Type: modules.Duration},
			{Name: "rc", Type: modules.Int},
			{Name: "count", Type: modules.Int},
			{Name: "password", Type: modules.String, Secret: true},
			{Name: "data", Type: modules.Any},
			{Name: "kind", Type: modules.String, Choices: []string{"a", "b"}},
			{Name: "panic", Type: modules.Bool},
		},
	}
}

func (m recMod) do(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	conn := "none"
	if h.Conn != nil {
		conn = fmt.Sprint(h.Conn)
	}
	m.rec.add(call{Host: h.Name, Conn: conn, Msg: args.String("msg"), Check: check, Vars: h.Vars, Env: h.Environment, Start: time.Now(), Args: args,
		Become: h.Become, BecomeUser: h.BecomeUser, BecomePassword: h.BecomePassword})
	n := m.rec.inFlight.Add(1)
	defer m.rec.inFlight.Add(-1)
	for {
		old := m.rec.maxIn.Load()
		if n <= old || m.rec.maxIn.CompareAndSwap(old, n) {
			break
		}
	}
	if args.Bool("panic") {
		panic("test module asked to panic")
	}
	if d := args.Duration("sleep"); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return modules.Result{}, fmt.Errorf("sleep interrupted: %w", ctx.Err())
		}
	}
	if args.Has("password") {
		h.Output("stdout", "the password is "+args.String("password"))
	}
	h.Output("stdout", "line from "+h.Name)
	data := map[string]any{"msg_arg": args.String("msg"), "host": h.Name, "rc": args.Int("rc"), "stdout": "said " + args.String("msg")}
	if args.Has("data") {
		data["data"] = args["data"]
	}
	res := modules.Result{Changed: args.Bool("change"), Msg: args.String("msg"), Data: data}
	if check && args.Bool("unknown") {
		res.Unknown, res.Msg = true, "cannot tell"
	}
	if args.Bool("fail") {
		res.Failed = true
		res.Msg = "asked to fail: " + args.String("msg")
	}
	return res, nil
}

func (m recMod) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.do(ctx, h, args, true)
}

func (m recMod) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.do(ctx, h, args, false)
}

// flakyMod fails (rc 1) until its count-th call per host, then succeeds (rc 0).
type flakyMod struct{ rec *recorder }

func (flakyMod) Name() string { return "flaky" }

func (flakyMod) Spec() modules.Spec {
	return modules.Spec{Args: []modules.Arg{{Name: "succeed_at", Type: modules.Int, Required: true}}}
}

func (m flakyMod) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	m.rec.mu.Lock()
	if m.rec.attempts == nil {
		m.rec.attempts = map[string]int{}
	}
	m.rec.attempts[h.Name]++
	n := m.rec.attempts[h.Name]
	m.rec.mu.Unlock()
	rc := 1
	if n >= args.Int("succeed_at") {
		rc = 0
	}
	return modules.Result{Changed: true, Failed: rc != 0, Msg: fmt.Sprintf("attempt %d", n), Data: map[string]any{"rc": rc, "n": n}}, nil
}

func (m flakyMod) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return modules.Result{Unknown: true, Msg: "flaky cannot tell"}, nil
}

// factMod sets every argument as a fact, like set_fact.
type factMod struct{}

func (factMod) Name() string { return "set_fact" }

func (factMod) Spec() modules.Spec { return modules.Spec{AnyArgs: true, Controller: true} }

func (factMod) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	facts := map[string]any{}
	for k, v := range args {
		facts[k] = v
	}
	return modules.Result{Facts: facts}, nil
}

func (factMod) DefinedVars(args map[string]any, _ modules.DefineContext) []string {
	var names []string
	for k := range args {
		names = append(names, k)
	}
	return names
}

func (m factMod) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

// validatedMod requires exactly one of a and b.
type validatedMod struct{}

func (validatedMod) Name() string { return "one_of" }

func (validatedMod) Spec() modules.Spec {
	return modules.Spec{Args: []modules.Arg{{Name: "a", Type: modules.String}, {Name: "b", Type: modules.String}}}
}

func (validatedMod) Validate(args modules.Args) error {
	if args.Has("a") == args.Has("b") {
		return fmt.Errorf("give exactly one of a and b")
	}
	return nil
}

func (validatedMod) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return modules.Result{}, nil
}

func (m validatedMod) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return modules.Result{}, nil
}
