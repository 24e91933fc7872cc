package executor

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/omsbook/omsbook/transport/execproto"
)

// reapGrace is how long output pipes may stay open after the command was killed (a child
// that escaped the kill holding them) before they are closed under it.
const reapGrace = 2 * time.Second

// runExec runs one command and sends its output and exit status.
func (s *server) runExec(req *request, payload []byte) {
	var er execproto.ExecRequest
	if err := json.Unmarshal(payload, &er); err != nil {
		s.send(execproto.Exit, req.id, execproto.ExitStatus{RC: -1, Error: "bad exec request: " + err.Error()})
		return
	}
	st := s.execute(req, &er)
	s.send(execproto.Exit, req.id, st)
}

func (s *server) execute(req *request, er *execproto.ExecRequest) execproto.ExitStatus {
	argv := er.Argv
	if er.Shell != "" {
		argv = []string{"/bin/sh", "-c", er.Shell}
	}
	if len(argv) == 0 {
		return execproto.ExitStatus{RC: -1, Error: "empty command"}
	}
	if er.Dir != "" {
		// As the session's "cd DIR || exit 1".
		if st, err := os.Stat(er.Dir); err != nil || !st.IsDir() {
			msg := "not a directory"
			if err != nil {
				msg = strings.TrimPrefix(err.Error(), "stat "+er.Dir+": ")
			}
			s.output(req.id, execproto.Stderr, []byte("cd: "+er.Dir+": "+msg+"\n"))
			return execproto.ExitStatus{RC: 1}
		}
	}
	env := environ(er.Env)
	prog, err := lookPath(argv[0], er.Dir, env)
	if err != nil {
		rc := 127
		if errors.Is(err, fs.ErrPermission) {
			rc = 126
		}
		s.output(req.id, execproto.Stderr, []byte(argv[0]+": "+err.Error()+"\n"))
		return execproto.ExitStatus{RC: rc}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return execproto.ExitStatus{RC: -1, Error: err.Error()}
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return execproto.ExitStatus{RC: -1, Error: err.Error()}
	}
	var inR, inW *os.File
	if er.Stdin {
		if inR, inW, err = os.Pipe(); err != nil {
			outR.Close()
			outW.Close()
			errR.Close()
			errW.Close()
			return execproto.ExitStatus{RC: -1, Error: err.Error()}
		}
	}
	c := &exec.Cmd{Path: prog, Args: argv, Dir: er.Dir, Env: env, Stdout: outW, Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if inR != nil {
		c.Stdin = inR
	}
	startErr := c.Start()
	outW.Close()
	errW.Close()
	if inR != nil {
		inR.Close()
	}
	if startErr != nil {
		outR.Close()
		errR.Close()
		if inW != nil {
			inW.Close()
		}
		rc := 127
		if errors.Is(startErr, fs.ErrPermission) {
			rc = 126
		}
		s.output(req.id, execproto.Stderr, []byte(argv[0]+": "+startErr.Error()+"\n"))
		return execproto.ExitStatus{RC: rc}
	}
	return s.supervise(req, c, er.Timeout, outR, errR, inW)
}

// supervise feeds the command's input, relays its output, and kills its process group on
// cancel or timeout; it returns once the command has ended and its output is relayed.
func (s *server) supervise(req *request, c *exec.Cmd, timeout time.Duration, outR, errR, inW *os.File) execproto.ExitStatus {
	pid := c.Process.Pid
	var relay sync.WaitGroup
	relay.Add(2)
	go func() { defer relay.Done(); s.relay(req.id, execproto.Stdout, outR) }()
	go func() { defer relay.Done(); s.relay(req.id, execproto.Stderr, errR) }()
	if inW != nil {
		go s.feed(req, inW)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	killed := false
	var werr error
	select {
	case werr = <-exited:
	case <-req.abort:
		killTree(pid)
		killed = true
		werr = <-exited
	case <-timer:
		killTree(pid)
		killed = true
		werr = <-exited
	}
	// The command is gone; its output ends when every process holding the pipes has. After a
	// kill, descendants that escaped get a moment, then the pipes are closed under them.
	relayed := make(chan struct{})
	go func() { relay.Wait(); close(relayed) }()
	reap := func() {
		select {
		case <-relayed:
		case <-time.After(reapGrace):
			outR.Close()
			errR.Close()
			<-relayed
		}
	}
	if killed {
		reap()
	} else {
		select {
		case <-relayed:
		case <-req.abort:
			killTree(pid)
			reap()
			killed = true
		}
	}
	outR.Close()
	errR.Close()
	if inW != nil {
		req.in.close()
	}
	return exitStatus(c.ProcessState, werr, killed)
}

func exitStatus(ps *os.ProcessState, werr error, killed bool) execproto.ExitStatus {
	if ps == nil {
		msg := "no exit status"
		if werr != nil {
			msg = werr.Error()
		}
		return execproto.ExitStatus{RC: -1, Error: msg}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		return execproto.ExitStatus{RC: -1, Signal: strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")}
	case killed && ps.ExitCode() == 0:
		// Ended by itself while being killed: still report the kill the client asked for.
		return execproto.ExitStatus{RC: -1, Signal: "KILL"}
	}
	return execproto.ExitStatus{RC: ps.ExitCode()}
}

// relay sends what r gives as frames of type t until it ends.
func (s *server) relay(id uint32, t execproto.Type, r *os.File) {
	buf := make([]byte, execproto.ChunkSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.output(id, t, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (s *server) output(id uint32, t execproto.Type, b []byte) { _ = s.w.Write(t, id, b) }

// feed writes the request's input to w, acknowledging each chunk, and closes w at its end.
// A command that exits without reading its input ends the feed (the write fails).
func (s *server) feed(req *request, w *os.File) {
	defer w.Close()
	broken := false
	for {
		b := req.in.pop()
		if b == nil {
			return
		}
		if !broken {
			if _, err := w.Write(b); err != nil {
				broken = true
			}
		}
		ackInput(req, len(b))
	}
}

// environ is the executor's environment with env added (the session's login environment plus
// the task's variables, as the session transport exports them).
func environ(env map[string]string) []string {
	base := os.Environ()
	if len(env) == 0 {
		return base
	}
	out := make([]string, 0, len(base)+len(env))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := env[k]; !over {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// lookPath finds name as the shell's exec would: a name with a slash as it is (relative to
// dir), else along PATH of env.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if dir != "" && !strings.HasPrefix(name, "/") {
			p = dir + "/" + name
		}
		if err := executable(p); err != nil {
			return "", err
		}
		return name, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	denied := false
	for _, d := range strings.Split(path, ":") {
		if d == "" {
			d = "."
		}
		p := d + "/" + name
		if d != "" && !strings.HasPrefix(d, "/") && dir != "" {
			p = dir + "/" + p
		}
		switch err := executable(p); {
		case err == nil:
			return p, nil
		case errors.Is(err, fs.ErrPermission):
			denied = true
		}
	}
	if denied {
		return "", fs.ErrPermission
	}
	return "", errors.New("not found")
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("not found")
		}
		return err
	}
	if st.IsDir() {
		return fs.ErrPermission
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return fs.ErrPermission
	}
	return nil
}

// killTree kills the process group pgid and every process below pid, even those that left
// the group, stopping them first so that none can fork between listing and killing.
func killTree(pid int) {
	tree := descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGSTOP)
	for _, p := range tree {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	tree = descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range tree {
		_ = syscall.Kill(p, syscall.SIGKILL)
		_ = syscall.Kill(p, syscall.SIGCONT)
	}
}

// descendants lists the processes below pid (from /proc), pid first.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
