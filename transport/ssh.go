package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Defaults of the ssh transport.
const (
	DefaultSSHPort        = 22
	DefaultConnectTimeout = 10 * time.Second
	DefaultKeepAlive      = 15 * time.Second
	// DefaultKnownHosts is the known_hosts file used when the spec names none.
	DefaultKnownHosts = "~/.ssh/known_hosts"

	// execSessions bounds the commands running at once on one connection. With one session
	// for sftp and one kept for killing cancelled commands, it stays within OpenSSH's default
	// MaxSessions of 10; further commands queue.
	execSessions = 8
	// killTimeout bounds the clean-up of a cancelled command (finding and killing its
	// processes); reapTimeout bounds the wait for its session to end afterwards.
	killTimeout = 3 * time.Second
	reapTimeout = 2 * time.Second
)

// preferredKex puts curve25519 first: it costs half the handshake time of the post-quantum
// hybrids on these machines, and the runner opens hundreds of connections at once. Host key
// verification is unaffected by this choice.
var preferredKex = []string{
	ssh.KeyExchangeCurve25519, "curve25519-sha256@libssh.org", ssh.KeyExchangeMLKEM768X25519,
	ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
	ssh.KeyExchangeDH14SHA256, ssh.KeyExchangeDH16SHA512, ssh.KeyExchangeDHGEXSHA256,
}

var kexAlgorithms = sync.OnceValue(func() []string {
	supported := ssh.SupportedAlgorithms().KeyExchanges
	var out []string
	for _, k := range preferredKex {
		if slices.Contains(supported, k) || k == "curve25519-sha256@libssh.org" {
			out = append(out, k)
		}
	}
	return out
})

// SSHConn is a connection to one host over SSH. It holds one TCP connection (plus one to the
// jump host, if any) and runs every command as a session on it, several at once.
type SSHConn struct {
	name   string // host name for messages
	spec   Spec
	client *ssh.Client
	jump   *ssh.Client

	execSem chan struct{}
	killSem chan struct{}

	dead    chan struct{} // closed when the connection has ended
	deadErr error         // why, set before dead is closed

	ctx    context.Context // cancelled by Close: running commands are killed
	cancel context.CancelFunc

	actMu   sync.Mutex
	closing bool          // Close has begun: no new operations
	active  int           // operations (Exec, Put, Get, Stat) in progress
	idle    chan struct{} // closed when active drops to 0 while closing

	closeOnce sync.Once

	sftpMu sync.Mutex
	sftp   *sftp.Client

	namesMu sync.Mutex
	names   map[string]string // "u0" / "g0" -> name, from the host's user and group databases

	execMu   sync.Mutex
	exec     *executorClient // the host's executor, when it runs (executor_start.go)
	execNote string          // why there is none although the setting asked for one
	execDone chan struct{}   // closed when the executor's start has ended (nil: not asked for)
}

var _ Conn = (*SSHConn)(nil)

// withDefaults fills in the spec's defaults.
func withDefaults(spec Spec) Spec {
	if spec.Port == 0 {
		spec.Port = DefaultSSHPort
	}
	if spec.Address == "" {
		spec.Address = spec.Name
	}
	if spec.User == "" {
		spec.User = currentUser()
	}
	if spec.KnownHosts == "" {
		spec.KnownHosts = DefaultKnownHosts
	}
	spec.KnownHosts = expandHome(spec.KnownHosts)
	if spec.ConnectTimeout <= 0 {
		spec.ConnectTimeout = DefaultConnectTimeout
	}
	if spec.KeepAlive == 0 {
		spec.KeepAlive = DefaultKeepAlive
	}
	return spec
}

// DialSSH connects and logs in to the host spec names, through spec.Jump when set. Failures
// are *UnreachableError, with a hint for host key and authentication problems.
func DialSSH(ctx context.Context, spec Spec) (*SSHConn, error) {
	spec = withDefaults(spec)
	name := specName(spec)
	if spec.Address == "" {
		return nil, &UnreachableError{Host: name, Err: errors.New("no address"), Hint: "set the node's address"}
	}
	auth, plan, release, err := authMethods(spec)
	if err != nil {
		return nil, &UnreachableError{Host: name, Err: err}
	}
	defer release()
	target := net.JoinHostPort(spec.Address, strconv.Itoa(spec.Port))

	jumps, netConn, err := dialThroughJumps(ctx, spec, name, target, auth, plan)
	if err != nil {
		return nil, err
	}
	var jump *ssh.Client
	if len(jumps) > 0 {
		jump = jumps[len(jumps)-1]
	}
	closeJumps := func() {
		for i := len(jumps) - 1; i >= 0; i-- {
			jumps[i].Close()
		}
	}
	client, err := handshake(ctx, netConn, target, spec.User, auth, plan, spec)
	if err != nil {
		closeJumps()
		var u *UnreachableError
		if errors.As(err, &u) {
			u.Host = name
		}
		return nil, err
	}
	c := &SSHConn{
		name:    name,
		spec:    spec,
		client:  client,
		jump:    jump,
		execSem: make(chan struct{}, execSessions),
		killSem: make(chan struct{}, 1),
		dead:    make(chan struct{}),
		names:   map[string]string{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go func() {
		err := client.Wait()
		if err == nil {
			err = errors.New("connection closed")
		}
		c.deadErr = err
		close(c.dead)
		closeJumps()
	}()
	if spec.KeepAlive > 0 {
		go c.keepAlive(spec.KeepAlive)
	}
	if ExecutorSetting(spec) == ExecutorOn {
		// The executor starts alongside the first commands, which take sessions until it is
		// ready: a short run waits for nothing, a long one moves to it as soon as it can. Its
		// session takes one of the command slots for its whole life, so that the connection
		// stays within sshd's MaxSessions.
		c.execSem <- struct{}{}
		c.execDone = make(chan struct{})
		go func() {
			defer close(c.execDone)
			c.startExecutor(c.ctx)
			if c.executor() == nil {
				<-c.execSem
			}
		}()
	}
	return c, nil
}

func dialTCP(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// dialError says what a failed connection tried: "connect to address 10.0.0.11 port 22
// (through jump host admin@bastion:22, timeout 10s): connection refused".
func dialError(ctx context.Context, what, addr, via string, timeout time.Duration, err error) error {
	_, port, _ := net.SplitHostPort(addr)
	var cause string
	var dnsErr *net.DNSError
	var netErr net.Error
	var errno syscall.Errno
	switch {
	case ctx.Err() != nil:
		cause = ctx.Err().Error()
	case errors.As(err, &dnsErr):
		cause = "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.As(err, &netErr) && netErr.Timeout():
		cause = "no answer within the timeout"
	case errors.As(err, &errno):
		cause = errno.Error()
	default:
		cause = err.Error()
	}
	tried := fmt.Sprintf("timeout %v", timeout)
	if via != "" {
		tried = via + ", " + tried
	}
	return &wrappedError{msg: fmt.Sprintf("connect to %s port %s (%s): %s", what, port, tried, cause), err: err}
}

// wrappedError is an error with a message of its own that still unwraps to its cause.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// dialThroughJumps opens the TCP path to target: directly, or through spec.Jump, a chain of
// jump hosts "user@host:port,user@host:port" (as ssh's ProxyJump), each reached through the
// one before and logged in to with the same credentials and known_hosts. It returns the jump
// clients, first hop first, for the connection to close with it.
func dialThroughJumps(ctx context.Context, spec Spec, name, target string, auth []ssh.AuthMethod, plan *authPlan) ([]*ssh.Client, net.Conn, error) {
	if spec.Jump == "" {
		netConn, err := dialTCP(ctx, target, spec.ConnectTimeout)
		if err != nil {
			return nil, nil, &UnreachableError{Host: name, Err: dialError(ctx, "address "+spec.Address, target, "", spec.ConnectTimeout, err),
				Hint: "check the address and port, and that sshd runs there"}
		}
		return nil, netConn, nil
	}
	var jumps []*ssh.Client
	fail := func(err error) ([]*ssh.Client, net.Conn, error) {
		for i := len(jumps) - 1; i >= 0; i-- {
			jumps[i].Close()
		}
		return nil, nil, err
	}
	via := ""
	for _, hop := range strings.Split(spec.Jump, ",") {
		juser, jaddr, err := parseJump(strings.TrimSpace(hop), spec.User)
		if err != nil {
			return fail(&UnreachableError{Host: name, Err: err, Hint: `write jump as "user@host:port" (several: "user@a:22,user@b:22")`})
		}
		jconn, err := dialHop(ctx, jumps, jaddr, spec.ConnectTimeout)
		if err != nil {
			jhost, _, _ := net.SplitHostPort(jaddr)
			return fail(&UnreachableError{Host: name, Err: dialError(ctx, "jump host "+juser+"@"+jhost, jaddr, via, spec.ConnectTimeout, err),
				Hint: "check the jump host's address and port, and that sshd runs there"})
		}
		jc, err := handshake(ctx, jconn, jaddr, juser, auth, plan, spec)
		if err != nil {
			var u *UnreachableError
			if errors.As(err, &u) {
				u.Host = name
				u.Err = fmt.Errorf("jump host %s: %w", jaddr, u.Err)
			}
			return fail(err)
		}
		jumps = append(jumps, jc)
		via = "through jump host " + juser + "@" + jaddr
	}
	netConn, err := dialHop(ctx, jumps, target, spec.ConnectTimeout)
	if err != nil {
		return fail(&UnreachableError{Host: name, Err: dialError(ctx, "address "+spec.Address, target, via, spec.ConnectTimeout, err),
			Hint: "check the address and port as the jump host sees them, and that sshd runs there"})
	}
	return jumps, netConn, nil
}

// dialHop opens a TCP connection to addr: directly, or through the last of jumps.
func dialHop(ctx context.Context, jumps []*ssh.Client, addr string, timeout time.Duration) (net.Conn, error) {
	if len(jumps) == 0 {
		return dialTCP(ctx, addr, timeout)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return jumps[len(jumps)-1].DialContext(dctx, "tcp", addr)
}

// parseJump splits "user@host:port" (user and port optional).
func parseJump(jump, defaultUser string) (user, addr string, err error) {
	user = defaultUser
	hostport := jump
	if i := strings.LastIndex(jump, "@"); i >= 0 {
		user, hostport = jump[:i], jump[i+1:]
	}
	host, port := hostport, "22"
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if strings.Contains(hostport, ":") && !strings.HasPrefix(hostport, "[") && strings.Count(hostport, ":") == 1 {
		return "", "", fmt.Errorf("jump host %q: %w", jump, err)
	}
	if host == "" || user == "" {
		return "", "", fmt.Errorf("jump host %q: needs a host (and a user)", jump)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", "", fmt.Errorf("jump host %q: bad port %q", jump, port)
	}
	return user, net.JoinHostPort(host, port), nil
}

// handshake runs the SSH handshake on conn, verifying the host key, within the connect
// timeout and the context.
func handshake(ctx context.Context, conn net.Conn, addr, user string, auth []ssh.AuthMethod, plan *authPlan, spec Spec) (*ssh.Client, error) {
	hk := &hostKeyChecker{file: spec.KnownHosts, acceptNew: spec.AcceptNewHostKeys}
	tracker := &authTracker{}
	cfg := &ssh.ClientConfig{
		User:              user,
		Auth:              auth,
		AuthCallback:      tracker.callback,
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: knownHostKeyAlgorithms(spec.KnownHosts, addr),
		Timeout:           spec.ConnectTimeout,
		Config:            ssh.Config{KeyExchanges: kexAlgorithms()},
	}
	// A channel through a jump host has no deadlines: close the conn to end a stuck handshake.
	done := make(chan struct{})
	timer := time.NewTimer(spec.ConnectTimeout)
	defer timer.Stop()
	var timedOut atomic.Bool
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			conn.Close()
		case <-timer.C:
			timedOut.Store(true)
			conn.Close()
		}
	}()
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	close(done)
	if err != nil {
		conn.Close()
		if refused := hk.refusal(); refused != nil {
			return nil, &UnreachableError{Err: refused, Hint: refused.hint()}
		}
		if ctx.Err() != nil {
			return nil, &UnreachableError{Err: fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())}
		}
		if timedOut.Load() {
			return nil, &UnreachableError{Err: &wrappedError{msg: fmt.Sprintf("ssh handshake with %s: no answer within the connect timeout of %v", addr, spec.ConnectTimeout), err: err},
				Hint: "the port accepts connections but sshd does not answer: is the host overloaded or hung?"}
		}
		if authErr := tracker.failure(user, addr, plan, err); authErr != nil {
			return nil, &UnreachableError{Err: authErr, Hint: "check the user, ssh_key, ssh_password or the keys in ssh-agent"}
		}
		if errors.Is(err, io.EOF) {
			return nil, &UnreachableError{Err: &wrappedError{msg: fmt.Sprintf("ssh handshake with %s: the connection was closed before the handshake finished", addr), err: err},
				Hint: "is it sshd that listens there, and does it accept this client (MaxStartups, tcp wrappers, a firewall)?"}
		}
		return nil, &UnreachableError{Err: fmt.Errorf("ssh handshake with %s: %w", addr, err)}
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// keepAlive sends keepalive requests and closes a connection that stops answering them, so
// that commands waiting on it fail instead of hanging.
func (c *SSHConn) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	misses := 0
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case err := <-answered:
			if err != nil {
				c.client.Close()
				return
			}
			misses = 0
		case <-time.After(every):
			misses++
			if misses >= 2 {
				c.client.Close()
				return
			}
		case <-c.dead:
			return
		}
	}
}

// Local reports false: the host is remote.
func (c *SSHConn) Local() bool { return false }

// Client returns the underlying SSH client (for tests and tools that need a raw session).
func (c *SSHConn) Client() *ssh.Client { return c.client }

// unreachable wraps err as the connection's loss.
func (c *SSHConn) unreachable(what string, err error) error {
	return &UnreachableError{Host: c.name, Err: fmt.Errorf("%s: connection lost: %w", what, err)}
}

// isDead reports whether the connection has ended.
func (c *SSHConn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// lost reports whether err, from an operation on the connection, means the connection has
// ended. The transport's shutdown may lag behind the failing call by a moment.
func (c *SSHConn) lost(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-c.dead:
		return true
	case <-time.After(500 * time.Millisecond):
		return false
	}
}

// acquire takes a slot of sem, waiting while the connection lives and ctx allows.
func (c *SSHConn) acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.dead:
		return c.unreachable("wait for a session", c.deadErr)
	}
}

// newSession opens a session, bounded by ctx and the connection's life.
func (c *SSHConn) newSession(ctx context.Context) (*ssh.Session, error) {
	type res struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if c.lost(r.err) {
				return nil, c.unreachable("open session", r.err)
			}
			return nil, fmt.Errorf("open ssh session on %s: %w (is sshd's MaxSessions below %d?)", c.name, r.err, execSessions+2)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	case <-c.dead:
		return nil, c.unreachable("open session", c.deadErr)
	}
}

// begin registers an operation, so that Close can wait for it; end must be called when it
// finishes. It fails once Close has begun.
func (c *SSHConn) begin() (end func(), err error) {
	c.actMu.Lock()
	defer c.actMu.Unlock()
	if c.closing {
		return nil, fmt.Errorf("host %s: connection is closed", c.name)
	}
	c.active++
	return func() {
		c.actMu.Lock()
		defer c.actMu.Unlock()
		c.active--
		if c.active == 0 && c.idle != nil {
			close(c.idle)
			c.idle = nil
		}
	}, nil
}

// execContext merges ctx with the connection's own life: Close cancels running commands.
func (c *SSHConn) execContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Exec runs cmd as a new session on the connection. Cancelling ctx kills the command and
// every process it started on the host, then returns ctx's error. A become command runs
// through sudo (see becomeGate).
func (c *SSHConn) Exec(ctx context.Context, cmd *Cmd) (*ExecResult, error) {
	if x := c.executorFor(cmd); x != nil {
		ctx, done, err := c.operation(ctx)
		if err != nil {
			return nil, err
		}
		defer done()
		return x.exec(ctx, c, cmd)
	}
	var gate *becomeGate
	if cmd.Become {
		gate = newBecomeGate(cmd, c.name)
	}
	line, err := remoteCommandLine(cmd, gate)
	if err != nil {
		return nil, err
	}
	end, err := c.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	ctx, stop := c.execContext(ctx)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if gate != nil {
		gate.cancel = cancel
	}

	if err := c.acquire(ctx, c.execSem); err != nil {
		return nil, err
	}
	defer func() { <-c.execSem }()
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()

	var stdout, stderr lockedBuffer
	outW := teeWriter(&stdout.buf, cmd.Stdout)
	toStdout := func(p []byte) (int, error) {
		stdout.mu.Lock()
		defer stdout.mu.Unlock()
		return outW.Write(p)
	}
	errW := teeWriter(&stderr.buf, cmd.Stderr)
	toStderr := func(p []byte) (int, error) {
		stderr.mu.Lock()
		defer stderr.mu.Unlock()
		return errW.Write(p)
	}
	// sudo's prompt and start marker come on stderr, or with it on the terminal.
	var sudoOut *becomeFilter
	switch {
	case gate != nil && cmd.PTY:
		sudoOut = gate.filter(toStdout)
		toStdout = sudoOut.Write
	case gate != nil:
		sudoOut = gate.filter(toStderr)
		toStderr = sudoOut.Write
	}
	filter := newPgidFilter(toStdout)
	sess.Stdout = filter
	sess.Stderr = writerFunc(toStderr)
	if cmd.PTY {
		// No echo: answers typed to a prompt (possibly secret) must not come back as output.
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("xterm", 40, 200, modes); err != nil {
			return nil, fmt.Errorf("host %s: request a pty: %w", c.name, err)
		}
	}
	stdinPipe, err := sess.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("host %s: stdin pipe: %w", c.name, err)
	}
	if err := sess.Start(line); err != nil {
		if c.lost(err) {
			return nil, c.unreachable("start command", err)
		}
		return nil, fmt.Errorf("host %s: start command: %w", c.name, err)
	}
	ended := make(chan struct{})
	waited := make(chan error, 1)
	go func() {
		err := sess.Wait()
		close(ended)
		waited <- err
	}()
	// Stdin is copied outside the session so that a reader that never ends cannot keep Wait
	// from returning.
	go func() {
		if gate != nil {
			gate.feed(ctx, stdinPipe, func() { stdinPipe.Close() }, cmd.Stdin, ended)
			return
		}
		if cmd.Stdin != nil {
			_, _ = io.Copy(stdinPipe, ctxReader{ctx, cmd.Stdin})
		}
		stdinPipe.Close()
	}()

	result := func() *ExecResult {
		filter.flush()
		if sudoOut != nil {
			sudoOut.flush()
		}
		return snapshot(&stdout, &stderr)
	}

	select {
	case err = <-waited:
	case <-ctx.Done():
		c.killRemote(filter, cmd)
		sess.Close()
		select {
		case <-waited:
		case <-time.After(reapTimeout):
		}
		res := result()
		res.RC, res.Signal = -1, "KILL"
		if gate != nil {
			if ferr := gate.failure(); ferr != nil {
				return res, ferr
			}
		}
		if c.ctx.Err() != nil && ctx.Err() != nil {
			return res, fmt.Errorf("host %s: command killed: connection closed", c.name)
		}
		return res, fmt.Errorf("host %s: command killed: %w", c.name, ctx.Err())
	}
	res := result()
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.RC = exitErr.ExitStatus()
		if sig := exitErr.Signal(); sig != "" {
			res.RC, res.Signal = -1, sig
		}
	default:
		// No exit status: the connection went away under the command.
		return res, c.unreachable("command", err)
	}
	if gate != nil {
		if ferr := gate.finish(res.RC); ferr != nil {
			return res, ferr
		}
	}
	return res, nil
}

// killRemote kills the process tree of a cancelled command from a fresh session: as the
// become user first (who owns the command), then as the login user (who owns the shell).
func (c *SSHConn) killRemote(filter *pgidFilter, cmd *Cmd) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	select {
	case <-filter.ready:
	case <-ctx.Done():
	case <-c.dead:
	}
	pgid := filter.processGroup()
	if pgid <= 1 || c.isDead() {
		return
	}
	script := killTreeScript(pgid)
	if cmd.Become {
		gate := newBecomeGate(&Cmd{BecomeUser: cmd.BecomeUser, BecomePassword: cmd.BecomePassword}, c.name)
		c.runKill(ctx, "exec "+gate.wrapShell(script), gate)
	}
	c.runKill(ctx, script, nil)
}

// runKill runs a kill command line; gate, when set, answers sudo's prompt for it.
func (c *SSHConn) runKill(ctx context.Context, line string, gate *becomeGate) {
	if err := c.acquire(ctx, c.killSem); err != nil {
		return
	}
	defer func() { <-c.killSem }()
	sess, err := c.newSession(ctx)
	if err != nil {
		return
	}
	defer sess.Close()
	ended := make(chan struct{})
	defer close(ended)
	if gate != nil {
		sess.Stderr = gate.filter(func(p []byte) (int, error) { return len(p), nil })
		stdin, err := sess.StdinPipe()
		if err != nil {
			return
		}
		go gate.feed(ctx, stdin, func() { stdin.Close() }, nil, ended)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(line) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Close kills the commands still running on the connection, then ends it (and the jump
// host's connection). It waits at most a few seconds.
func (c *SSHConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.actMu.Lock()
		c.closing = true
		var idle chan struct{}
		if c.active > 0 {
			c.idle = make(chan struct{})
			idle = c.idle
		}
		c.actMu.Unlock()
		c.cancel()
		if c.execDone != nil {
			select {
			case <-c.execDone:
			case <-time.After(killTimeout):
			}
		}
		if idle != nil {
			select {
			case <-idle:
			case <-time.After(killTimeout + reapTimeout + time.Second):
			}
		}
		c.closeExecutor()
		c.sftpMu.Lock()
		if c.sftp != nil {
			c.sftp.Close()
			c.sftp = nil
		}
		c.sftpMu.Unlock()
		err = c.client.Close()
		if c.jump != nil {
			c.jump.Close()
		}
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// lockedBuffer is a buffer written by one goroutine and read by another.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// snapshot is a result holding copies of what stdout and stderr hold so far.
func snapshot(stdout, stderr *lockedBuffer) *ExecResult {
	stdout.mu.Lock()
	defer stdout.mu.Unlock()
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	return &ExecResult{Stdout: bytes.Clone(stdout.buf.Bytes()), Stderr: bytes.Clone(stderr.buf.Bytes())}
}

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
