package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/internal/shellquote"
)

// Become runs a command through sudo as Ansible does: the password goes to sudo's standard
// input only in answer to sudo's own prompt, never otherwise, and the command's standard
// input is exactly what the task gives it.
//
// Each command gets a prompt of its own (sudo -p) and a marker that the wrapper shell prints
// to standard error once sudo has let it run. Until one of them appears, nothing is written
// to the command's input. When the prompt appears, the password is sent (once); when the
// marker appears, the task's input follows. A second prompt means sudo refused the password:
// its input is closed, and the command fails with a *BecomeError. Both are taken out of what
// the command's output shows.

// becomeTimeout bounds how long sudo may take to ask for the password or to start the
// command, and, once the password is sent, to accept it or ask again.
var becomeTimeout = 30 * time.Second

// refusedGrace is how long sudo gets to exit by itself once its input is closed after a
// refused password, before the command is killed.
const refusedGrace = 5 * time.Second

// BecomeError says sudo did not run a become command: it refused the become password, asked
// for a password when none was set, did not answer in time, or failed before starting it.
type BecomeError struct {
	Host   string // the host's name
	User   string // the user to become
	Reason string
}

func (e *BecomeError) Error() string {
	return fmt.Sprintf("host %s: become %s: %s", e.Host, e.User, e.Reason)
}

// becomeGate holds a become command's input back until sudo has asked for the password or
// started the command, and answers the prompt.
type becomeGate struct {
	host, user, password string
	pty                  bool
	prompt, marker       string
	timeout              time.Duration // becomeTimeout when the command started

	mu      sync.Mutex
	prompts int
	started bool
	err     *BecomeError
	said    []byte // what sudo printed before the command started, for error messages

	ask, ok, refused chan struct{}
	cancel           context.CancelCauseFunc // ends the command; set by the transport
}

func newBecomeGate(cmd *Cmd, host string) *becomeGate {
	user := cmd.BecomeUser
	if user == "" {
		user = "root"
	}
	nonce := randomSuffix() + randomSuffix()
	return &becomeGate{
		host: host, user: user, password: cmd.BecomePassword, pty: cmd.PTY, timeout: becomeTimeout,
		// No % in either: sudo expands %-escapes in its prompt.
		prompt:  "[omsbook-sudo-" + nonce + "] password: ",
		marker:  "omsbook-become-" + nonce,
		ask:     make(chan struct{}),
		ok:      make(chan struct{}),
		refused: make(chan struct{}),
		cancel:  func(error) {},
	}
}

// sudoArgv is the sudo wrapper: the password is read from standard input, after the prompt.
func (g *becomeGate) sudoArgv() []string {
	return []string{"sudo", "-S", "-p", g.prompt, "-H", "-u", g.user, "--"}
}

// announce is the shell command that tells the gate sudo has started the command.
func (g *becomeGate) announce() string { return "echo " + g.marker + " >&2" }

// wrapShell returns the become command line for a shell command line (ssh).
func (g *becomeGate) wrapShell(inner string) string {
	return shellquote.Join(g.sudoArgv()...) + " /bin/sh -c " + shellquote.QuoteIfNeeded(g.announce()+"; "+inner)
}

// wrapArgv returns the become argv for argv (local).
func (g *becomeGate) wrapArgv(argv []string) []string {
	out := append(g.sudoArgv(), "/bin/sh", "-c", g.announce()+`; exec "$@"`, "omsbook-become")
	return append(out, argv...)
}

func (g *becomeGate) onPrompt() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prompts++
	switch {
	case g.started:
	case g.prompts == 1 && g.password != "":
		close(g.ask)
	case g.prompts == 1:
		g.refuseLocked("sudo asks for a password and none is set: set become_password")
	default:
		g.refuseLocked("sudo refused the become password" + g.saidLocked())
	}
}

func (g *becomeGate) onStarted() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started && g.err == nil {
		g.started = true
		close(g.ok)
	}
}

func (g *becomeGate) refuseLocked(reason string) {
	if g.err != nil {
		return
	}
	g.err = &BecomeError{Host: g.host, User: g.user, Reason: reason}
	close(g.refused)
}

// saidLocked quotes the last line printed before the command started (sudo's "Sorry, try
// again.", or the shell's when sudo is missing), for a message.
func (g *becomeGate) saidLocked() string {
	lines := strings.Split(strings.TrimSpace(string(g.said)), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return " (" + last + ")"
	}
	return ""
}

// noteOutput keeps what sudo says before the command starts (bounded).
func (g *becomeGate) noteOutput(p []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started && len(g.said) < 4096 {
		g.said = append(g.said, p[:min(len(p), 4096-len(g.said))]...)
	}
}

// failure is why the command did not run, or nil.
func (g *becomeGate) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return g.err
}

// finish is called once the command has ended with exit status rc: it reports why the
// command did not run, or nil when it did.
func (g *becomeGate) finish(rc int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	if g.started {
		return nil
	}
	g.err = &BecomeError{Host: g.host, User: g.user, Reason: fmt.Sprintf("sudo did not run the command (exit status %d)%s", rc, g.saidLocked())}
	return g.err
}

// timeOut ends a command that sudo keeps waiting.
func (g *becomeGate) timeOut() {
	g.mu.Lock()
	if g.err == nil && !g.started {
		reason := fmt.Sprintf("sudo neither asked for the password nor started the command within %v", g.timeout)
		if g.prompts > 0 {
			reason = fmt.Sprintf("sudo did not accept or refuse the become password within %v", g.timeout)
		}
		g.err = &BecomeError{Host: g.host, User: g.user, Reason: reason + g.saidLocked()}
	}
	err := g.err
	g.mu.Unlock()
	if err != nil {
		g.cancel(err)
	}
}

// feed writes the command's input: the password when sudo asks for it, then, once the
// command has started, in (nil for none). closeIn ends the input. It returns when the
// input is done, the command has ended (done) or ctx has.
func (g *becomeGate) feed(ctx context.Context, w io.Writer, closeIn func(), in io.Reader, done <-chan struct{}) {
	timer := time.NewTimer(g.timeout)
	defer timer.Stop()
	ask := g.ask
	for {
		select {
		case <-ask:
			ask = nil
			if _, err := io.WriteString(w, g.password+"\n"); err != nil {
				closeIn()
				return
			}
			timer.Reset(g.timeout)
		case <-g.ok:
			if in != nil {
				_, _ = io.Copy(w, ctxReader{ctx, in})
			}
			closeIn()
			return
		case <-g.refused:
			if g.pty {
				_, _ = w.Write([]byte{4}) // ^D: the end of input on a terminal
			}
			closeIn()
			select {
			case <-done:
			case <-ctx.Done():
			case <-time.After(refusedGrace):
				g.cancel(g.failure())
			}
			return
		case <-timer.C:
			g.timeOut()
			closeIn()
			return
		case <-done:
			closeIn()
			return
		case <-ctx.Done():
			closeIn()
			return
		}
	}
}

// filter returns a writer that passes what it is given on to out, without sudo's prompt and
// the start marker (and the line end right after either), telling the gate when each
// appears.
func (g *becomeGate) filter(out func([]byte) (int, error)) *becomeFilter {
	return &becomeFilter{g: g, out: out, prompt: []byte(g.prompt), marker: []byte(g.marker)}
}

type becomeFilter struct {
	g              *becomeGate
	out            func([]byte) (int, error)
	prompt, marker []byte

	mu      sync.Mutex
	pending []byte
	passing bool // the command runs: everything passes
	skipNL  bool // drop a line end that follows a token
}

func (f *becomeFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.passing && !f.skipNL && len(f.pending) == 0 {
		if _, err := f.out(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	f.pending = append(f.pending, p...)
	if err := f.scan(); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *becomeFilter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if !f.passing {
		f.g.noteOutput(b)
	}
	_, err := f.out(b)
	return err
}

func (f *becomeFilter) scan() error {
	for {
		if f.skipNL {
			if bytes.HasPrefix(f.pending, []byte("\r")) {
				if len(f.pending) == 1 {
					return nil // a "\n" may follow
				}
				f.pending = f.pending[1:]
			}
			f.pending = bytes.TrimPrefix(f.pending, []byte("\n"))
			if len(f.pending) == 0 {
				return nil
			}
			f.skipNL = false
		}
		if f.passing {
			err := f.emit(f.pending)
			f.pending = nil
			return err
		}
		ip, im := bytes.Index(f.pending, f.prompt), bytes.Index(f.pending, f.marker)
		if ip < 0 && im < 0 {
			// Keep back only what may be the start of a token.
			keep := max(partialSuffix(f.pending, f.prompt), partialSuffix(f.pending, f.marker))
			err := f.emit(f.pending[:len(f.pending)-keep])
			f.pending = append([]byte(nil), f.pending[len(f.pending)-keep:]...)
			return err
		}
		if im >= 0 && (ip < 0 || im < ip) {
			if err := f.emit(f.pending[:im]); err != nil {
				return err
			}
			f.pending = f.pending[im+len(f.marker):]
			f.passing, f.skipNL = true, true
			f.g.onStarted()
			continue
		}
		if err := f.emit(f.pending[:ip]); err != nil {
			return err
		}
		f.pending = f.pending[ip+len(f.prompt):]
		f.skipNL = true
		f.g.onPrompt()
	}
}

// flush passes on what is held back (the output ended inside what looked like a token).
func (f *becomeFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) > 0 && !(f.skipNL && string(f.pending) == "\r") {
		_ = f.emit(f.pending)
	}
	f.pending = nil
}

// partialSuffix returns the length of the longest end of b that begins token.
func partialSuffix(b, token []byte) int {
	for n := min(len(b), len(token)-1); n > 0; n-- {
		if bytes.HasPrefix(token, b[len(b)-n:]) {
			return n
		}
	}
	return 0
}
