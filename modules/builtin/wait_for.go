package builtin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// WaitFor waits until a TCP port is open or closed, or a file is present (with a line
// matching a regex) or absent, on the host the task executes on.
type WaitFor struct{}

func (WaitFor) Name() string { return "wait_for" }

func (WaitFor) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Wait for a TCP port, a file, or a line in a file",
		Description: "Waits, from the host the task executes on, until `host`:`port` accepts TCP " +
			"connections (state started, the default) or refuses them (stopped), or until `path` " +
			"exists (present; with `search_regex`, until a line of the file matches) or is gone " +
			"(absent). Polls every `sleep` after an initial `delay`, and fails after `timeout` " +
			"naming what it waited for. On remote hosts the port probe runs bash's /dev/tcp, nc or " +
			"python, whichever the host has.",
		CheckMode: "Probes once without waiting: ok when the condition already holds, otherwise " +
			"unknown (the real run would wait up to timeout).",
		Args: []modules.Arg{
			{Name: "host", Type: modules.String, Default: "127.0.0.1", Doc: "the address to connect to, seen from the executing host"},
			{Name: "port", Type: modules.Int, Doc: "the TCP port to wait for"},
			{Name: "path", Type: modules.String, Doc: "the file to wait for (instead of port)"},
			{Name: "search_regex", Type: modules.String, Doc: "with path: wait until the file has a match for this regular expression (multi-line mode)"},
			{Name: "state", Type: modules.String, Default: "started", Choices: []string{"started", "stopped", "present", "absent"}, Doc: "started/present: open port or existing file; stopped/absent: closed port or missing file"},
			{Name: "timeout", Type: modules.Duration, Default: 300 * time.Second, Doc: "how long to wait in all"},
			{Name: "delay", Type: modules.Duration, Default: time.Duration(0), Doc: "wait this long before the first probe"},
			{Name: "sleep", Type: modules.Duration, Default: time.Second, Doc: "the time between probes"},
			{Name: "connect_timeout", Type: modules.Duration, Default: 5 * time.Second, Doc: "how long one connection attempt may take"},
			{Name: "msg", Type: modules.String, Doc: "the failure message on timeout, instead of the default"},
		},
		Returns: []modules.Field{
			{Name: "elapsed", Type: "float", Doc: "seconds waited"},
			{Name: "state", Type: "string", Doc: "the state waited for"},
			{Name: "match", Type: "string", Doc: "with search_regex: the text that matched"},
		},
	}
}

// Validate requires exactly one of port and path, and search_regex only with a present path.
func (WaitFor) Validate(args modules.Args) error {
	if err := oneOf(args, "port", "path"); err != nil {
		return err
	}
	if args.Has("search_regex") {
		if !args.Has("path") {
			return errors.New("search_regex works with path only")
		}
		if s, ok := args["search_regex"].(string); ok && !unrendered(s) {
			if _, err := regexp.Compile(s); err != nil {
				return fmt.Errorf("search_regex: %w", err)
			}
		}
		if st := args.String("state"); st == "absent" || st == "stopped" {
			return errors.New("search_regex waits for a match: use it with state present")
		}
	}
	return nil
}

// waitGoal is one wait_for condition and how to probe it.
type waitGoal struct {
	what  string // for messages: "127.0.0.1:8089 to be open"
	probe func(ctx context.Context) (bool, string, error)
}

func newWaitGoal(h *modules.Host, args modules.Args) (waitGoal, error) {
	if err := (WaitFor{}).Validate(args); err != nil {
		return waitGoal{}, err
	}
	wantUp := args.String("state") != "stopped" && args.String("state") != "absent"
	if args.Has("port") {
		addr := net.JoinHostPort(args.String("host"), strconv.Itoa(args.Int("port")))
		what := addr + " to accept connections"
		if !wantUp {
			what = addr + " to refuse connections"
		}
		ct := args.Duration("connect_timeout")
		return waitGoal{what: what, probe: func(ctx context.Context) (bool, string, error) {
			open, err := tcpProbe(ctx, h, args.String("host"), args.Int("port"), ct)
			return open == wantUp, "", err
		}}, nil
	}
	p := args.String("path")
	if !wantUp {
		return waitGoal{what: p + " to be absent", probe: func(ctx context.Context) (bool, string, error) {
			fi, err := statHost(ctx, h, p)
			return fi == nil, "", err
		}}, nil
	}
	if !args.Has("search_regex") {
		return waitGoal{what: p + " to exist", probe: func(ctx context.Context) (bool, string, error) {
			fi, err := statHost(ctx, h, p)
			return fi != nil, "", err
		}}, nil
	}
	re, err := regexp.Compile("(?m)" + args.String("search_regex"))
	if err != nil {
		return waitGoal{}, fmt.Errorf("search_regex: %w", err)
	}
	return waitGoal{what: fmt.Sprintf("%s to match %q", p, args.String("search_regex")), probe: func(ctx context.Context) (bool, string, error) {
		fi, err := statHost(ctx, h, p)
		if err != nil || fi == nil {
			return false, "", err
		}
		return searchHostFile(ctx, h, p, re)
	}}, nil
}

// searchHostFile streams a host file through re without holding it in memory.
func searchHostFile(ctx context.Context, h *modules.Host, p string, re *regexp.Regexp) (bool, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(h.Conn.Get(ctx, p, pw)) }()
	defer pr.Close()
	// Line by line keeps memory bounded; a multi-line pattern sees one line at a time, which is
	// how wait_for is used (log lines).
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if loc := re.FindStringIndex(sc.Text()); loc != nil {
			return true, sc.Text()[loc[0]:loc[1]], nil
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		// The file may be rotated or unreadable for a moment: not a match yet.
		return false, "", nil
	}
	return false, "", nil
}

// tcpProbe reports whether host:port accepts a TCP connection from the executing host.
func tcpProbe(ctx context.Context, h *modules.Host, host string, port int, timeout time.Duration) (bool, error) {
	if h.Conn.Local() {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, nil
		}
		c.Close()
		return true, nil
	}
	return remoteTCPProbe(ctx, h, host, port, timeout)
}

// tcpProbeScript connects to $1:$2 within $3 seconds with whatever the host has: bash's
// /dev/tcp, nc, or python. Exit 0: open; 100: no tool; anything else: closed.
const tcpProbeScript = `h=$1 p=$2 t=$3
if command -v bash >/dev/null 2>&1; then
  if command -v timeout >/dev/null 2>&1; then
    timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h" "$p" 2>/dev/null
  else
    bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h" "$p" 2>/dev/null
  fi
  exit $?
fi
if command -v nc >/dev/null 2>&1; then nc -z -w "$t" "$h" "$p" 2>/dev/null; exit $?; fi
for py in python3 python; do
  if command -v $py >/dev/null 2>&1; then
    $py -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3]))' "$h" "$p" "$t" 2>/dev/null
    exit $?
  fi
done
exit 100`

func remoteTCPProbe(ctx context.Context, h *modules.Host, host string, port int, timeout time.Duration) (bool, error) {
	secs := int(timeout.Seconds())
	if secs < 1 {
		secs = 1
	}
	// The arguments travel as positional parameters, never spliced into the script.
	cmd := h.ArgvCmd("/bin/sh", "-c", tcpProbeScript, "wait_for", host, strconv.Itoa(port), strconv.Itoa(secs))
	res, err := h.Conn.Exec(ctx, cmd)
	if err != nil {
		return false, err
	}
	switch res.RC {
	case 0:
		return true, nil
	case 100:
		return false, errors.New("the host has neither bash, nc nor python to probe a TCP port: install one of them")
	}
	return false, nil
}

func (WaitFor) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	goal, err := newWaitGoal(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	ok, match, err := goal.probe(ctx)
	if err != nil {
		return modules.Result{}, fmt.Errorf("wait_for %s: %w", goal.what, err)
	}
	data := map[string]any{"elapsed": 0.0, "state": args.String("state")}
	if ok {
		if match != "" {
			data["match"] = match
		}
		return modules.Result{Msg: "already so: " + goal.what, Data: data}, nil
	}
	return modules.Result{Unknown: true, Msg: fmt.Sprintf("not yet: waiting for %s; the real run would wait up to %s", goal.what, args.Duration("timeout")), Data: data}, nil
}

func (WaitFor) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	goal, err := newWaitGoal(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	start := time.Now()
	deadline := start.Add(args.Duration("timeout"))
	sleep := args.Duration("sleep")
	if sleep <= 0 {
		sleep = time.Second
	}
	if err := sleepCtx(ctx, args.Duration("delay")); err != nil {
		return modules.Result{}, err
	}
	for {
		ok, match, err := goal.probe(ctx)
		if err != nil {
			return modules.Result{}, fmt.Errorf("wait_for %s: %w", goal.what, err)
		}
		elapsed := time.Since(start)
		data := map[string]any{"elapsed": elapsed.Seconds(), "state": args.String("state")}
		if ok {
			if match != "" {
				data["match"] = match
			}
			return modules.Result{Data: data}, nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			msg := args.String("msg")
			if msg == "" {
				msg = fmt.Sprintf("timeout after %s waiting for %s", elapsed.Round(time.Millisecond), goal.what)
			}
			return modules.Fail(msg, data), nil
		}
		if err := sleepCtx(ctx, min(sleep, remaining)); err != nil {
			return modules.Result{}, err
		}
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
