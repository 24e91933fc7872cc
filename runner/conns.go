package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/omsbook/omsbook/transport"
)

// connPool holds one connection per host for the whole run: dialed on first use, shared by
// every task, closed at the end (or at once when the run is cancelled).
type connPool struct {
	p       *plan
	mu      sync.Mutex // guards entries, closed and every entry's conn
	entries map[string]*connEntry
	closed  bool
	// notify, when set, is told once per connection what the operator may want to know at
	// -v (a host that uses sessions although the executor was asked for).
	notify func(host, msg string)
}

type connEntry struct {
	dialMu sync.Mutex // one dial at a time per host
	dialed bool
	conn   transport.Conn
	err    error
	noted  atomic.Bool // the executor's fallback, if any, has been told
}

// executorNoter is a connection that may have fallen back from the executor to sessions.
type executorNoter interface {
	ExecutorFallbackNow() (why string, known bool)
}

// noteExecutor tells notify, once per connection, why it uses sessions although the executor
// was asked for, as soon as that is known.
func (cp *connPool) noteExecutor(name string, e *connEntry) {
	fb, ok := e.conn.(executorNoter)
	if !ok || cp.notify == nil || e.noted.Load() {
		return
	}
	why, known := fb.ExecutorFallbackNow()
	if !known || !e.noted.CompareAndSwap(false, true) {
		return
	}
	if why != "" {
		cp.notify(name, "no executor ("+why+"): one ssh session per command")
	}
}

func newConnPool(p *plan) *connPool {
	return &connPool{p: p, entries: map[string]*connEntry{}}
}

// get returns the host's connection, dialing it the first time. A host that could not be
// reached stays unreachable for the rest of the run: its error is kept. remoteUser (a play's
// or task's remote_user) is the user to log in as where the inventory names none: as in
// Ansible, the inventory's user wins over the keyword. Each user has its own connection.
func (cp *connPool) get(ctx context.Context, name, remoteUser string) (transport.Conn, error) {
	spec, known := cp.p.specs[name]
	if known && spec.User != "" {
		remoteUser = ""
	}
	key := name + "\x00" + remoteUser
	cp.mu.Lock()
	if cp.closed {
		cp.mu.Unlock()
		return nil, errors.New("the run was cancelled: connections are closed")
	}
	e, ok := cp.entries[key]
	if !ok {
		e = &connEntry{}
		cp.entries[key] = e
	}
	cp.mu.Unlock()

	e.dialMu.Lock()
	defer e.dialMu.Unlock()
	if e.dialed {
		if e.conn != nil {
			cp.noteExecutor(name, e)
		}
		return e.conn, e.err
	}
	if !known {
		return nil, &transport.UnreachableError{Host: name, Err: errors.New("not in the inventory")}
	}
	if remoteUser != "" {
		spec.User = remoteUser
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Address == "" {
		spec.Address = name
	}
	spec.AcceptNewHostKeys = spec.AcceptNewHostKeys || cp.p.opts.AcceptNewHostKeys
	cp.p.executorSettings(name, &spec)
	conn, err := cp.p.dial(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled, not unreachable: do not remember it.
			return nil, err
		}
		var u *transport.UnreachableError
		if !errors.As(err, &u) {
			err = &transport.UnreachableError{Host: name, Err: err}
		}
		e.dialed, e.err = true, err
		return nil, err
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.closed {
		_ = conn.Close()
		return nil, errors.New("the run was cancelled: connections are closed")
	}
	e.dialed, e.conn = true, conn
	cp.noteExecutor(name, e)
	return conn, nil
}

// The host variables that set the executor for one host (see transport.Spec.Executor).
const (
	executorVar    = "omsbook_executor"     // true/false or on/off
	executorDirVar = "omsbook_executor_dir" // the cache directory on the host
)

// executorSettings sets spec's executor from the host's variables, else the run's setting.
func (p *plan) executorSettings(name string, spec *transport.Spec) {
	if spec.Executor == "" {
		spec.Executor = p.opts.Executor
	}
	h, ok := p.hostByName[name]
	if !ok {
		return
	}
	switch v := h.Vars[executorVar].(type) {
	case bool:
		spec.Executor = transport.ExecutorOff
		if v {
			spec.Executor = transport.ExecutorOn
		}
	case string:
		spec.Executor = v
	}
	if d, ok := h.Vars[executorDirVar].(string); ok && d != "" {
		spec.ExecutorDir = d
	}
}

// closeAll closes every connection; later gets fail.
func (cp *connPool) closeAll() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.closed = true
	for key, e := range cp.entries {
		if e.conn != nil {
			_ = e.conn.Close()
			// Close has waited for the executor's start: what it came to is known now.
			name, _, _ := strings.Cut(key, "\x00")
			cp.noteExecutor(name, e)
		}
	}
}
