package transport

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/omsbook/omsbook/internal/shellquote"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pgidMarker starts the first line a remote command prints: the process id of the login shell
// that sshd started for the session. sshd makes that shell a session and process group leader
// (setsid), so the id names the group and the root of the command's process tree, which is
// what a cancelled command must kill.
const pgidMarker = "\x1eomsbook-pgid:"

// remoteCommandLine builds the command line sent to sshd for cmd. The login shell first reports
// its pid (see pgidMarker), then replaces itself (exec) with the command, so that the command's
// exit status or killing signal is what sshd reports.
func remoteCommandLine(cmd *Cmd) (string, error) {
	var prog string
	switch {
	case len(cmd.Argv) > 0 && cmd.Shell != "":
		return "", errors.New("command has both argv and a shell line: set one")
	case len(cmd.Argv) > 0:
		prog = shellquote.Join(cmd.Argv...)
	case cmd.Shell != "":
		prog = "/bin/sh -c " + shellquote.QuoteIfNeeded(cmd.Shell)
	default:
		return "", errors.New("empty command: set argv or a shell line")
	}
	var inner strings.Builder
	if cmd.Dir != "" {
		fmt.Fprintf(&inner, "cd %s || exit 1; ", shellquote.QuoteIfNeeded(cmd.Dir))
	}
	keys := make([]string, 0, len(cmd.Env))
	for k := range cmd.Env {
		if !envName.MatchString(k) {
			return "", fmt.Errorf("environment variable name %q is not valid: use letters, digits and _", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&inner, "export %s=%s; ", k, shellquote.QuoteIfNeeded(cmd.Env[k]))
	}
	inner.WriteString("exec " + prog)

	body := inner.String()
	if cmd.Become {
		// Directory and environment apply inside sudo, which would reset them otherwise.
		body = "exec " + shellquote.Join(BecomeArgvPrefix(cmd.BecomeUser)...) + " /bin/sh -c " + shellquote.QuoteIfNeeded(inner.String())
	}
	return `printf '` + pgidMarker + `%s\n' "$$"; ` + body, nil
}

// killTreeScript kills the process group pgid and every process below the process pgid, even
// those that left the group (sudo runs its command in a new session with use_pty). It stops
// them first so that none can fork a new child between listing and killing.
func killTreeScript(pgid int) string {
	const list = `cat /proc/[0-9]*/stat 2>/dev/null | awk -v root=%[1]d '{pid=$1; sub(/^.*\) /, ""); pp[pid]=$2}
END{n=1; q[1]=root; for(i=1;i<=n;i++) for(c in pp) if(pp[c]==q[i]) q[++n]=c; for(i=1;i<=n;i++) printf "%%s ", q[i]}'`
	p := strconv.Itoa(pgid)
	return "t=$(" + fmt.Sprintf(list, pgid) + "); kill -STOP -" + p + " $t 2>/dev/null; " +
		"t=$(" + fmt.Sprintf(list, pgid) + "); kill -KILL -" + p + " $t 2>/dev/null; " +
		"kill -CONT $t 2>/dev/null; true"
}

// pgidFilter takes the pgid marker line off the front of a command's standard output and
// passes everything else on. Anything a login script prints before the marker is passed on.
type pgidFilter struct {
	out   writerFunc
	mu    sync.Mutex
	buf   []byte
	found bool
	pgid  int
	ready chan struct{} // closed once the pgid is known
}

type writerFunc func([]byte) (int, error)

func newPgidFilter(out func([]byte) (int, error)) *pgidFilter {
	return &pgidFilter{out: out, ready: make(chan struct{})}
}

// maxPreamble bounds how much output before the marker is held back while looking for it.
const maxPreamble = 64 << 10

func (f *pgidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.found {
		if _, err := f.out(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	for {
		nl := strings.IndexByte(string(f.buf), '\n')
		if nl < 0 {
			break
		}
		line := strings.TrimRight(string(f.buf[:nl]), "\r")
		if i := strings.Index(line, pgidMarker); i >= 0 {
			if pre := line[:i]; pre != "" {
				if _, err := f.out([]byte(pre)); err != nil {
					return 0, err
				}
			}
			f.pgid, _ = strconv.Atoi(line[i+len(pgidMarker):])
			f.found = true
			close(f.ready)
			rest := f.buf[nl+1:]
			f.buf = nil
			if len(rest) > 0 {
				if _, err := f.out(rest); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
		if _, err := f.out(f.buf[:nl+1]); err != nil {
			return 0, err
		}
		f.buf = f.buf[nl+1:]
	}
	if len(f.buf) > maxPreamble {
		// No marker in sight: give up looking rather than hold output back.
		_, err := f.out(f.buf)
		f.buf, f.found = nil, true
		close(f.ready)
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush passes on whatever is still held back (output of a command that ended before the
// marker line was complete).
func (f *pgidFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) > 0 {
		_, _ = f.out(f.buf)
		f.buf = nil
	}
}

// processGroup returns the remote pgid once known, or 0.
func (f *pgidFilter) processGroup() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pgid
}
