package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/sshd"
)

// The executor's tests run their own sshd nodes on 127.0.7.1-2, port 2222. The second node
// has a noexec tmpfs mounted (in its own mount namespace only) at <dir>/noexec.
var (
	xlabOnce sync.Once
	xlab     *sshd.Cluster
	xlabErr  error
	xlabDir  string
)

func executorLab(t *testing.T) *sshd.Cluster {
	t.Helper()
	needSSHD(t)
	xlabOnce.Do(func() {
		xlabDir, xlabErr = os.MkdirTemp("", "omsbook-executor-lab-")
		if xlabErr != nil {
			return
		}
		noexec := filepath.Join(xlabDir, "noexec")
		if xlabErr = os.Mkdir(noexec, 0o755); xlabErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		xlab, xlabErr = sshd.Start(ctx, sshd.Config{Dir: filepath.Join(xlabDir, "sshd"), Addrs: []string{"127.0.7.1", "127.0.7.2"}, Port: 2222,
			NamePrefix: "xnode", Setup: []string{"mount -t tmpfs -o noexec,size=64m tmpfs " + noexec}})
	})
	if xlabErr != nil {
		t.Fatalf("start sshd nodes: %v", xlabErr)
	}
	return xlab // stopped by stopExecutorLab at the end of TestMain
}

func stopExecutorLab() {
	if xlab != nil {
		_ = xlab.Stop()
	}
	if xlabDir != "" {
		os.RemoveAll(xlabDir)
	}
}

func executorSpec(c *sshd.Cluster, i int) Spec {
	s := nodeSpec(c, i)
	s.Executor = ExecutorOn
	return s
}

func dialExecutor(t *testing.T, spec Spec) *SSHConn {
	t.Helper()
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatalf("dial %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.waitExecutor() // the executor starts beside the first commands: wait for it here
	return conn
}

func TestExecutorRunsCommands(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	if !conn.UsesExecutor() {
		t.Fatalf("no executor: %s", conn.ExecutorFallback())
	}
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), 128<<10) // 2 MiB: many windows of input
	tests := []struct {
		name       string
		cmd        Cmd
		rc         int
		signal     string
		out, err   string
		outSuffix  string
		wantOutLen int
	}{
		{name: "argv", cmd: Cmd{Argv: []string{"echo", "a b", "$HOME"}}, out: "a b $HOME\n"},
		{name: "shell, separate streams", cmd: Cmd{Shell: "echo out; echo err >&2; exit 3"}, rc: 3, out: "out\n", err: "err\n"},
		{name: "env and dir", cmd: Cmd{Shell: `echo "$A|$B|$(pwd)"`, Env: map[string]string{"A": "x y", "B": "'q'"}, Dir: "/tmp"}, out: "x y|'q'|/tmp\n"},
		{name: "missing dir", cmd: Cmd{Argv: []string{"true"}, Dir: "/nonexistent-omsbook"}, rc: 1, err: "cd: /nonexistent-omsbook: no such file or directory\n"},
		{name: "missing program", cmd: Cmd{Argv: []string{"omsbook-no-such-program"}}, rc: 127, err: "omsbook-no-such-program: not found\n"},
		{name: "stdin", cmd: Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader("hello\n")}, out: "hello\n"},
		{name: "big stdin", cmd: Cmd{Shell: "wc -c", Stdin: bytes.NewReader(big)}, out: "2097152\n"},
		{name: "big output", cmd: Cmd{Shell: "head -c 3000000 /dev/zero"}, wantOutLen: 3000000},
		{name: "input not read", cmd: Cmd{Argv: []string{"true"}, Stdin: bytes.NewReader(big)}},
		{name: "killed by a signal", cmd: Cmd{Shell: "kill -TERM $$"}, rc: -1, signal: "TERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Exec(ctx, &tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if res.RC != tt.rc || res.Signal != tt.signal {
				t.Errorf("rc %d signal %q, want %d %q (stderr %q)", res.RC, res.Signal, tt.rc, tt.signal, res.Stderr)
			}
			if tt.wantOutLen > 0 {
				if len(res.Stdout) != tt.wantOutLen {
					t.Errorf("stdout has %d bytes, want %d", len(res.Stdout), tt.wantOutLen)
				}
			} else if string(res.Stdout) != tt.out {
				t.Errorf("stdout %q, want %q", res.Stdout, tt.out)
			}
			if string(res.Stderr) != tt.err {
				t.Errorf("stderr %q, want %q", res.Stderr, tt.err)
			}
		})
	}
}

func TestExecutorParallelCommands(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := strings.Repeat("x", i*1000)
			res, err := conn.Exec(t.Context(), &Cmd{Shell: "sleep 0.1; cat", Stdin: strings.NewReader(want)})
			switch {
			case err != nil:
				errs <- err
			case string(res.Stdout) != want:
				errs <- errors.New("output of one command went to another")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestExecutorFiles(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	ctx := t.Context()
	dir := t.TempDir()
	f := Files{Conn: conn}
	p := filepath.Join(dir, "a.txt")
	if err := f.WriteFileAtomic(ctx, p, strings.NewReader("hello"), 0o4640); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode()&fs.ModeSetuid == 0 || st.Mode().Perm() != 0o640 {
		t.Fatalf("written file: %v %v", st.Mode(), err)
	}
	if b, err := f.ReadFile(ctx, p, 0); err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, err := f.ReadFile(ctx, p, 3); !errors.Is(err, ErrTooBig) {
		t.Fatalf("read with a limit of 3: %v", err)
	}
	if _, err := f.ReadFile(ctx, filepath.Join(dir, "missing"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read a missing file: %v", err)
	}
	sum := sha256.Sum256([]byte("hello"))
	if got, err := f.Checksum(ctx, p, "sha256"); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Fatalf("checksum %q, %v", got, err)
	}
	if err := f.Chmod(ctx, p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Chown(ctx, p, "nobody", "", false, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	li, err := f.Lstat(ctx, filepath.Join(dir, "l"))
	if err != nil || li.Type != "link" || li.LinkTarget != "a.txt" {
		t.Fatalf("lstat link: %+v %v", li, err)
	}
	fi, err := f.Stat(ctx, filepath.Join(dir, "l"))
	if err != nil || fi.Type != "file" || fi.Mode != 0o600 || fi.Owner != "nobody" || fi.Size != 5 {
		t.Fatalf("stat through the link: %+v %v", fi, err)
	}
	if mi, err := f.Stat(ctx, filepath.Join(dir, "missing")); err != nil || mi.Exists {
		t.Fatalf("stat missing: %+v %v", mi, err)
	}
	if _, err := conn.Stat(ctx, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Conn.Stat of a missing path: %v", err)
	}
	var got bytes.Buffer
	if err := conn.Get(ctx, p, &got); err != nil || got.String() != "hello" {
		t.Fatalf("get %q, %v", got.String(), err)
	}
	if err := conn.Put(ctx, strings.NewReader("x"), filepath.Join(dir, "no-such-dir", "f"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("put into a missing directory: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*omsbook-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestExecutorCancelKillsProcessGroup(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	marker := sleepMarker()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		// A child that leaves the process group too: the whole tree must go.
		_, err := conn.Exec(ctx, &Cmd{Shell: marker + " & setsid " + marker + " & " + marker})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(remoteProcs(marker)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the command did not start: %v", remoteProcs(marker))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled command: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Exec did not return after cancel")
	}
	waitGone(t, marker)
	// The connection and its executor go on serving.
	if res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); err != nil || res.RC != 0 {
		t.Fatalf("after a cancel: %v %v", res, err)
	}
}

// sleepMarker is a sleep command line no other process has: its duration is random.
func sleepMarker() string { return fmt.Sprintf("sleep %d", 3_000_000+mrand.IntN(1_000_000)) }

func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(remoteProcs(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes left on the host: %v", remoteProcs(marker))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExecutorTimeoutOnHostWhenClientGone(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	marker := sleepMarker()
	go func() { _, _ = conn.Exec(context.Background(), &Cmd{Shell: marker}) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(remoteProcs(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Losing the stream (here: closing the executor's session under it) ends the executor,
	// which kills what it runs.
	conn.closeExecutor()
	waitGone(t, marker)
}

func TestExecutorCachedBinaryIsReused(t *testing.T) {
	c := executorLab(t)
	spec := executorSpec(c, 0)
	spec.ExecutorDir = t.TempDir()
	dialExecutor(t, spec)
	img, err := image()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(spec.ExecutorDir, "executor-"+img.sum)
	st1, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("no cached executor: %v", err)
	}
	if st1.Mode().Perm() != 0o700 {
		t.Errorf("cached executor mode %v", st1.Mode())
	}
	time.Sleep(20 * time.Millisecond)
	conn := dialExecutor(t, spec)
	st2, err := os.Stat(bin)
	if err != nil || !st2.ModTime().Equal(st1.ModTime()) || !conn.UsesExecutor() {
		t.Fatalf("the cached executor was written again or not used: %v, %v", err, conn.ExecutorFallback())
	}
}

func TestExecutorFallsBack(t *testing.T) {
	c := executorLab(t)
	img, err := image()
	if err != nil {
		t.Fatal(err)
	}
	fake := t.TempDir()
	// A cached "executor" that cannot run, as on a host whose loader refuses it.
	if err := os.WriteFile(filepath.Join(fake, "executor-"+img.sum), []byte("#!/bin/sh\necho 'cannot execute binary file' >&2\nexit 126\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, executor string
		node                int
		want                string // in the fallback note; "" for none
	}{
		{name: "unwritable cache", dir: "/dev/null/omsbook", executor: ExecutorOn, want: "cannot upload it to /dev/null/omsbook"},
		{name: "noexec mount", dir: filepath.Join(xlabDirOf(t), "noexec"), executor: ExecutorOn, node: 1, want: "cannot be run there (is it mounted noexec?)"},
		{name: "binary that does not run", dir: fake, executor: ExecutorOn, want: "cannot execute binary file"},
		{name: "opted out", executor: ExecutorOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := nodeSpec(c, tt.node)
			spec.Executor, spec.ExecutorDir = tt.executor, tt.dir
			conn := dialExecutor(t, spec)
			if conn.UsesExecutor() {
				t.Fatal("uses an executor")
			}
			if note := conn.ExecutorFallback(); tt.want == "" && note != "" || !strings.Contains(note, tt.want) {
				t.Fatalf("fallback note %q, want it to say %q", note, tt.want)
			}
			res, err := conn.Exec(t.Context(), &Cmd{Shell: "echo ok"})
			if err != nil || string(res.Stdout) != "ok\n" {
				t.Fatalf("a command over sessions: %v %v", res, err)
			}
		})
	}
}

func xlabDirOf(t *testing.T) string {
	t.Helper()
	return xlabDir
}

func TestExecutorLeavesBecomeAndRawToSessions(t *testing.T) {
	c := executorLab(t)
	conn := dialExecutor(t, executorSpec(c, 0))
	parent := func(cmd *Cmd) string {
		t.Helper()
		res, err := conn.Exec(t.Context(), cmd)
		if err != nil || res.RC != 0 {
			t.Fatalf("%v %v", res, err)
		}
		return string(res.Stdout)
	}
	// Who started the shell: the executor, or sshd for a session of its own.
	const who = `tr '\0' ' ' < /proc/$PPID/cmdline`
	if got := parent(&Cmd{Shell: who}); !strings.Contains(got, "__executor") {
		t.Errorf("a command's parent is %q, not the executor", got)
	}
	if got := parent(&Cmd{Shell: who, Session: true}); strings.Contains(got, "__executor") {
		t.Errorf("a session command ran in the executor: %q", got)
	}
	if got := parent(&Cmd{Shell: who, Become: true}); strings.Contains(got, "__executor") {
		t.Errorf("a become command ran in the executor: %q", got)
	}
}
