package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
	"github.com/omsbook/omsbook/transport/executor"
)

// executorCache is the executor's cache directory on the (loopback) hosts during the tests.
var executorCache string

// The integration tests run real OpenSSH sshd nodes on 127.0.0.101-103, port 2222: the
// addresses this package's tests own (other packages' tests use other addresses or ports).
var labAddrs = []string{"127.0.0.101", "127.0.0.102", "127.0.0.103"}

const labPort = 2222

var (
	labOnce    sync.Once
	labCluster *sshd.Cluster
	labErr     error
	labDir     string
)

func TestMain(m *testing.M) {
	executor.ServeIfAsked() // the test binary is the hosts' executor (OMSBOOK_EXECUTOR=on)
	SetExecutorBinary("")
	if os.Getenv(ExecutorDirEnv) == "" {
		if dir, err := os.MkdirTemp("", "omsbook-executor-cache-"); err == nil {
			os.Setenv(ExecutorDirEnv, dir)
			executorCache = dir
		}
	}
	code := m.Run()
	if executorCache != "" {
		os.RemoveAll(executorCache)
	}
	if labCluster != nil {
		_ = labCluster.Stop()
	}
	if labDir != "" {
		os.RemoveAll(labDir)
	}
	stopSecLab()
	stopExecutorLab()
	os.Exit(code)
}

// lab returns the shared three-node cluster, starting it on first use. It skips the test when
// sshd cannot run here, and fails instead when CI=true.
func lab(t *testing.T) *sshd.Cluster {
	t.Helper()
	needSSHD(t)
	labOnce.Do(func() {
		labDir, labErr = os.MkdirTemp("", "omsbook-transport-lab-")
		if labErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		labCluster, labErr = sshd.Start(ctx, sshd.Config{Dir: labDir, Addrs: labAddrs, Port: labPort})
	})
	if labErr != nil {
		t.Fatalf("start sshd nodes: %v", labErr)
	}
	return labCluster
}

// needSSHD skips the test under -short or when sshd cannot run here (fails under CI=true).
func needSSHD(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with real sshd; skipped with -short")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "real sshd unavailable: %v", err)
	}
}

func nodeSpec(c *sshd.Cluster, i int) Spec {
	n := c.Nodes[i]
	return Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, SSHKey: c.ClientKey, KnownHosts: c.KnownHosts}
}

func dialNode(t *testing.T, c *sshd.Cluster, i int) *SSHConn {
	t.Helper()
	conn, err := DialSSH(t.Context(), nodeSpec(c, i))
	if err != nil {
		t.Fatalf("dial %s: %v", c.Nodes[i].Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	if ExecutorSetting(Spec{}) == ExecutorOn && !conn.UsesExecutor() {
		t.Fatalf("%s=on but %s uses sessions: %s", ExecutorEnv, c.Nodes[i].Name, conn.ExecutorFallback())
	}
	return conn
}

// remoteProcs lists processes on the host (the nodes run on this machine) whose command line
// contains s.
func remoteProcs(s string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(line, s) {
			found = append(found, e.Name()+": "+line)
		}
	}
	return found
}

// procsLeft waits a little for processes matching s to go (a killed process may take a
// moment to be scheduled and exit on a busy machine), then lists those still there.
func procsLeft(s string) []string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := remoteProcs(s)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNoConnections waits a little for the nodes to finish tearing down earlier tests'
// connections, so that connection counts start from zero.
func waitNoConnections(c *sshd.Cluster) {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		total := 0
		for i := range c.Nodes {
			total += c.Connections(i)
		}
		if total == 0 {
			return
		}
	}
}

func TestSSHParallelTasksOneConnectionPerHost(t *testing.T) {
	c := lab(t)
	waitNoConnections(c)
	conns := make([]*SSHConn, len(c.Nodes))
	for i := range c.Nodes {
		conns[i] = dialNode(t, c, i)
	}
	const perHost = 24 // more than the sessions allowed at once: the rest must queue, not fail
	var wg sync.WaitGroup
	errs := make(chan error, perHost*len(conns))
	start := time.Now()
	for h, conn := range conns {
		for j := 0; j < perHost; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := conn.Exec(t.Context(), &Cmd{Shell: fmt.Sprintf("sleep 0.2; echo host%d-task%d", h, j)})
				if err != nil {
					errs <- err
					return
				}
				if got, want := string(res.Stdout), fmt.Sprintf("host%d-task%d\n", h, j); got != want || res.RC != 0 {
					errs <- fmt.Errorf("host %d task %d: stdout %q rc %d, want %q rc 0", h, j, got, res.RC, want)
				}
			}()
		}
	}
	// While the tasks run, every node serves exactly one connection.
	time.Sleep(100 * time.Millisecond)
	for i := range c.Nodes {
		if n := c.Connections(i); n != 1 {
			t.Errorf("node %s serves %d connections during the run, want 1", c.Nodes[i].Name, n)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d tasks of 0.2 s on %d hosts in %v", perHost*len(conns), len(conns), time.Since(start))
}

func TestSSHExecSemantics(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 0)
	dir := t.TempDir()
	var live bytes.Buffer
	tests := []struct {
		name       string
		cmd        Cmd
		wantOut    string
		wantErr    string
		wantRC     int
		wantSignal string
	}{
		{"argv words intact", Cmd{Argv: []string{"printf", "%s|", "a b", "it's", "$HOME", ""}}, "a b|it's|$HOME||", "", 0, ""},
		{"shell line", Cmd{Shell: "echo out; echo err >&2; exit 3"}, "out\n", "err\n", 3, ""},
		{"dir", Cmd{Argv: []string{"pwd"}, Dir: dir}, dir + "\n", "", 0, ""},
		{"env", Cmd{Shell: `echo "$GREETING"`, Env: map[string]string{"GREETING": "hello 'world'"}}, "hello 'world'\n", "", 0, ""},
		{"stdin", Cmd{Argv: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("piped in\n")}, "PIPED IN\n", "", 0, ""},
		{"live output", Cmd{Shell: "echo streamed", Stdout: &live}, "streamed\n", "", 0, ""},
		{"signal", Cmd{Shell: "kill -TERM $$"}, "", "", -1, "TERM"},
		{"no pty", Cmd{Shell: "tty || true"}, "not a tty\n", "", 0, ""},
		{"missing program", Cmd{Argv: []string{"/nonexistent/prog"}}, "", "", 127, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Exec(t.Context(), &tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != tt.wantOut || res.RC != tt.wantRC || res.Signal != tt.wantSignal {
				t.Errorf("got stdout %q rc %d signal %q, want %q rc %d signal %q (stderr %q)",
					res.Stdout, res.RC, res.Signal, tt.wantOut, tt.wantRC, tt.wantSignal, res.Stderr)
			}
			if tt.wantErr != "" && string(res.Stderr) != tt.wantErr {
				t.Errorf("stderr %q, want %q", res.Stderr, tt.wantErr)
			}
		})
	}
	if live.String() != "streamed\n" {
		t.Errorf("live stdout writer got %q", live.String())
	}
}

func TestSSHCleanLoginEnvironmentIsFast(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 1)
	var total time.Duration
	const n = 20
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); err != nil {
			t.Fatal(err)
		}
		total += time.Since(t0)
	}
	t.Logf("`true` over the open connection: %v per command (mean of %d)", total/n, n)
	t0 := time.Now()
	c2, err := DialSSH(t.Context(), nodeSpec(c, 1))
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	t.Logf("a fresh connection (handshake + login): %v", time.Since(t0))
	if per := total / n; per > 150*time.Millisecond {
		t.Errorf("a command costs %v: the login shell's start-up files are not clean", per)
	}
}

func TestSSHChangedHostKeyIsRefused(t *testing.T) {
	c := lab(t)
	// A known_hosts that lists node1 with node2's key: node1's real key looks changed.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	n1, n2 := c.Nodes[0], c.Nodes[1]
	forged := "[" + n1.Addr + "]:" + strconv.Itoa(n1.Port) + " " + strings.SplitN(n2.HostKeyLine, " ", 2)[1]
	if err := os.WriteFile(kh, []byte("# line 1\n"+forged+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := nodeSpec(c, 0)
	spec.KnownHosts, spec.AcceptNewHostKeys = kh, true
	_, err := DialSSH(t.Context(), spec)
	var u *UnreachableError
	var hk *HostKeyError
	if !errors.As(err, &u) || !errors.As(err, &hk) || !hk.Changed {
		t.Fatalf("dial with a changed host key: %v, want an unreachable changed-key error", err)
	}
	for _, want := range []string{n1.Name, "CHANGED", n1.HostKeyFingerprint, kh + ":2", "attack", "remove line 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if b, _ := os.ReadFile(kh); strings.Count(string(b), "\n") != 2 {
		t.Errorf("known_hosts was modified:\n%s", b)
	}
}

func TestSSHUnknownHostKey(t *testing.T) {
	c := lab(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	spec := nodeSpec(c, 2)
	spec.KnownHosts = kh
	_, err := DialSSH(t.Context(), spec)
	if !IsUnreachable(err) {
		t.Fatalf("dial an unknown host: %v, want unreachable", err)
	}
	for _, want := range []string{"not known", "ssh-ed25519", c.Nodes[2].HostKeyFingerprint, "ssh-keyscan -p 2222 -t ed25519 " + c.Nodes[2].Addr, "--accept-new-host-keys"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Accepting new keys: all three hosts at once, several times, record one line each.
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for i := range c.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spec := nodeSpec(c, i)
				spec.KnownHosts, spec.AcceptNewHostKeys = kh, true
				conn, err := DialSSH(t.Context(), spec)
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
			}()
		}
	}
	wg.Wait()
	b, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if strings.Count(string(b), n.HostKeyLine) != 1 {
			t.Errorf("known_hosts should list %s once:\n%s", n.HostKeyLine, b)
		}
	}
	// Now known: dialling without accepting works.
	spec.AcceptNewHostKeys = false
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatalf("dial after recording: %v", err)
	}
	conn.Close()
}

func TestSSHStoppedHostIsUnreachable(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 2)
	running := make(chan error, 1)
	go func() {
		_, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"sleep", "3011"}})
		running <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := c.StopNode(2); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.StartNode(context.Background(), 2); err != nil {
			t.Errorf("restart node: %v", err)
		}
	}()
	select {
	case err := <-running:
		if !IsUnreachable(err) {
			t.Errorf("command on a host whose sshd died: %v, want unreachable", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("command on a dead connection did not return")
	}
	if _, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); !IsUnreachable(err) {
		t.Errorf("exec on a lost connection: %v, want unreachable", err)
	}
	spec := nodeSpec(c, 2)
	spec.ConnectTimeout = 3 * time.Second
	t0 := time.Now()
	_, err := DialSSH(t.Context(), spec)
	if !IsUnreachable(err) || !strings.Contains(err.Error(), c.Nodes[2].Name) {
		t.Errorf("dial a stopped host: %v, want unreachable naming it", err)
	}
	if time.Since(t0) > 5*time.Second {
		t.Errorf("dial took %v", time.Since(t0))
	}
	if left := procsLeft("sleep 3011"); len(left) > 0 {
		t.Errorf("StopNode left the session's command running: %v", left)
	}
}

func TestSSHTimeoutKillsRemoteCommand(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 0)
	tests := []struct {
		name, marker string
		cmd          Cmd
	}{
		{"plain", "sleep 3001", Cmd{Argv: []string{"sleep", "3001"}}},
		{"shell with children", "sleep 3002", Cmd{Shell: "sleep 3002 & sleep 3002; wait"}},
		{"pty", "sleep 3003", Cmd{Shell: "sleep 3003", PTY: true}},
		{"detached child", "sleep 3004", Cmd{Shell: "setsid sleep 3004 & sleep 3004; wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
			defer cancel()
			t0 := time.Now()
			res, err := conn.Exec(ctx, &tt.cmd)
			took := time.Since(t0)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("exec past its timeout: %v, want a deadline error", err)
			}
			if res == nil || res.RC != -1 {
				t.Errorf("result %+v, want rc -1", res)
			}
			// The command sleeps for 50 minutes: returning within seconds means the timeout
			// killed it. The bound is loose so that a loaded machine (CI runs packages in
			// parallel) does not count as a hang; it measures no speed.
			if took > 20*time.Second {
				t.Errorf("exec returned %v after its timeout", took)
			}
			if left := procsLeft(tt.marker); len(left) > 0 {
				t.Errorf("processes left on the host: %v", left)
			}
		})
	}
	// The connection is still usable afterwards.
	if res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"echo", "alive"}}); err != nil || string(res.Stdout) != "alive\n" {
		t.Errorf("exec after kills: %v %+v", err, res)
	}
}

func TestSSHCloseKillsRunningCommands(t *testing.T) {
	c := lab(t)
	conn, err := DialSSH(t.Context(), nodeSpec(c, 1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), &Cmd{Argv: []string{"sleep", "3021"}})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if err := conn.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("a command cut off by Close reported success")
	}
	t.Logf("close with a running command took %v", time.Since(t0))
	if left := procsLeft("sleep 3021"); len(left) > 0 {
		t.Errorf("processes left on the host after Close: %v", left)
	}
	if _, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); err == nil {
		t.Error("exec after Close succeeded")
	}
}

func TestSSHBecomePasswordNeverInArgv(t *testing.T) {
	sec := seclab(t)
	becomePassword := sec.password
	conn := sec.dial(t, secSudoUser)

	// Sample every process's command line while become commands run.
	stop := make(chan struct{})
	leaks := make(chan string, 10)
	var samples int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if found := remoteProcs(becomePassword); len(found) > 0 {
				select {
				case leaks <- found[0]:
				default:
				}
			}
			samples++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		{"root", Cmd{Shell: "sleep 0.5; id -un", Become: true, BecomePassword: becomePassword}, "root\n"},
		{"with stdin", Cmd{Argv: []string{"sh", "-c", "sleep 0.3; id -un; cat"}, Become: true, BecomePassword: becomePassword, Stdin: strings.NewReader("input after the password\n")}, "root\ninput after the password\n"},
		{"stdin is the task's only", Cmd{Argv: []string{"cat"}, Become: true, BecomePassword: becomePassword, Stdin: strings.NewReader("exactly this\n")}, "exactly this\n"},
		{"no stdin is empty", Cmd{Shell: "cat; echo end", Become: true, BecomePassword: becomePassword}, "end\n"},
		{"other user", Cmd{Argv: []string{"id", "-un"}, Become: true, BecomeUser: "nobody", BecomePassword: becomePassword}, "nobody\n"},
		{"dir and env", Cmd{Shell: `pwd; echo "$X"`, Dir: "/tmp", Env: map[string]string{"X": "kept"}, Become: true, BecomePassword: becomePassword}, "/tmp\nkept\n"},
		{"stderr kept, prompt gone", Cmd{Shell: "echo to-stderr >&2; id -un", Become: true, BecomePassword: becomePassword}, "root\n"},
		{"pty", Cmd{Shell: `read -r line; echo "got:$line"; id -un`, PTY: true, Become: true, BecomePassword: becomePassword, Stdin: strings.NewReader("typed\n")}, "got:typed\r\nroot\r\n"},
		{"without become", Cmd{Argv: []string{"id", "-un"}}, secSudoUser + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Exec(t.Context(), &tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != tt.want || res.RC != 0 {
				t.Errorf("stdout %q rc %d stderr %q, want %q", res.Stdout, res.RC, res.Stderr, tt.want)
			}
			all := string(res.Stdout) + string(res.Stderr)
			if strings.Contains(all, becomePassword) {
				t.Errorf("password echoed in output")
			}
			if strings.Contains(all, "omsbook-sudo-") || strings.Contains(all, "omsbook-become-") {
				t.Errorf("sudo's prompt or the start marker shows: stdout %q stderr %q", res.Stdout, res.Stderr)
			}
			if tt.name == "stderr kept, prompt gone" && string(res.Stderr) != "to-stderr\n" {
				t.Errorf("stderr %q, want exactly the command's", res.Stderr)
			}
		})
	}
	// A wrong password fails as a command, not as the connection, and says why.
	res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}, Become: true, BecomePassword: "wrong"})
	var be *BecomeError
	if !errors.As(err, &be) || IsUnreachable(err) || res == nil || res.RC == 0 {
		t.Errorf("become with a wrong password: %v rc %v, want a *BecomeError and a non-zero rc", err, res)
	}
	// A become command past its timeout is killed too, root-owned children included.
	ctx, cancel := context.WithTimeout(t.Context(), 800*time.Millisecond)
	defer cancel()
	if _, err := conn.Exec(ctx, &Cmd{Shell: "sleep 3031 & sleep 3031; wait", Become: true, BecomePassword: becomePassword}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("become past its timeout: %v", err)
	}
	if left := procsLeft("sleep 3031"); len(left) > 0 {
		t.Errorf("become processes left after the timeout: %v", left)
	}
	close(stop)
	<-sampled
	close(leaks)
	for l := range leaks {
		t.Errorf("become password visible in a process's argv: %s", l)
	}
	t.Logf("sampled every process's cmdline %d times during become commands: password never seen", samples)
}

// TestSSHBecomeWithoutPrompt: where sudo does not ask (NOPASSWD, or root), the password is
// never sent: a command that reads its input gets exactly the task's.
func TestSSHBecomeWithoutPrompt(t *testing.T) {
	sec := seclab(t)
	for _, login := range []string{secNoPwUser, "root"} {
		conn := sec.dial(t, login)
		tests := []struct {
			name string
			cmd  Cmd
			want string
		}{
			{"stdin", Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader("only the task's input\n")}, "only the task's input\n"},
			{"no stdin", Cmd{Shell: "cat; id -un"}, "root\n"},
			{"pty", Cmd{Shell: `read -r l; echo "[$l]"`, PTY: true, Stdin: strings.NewReader("line\n")}, "[line]\r\n"},
			{"become another user", Cmd{Shell: "cat; id -un", BecomeUser: "nobody"}, "nobody\n"},
		}
		for _, tt := range tests {
			t.Run(login+"/"+tt.name, func(t *testing.T) {
				cmd := tt.cmd
				cmd.Become, cmd.BecomePassword = true, sec.password
				res, err := conn.Exec(t.Context(), &cmd)
				if err != nil {
					t.Fatal(err)
				}
				if string(res.Stdout) != tt.want || res.RC != 0 {
					t.Errorf("stdout %q rc %d stderr %q, want %q", res.Stdout, res.RC, res.Stderr, tt.want)
				}
				if strings.Contains(string(res.Stdout)+string(res.Stderr), sec.password) {
					t.Errorf("the password reached the command: %q %q", res.Stdout, res.Stderr)
				}
			})
		}
	}
}

// TestSSHBecomeRefused: a wrong password, or none where sudo asks for one, gives a clear
// error at once, for a command with and without a terminal; the command never runs.
func TestSSHBecomeRefused(t *testing.T) {
	sec := seclab(t)
	conn := sec.dial(t, secSudoUser)
	tests := []struct {
		name     string
		password string
		pty      bool
		want     string
	}{
		{"wrong password", "not-the-Password", false, "host sec1: become root: sudo refused the become password (Sorry, try again.)"},
		{"wrong password, pty", "not-the-Password", true, "host sec1: become root: sudo refused the become password"},
		{"no password", "", false, "host sec1: become root: sudo asks for a password and none is set: set become_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			t0 := time.Now()
			res, err := conn.Exec(t.Context(), &Cmd{Shell: "touch " + marker + "; cat", PTY: tt.pty, Stdin: strings.NewReader("input\n"),
				Become: true, BecomePassword: tt.password})
			took := time.Since(t0)
			var be *BecomeError
			if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("exec: %v, want a *BecomeError starting %q", err, tt.want)
			}
			if res == nil || res.RC == 0 {
				t.Errorf("result %+v, want a non-zero rc", res)
			}
			if took > 10*time.Second {
				t.Errorf("refusal took %v", took)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran")
			}
			if tt.password != "" && strings.Contains(string(res.Stdout)+string(res.Stderr)+err.Error(), tt.password) {
				t.Errorf("the wrong password shows: %q %q", res.Stdout, res.Stderr)
			}
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
		})
	}
	// The connection is fine afterwards.
	if res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"id", "-un"}, Become: true, BecomePassword: sec.password}); err != nil || string(res.Stdout) != "root\n" {
		t.Errorf("become after refusals: %v %+v", err, res)
	}
}

// patternReader yields size bytes of deterministic pseudo-random data.
func patternReader(size int64) io.Reader {
	r := rand.New(rand.NewPCG(1, 2))
	return io.LimitReader(readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return len(p), nil
	}), size)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestSSHPutGetRoundTrip(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 0)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	const size = 50 << 20
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, want), patternReader(size)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	remote := filepath.Join(dir, "remote", "copy.bin")
	if err := os.Mkdir(filepath.Dir(remote), 0o755); err != nil {
		t.Fatal(err)
	}
	in, _ := os.Open(src)
	t0 := time.Now()
	if err := conn.Put(t.Context(), in, remote, 0o640); err != nil {
		t.Fatal(err)
	}
	putTook := time.Since(t0)
	in.Close()
	entries, _ := os.ReadDir(filepath.Dir(remote))
	if len(entries) != 1 {
		t.Errorf("remote dir holds %d entries, want only the file (no temp left)", len(entries))
	}
	fi, err := conn.Stat(t.Context(), remote)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size != size || fi.Mode != 0o640 || fi.IsDir || !fi.Exists || fi.Owner != "root" || fi.Group != "root" {
		t.Errorf("stat %+v, want size %d mode 0640 owner root", fi, size)
	}
	got := sha256.New()
	t0 = time.Now()
	if err := conn.Get(t.Context(), remote, got); err != nil {
		t.Fatal(err)
	}
	getTook := time.Since(t0)
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("sha256 after put+get %x, want %x", got.Sum(nil), want.Sum(nil))
	}
	mbps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	t.Logf("50 MB: put %v (%.0f MB/s), get %v (%.0f MB/s); sha256 equal", putTook, mbps(putTook), getTook, mbps(getTook))

	// Put replaces an existing file atomically.
	if err := conn.Put(t.Context(), strings.NewReader("small\n"), remote, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(remote); string(b) != "small\n" {
		t.Errorf("after second put: %q", b)
	}
	if _, err := conn.Stat(t.Context(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing path: %v, want fs.ErrNotExist", err)
	}
	if err := conn.Get(t.Context(), filepath.Join(dir, "missing"), io.Discard); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("get of a missing path: %v, want fs.ErrNotExist", err)
	}
	if err := conn.Put(t.Context(), strings.NewReader("x"), "/nonexistent-dir/x", 0o644); err == nil {
		t.Error("put into a missing directory succeeded")
	}
	// A cancelled put returns promptly and leaves no temp file.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := conn.Put(ctx, patternReader(size), remote+".cancelled", 0o644); err == nil {
		t.Error("put with a cancelled context succeeded")
	}
	// Cancelled mid-transfer: the put stops, removes its temporary file, and the connection's
	// sftp client keeps working for the next transfer.
	ctx, cancel = context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	slow := io.MultiReader(patternReader(1<<20), readerFunc(func(p []byte) (int, error) {
		time.Sleep(50 * time.Millisecond)
		return copy(p, make([]byte, min(len(p), 4096))), nil
	}))
	t0 = time.Now()
	if err := conn.Put(ctx, slow, remote+".cancelled", 0o644); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("put cancelled mid-transfer: %v, want a deadline error", err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("cancelled put returned after %v", took)
	}
	entries, _ = os.ReadDir(filepath.Dir(remote))
	if len(entries) != 1 {
		t.Errorf("after cancelled puts the dir holds %v, want only copy.bin", entries)
	}
	if err := conn.Put(t.Context(), strings.NewReader("after\n"), remote, 0o600); err != nil {
		t.Errorf("put after a cancelled one: %v", err)
	}
}

// TestSSHCopySpeedAgainstScp compares a 100 MB put with OpenSSH's scp to the same node.
func TestSSHCopySpeedAgainstScp(t *testing.T) {
	c := lab(t)
	if _, err := exec.LookPath("scp"); err != nil {
		t.Skip("scp not installed")
	}
	conn := dialNode(t, c, 2)
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	f, _ := os.Create(src)
	if _, err := io.Copy(f, patternReader(100<<20)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n := c.Nodes[2]
	t0 := time.Now()
	scp := exec.Command("scp", "-q", "-F", "/dev/null", "-i", c.ClientKey, "-P", strconv.Itoa(n.Port),
		"-o", "UserKnownHostsFile="+c.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		src, c.User+"@"+n.Addr+":"+filepath.Join(dir, "scp.bin"))
	if out, err := scp.CombinedOutput(); err != nil {
		t.Fatalf("scp: %v: %s", err, out)
	}
	scpTook := time.Since(t0)
	in, _ := os.Open(src)
	defer in.Close()
	t0 = time.Now()
	if err := conn.Put(t.Context(), in, filepath.Join(dir, "put.bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	putTook := time.Since(t0)
	t.Logf("100 MB: scp %v, Put %v (%.2fx scp's speed)", scpTook, putTook, scpTook.Seconds()/putTook.Seconds())
}

func TestSSHPTY(t *testing.T) {
	c := lab(t)
	conn := dialNode(t, c, 1)
	res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"tty"}, PTY: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(res.Stdout), "/dev/pts/") || res.RC != 0 {
		t.Errorf("tty under a pty printed %q rc %d", res.Stdout, res.RC)
	}
	// Answers to a prompt are read from the terminal and not echoed back.
	res, err = conn.Exec(t.Context(), &Cmd{Shell: `printf 'Password: '; read -r pw; echo "got ${#pw} chars"`, PTY: true, Stdin: strings.NewReader("hunter2\n")})
	if err != nil {
		t.Fatal(err)
	}
	if out := string(res.Stdout); !strings.Contains(out, "got 7 chars") || strings.Contains(out, "hunter2") {
		t.Errorf("prompt under a pty: %q", out)
	}
}

func TestSSHJumpHost(t *testing.T) {
	c := lab(t)
	waitNoConnections(c)
	before := c.Connections(0)
	spec := nodeSpec(c, 1)
	spec.Jump = c.User + "@" + c.Nodes[0].Address()
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Exec(t.Context(), &Cmd{Shell: `echo "$SSH_CONNECTION"`})
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(string(res.Stdout)); len(fields) != 4 || fields[2] != c.Nodes[1].Addr {
		t.Errorf("SSH_CONNECTION on the target = %q, want the target's address", res.Stdout)
	}
	if got := c.Connections(0); got != before+1 {
		t.Errorf("bastion serves %d connections, want %d (ours through it)", got, before+1)
	}
	// The target's key is verified through the bastion too.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(c.Nodes[0].HostKeyLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec.KnownHosts = kh
	if _, err := DialSSH(t.Context(), spec); !IsUnreachable(err) || !strings.Contains(err.Error(), "not known") {
		t.Errorf("target with an unknown key behind a bastion: %v, want refused", err)
	}
	// An unreachable bastion makes the target unreachable.
	spec = nodeSpec(c, 1)
	spec.Jump = c.User + "@127.0.0.101:1"
	if _, err := DialSSH(t.Context(), spec); !IsUnreachable(err) || !strings.Contains(err.Error(), "jump host") {
		t.Errorf("dead bastion: %v, want unreachable mentioning the jump host", err)
	}
}

func TestSSHBadCredentialsAreUnreachable(t *testing.T) {
	c := lab(t)
	spec := nodeSpec(c, 0)
	spec.SSHKey = filepath.Join(t.TempDir(), "other")
	writeTestPrivateKey(t, spec.SSHKey)
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := DialSSH(t.Context(), spec)
	if !IsUnreachable(err) || !strings.Contains(err.Error(), "ssh login as root") || !strings.Contains(err.Error(), "ssh_key") {
		t.Errorf("dial with an unauthorized key: %v, want an unreachable login error with a hint", err)
	}
}

// TestSSHPasswordAuth logs in with a password only, on the security node, whose sshd allows
// password logins for its users.
func TestSSHPasswordAuth(t *testing.T) {
	sec := seclab(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("HOME", t.TempDir()) // no default key files either: the password is the only way in
	spec := sec.spec(secSudoUser)
	spec.Name, spec.SSHKey, spec.SSHPassword = "pw-node", "", sec.password
	conn, err := DialSSH(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Exec(ctx, &Cmd{Argv: []string{"id", "-un"}})
	if err != nil || string(res.Stdout) != secSudoUser+"\n" {
		t.Fatalf("exec after password login: %v %+v", err, res)
	}
	spec.SSHPassword = "wrong-password"
	if _, err := DialSSH(ctx, spec); !IsUnreachable(err) {
		t.Errorf("wrong password: %v, want unreachable", err)
	}
	if _, err := DialSSH(ctx, Spec{Address: secAddr, Port: secPort, User: secSudoUser, KnownHosts: sec.cluster.KnownHosts}); err == nil || !strings.Contains(err.Error(), "no ssh credentials") {
		t.Errorf("no credentials at all: %v", err)
	}
}

// TestSSHFrozenHost: a host that stops answering (its sshd processes stopped) must not hang
// the caller: a cancelled command returns within the kill bounds, and keepalives declare the
// connection lost.
func TestSSHFrozenHost(t *testing.T) {
	c := lab(t)
	spec := nodeSpec(c, 2)
	spec.KeepAlive = 300 * time.Millisecond
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	// A command running when the host freezes: it ends (keepalives or the kill bounds), it
	// does not hang. `sleep 5` ends by itself on the host afterwards.
	running := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := conn.Exec(ctx, &Cmd{Argv: []string{"sleep", "5"}})
		running <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := c.FreezeNode(2); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	select {
	case err := <-running:
		if err == nil {
			t.Error("a command on a host that froze succeeded")
		}
		t.Logf("running command returned %v after the freeze: %v", time.Since(t0), err)
	case <-time.After(8 * time.Second):
		t.Error("a command on a frozen host did not return within 8s")
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if err := c.ThawNode(2); err != nil {
				t.Error(err)
			}
		}
	}
	defer thaw()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	t0 = time.Now()
	_, err = conn.Exec(ctx, &Cmd{Argv: []string{"sleep", "3051"}})
	took := time.Since(t0)
	if err == nil {
		t.Fatal("exec on a frozen host succeeded")
	}
	if took > 8*time.Second {
		t.Errorf("exec on a frozen host returned after %v", took)
	}
	t.Logf("exec with a 300ms timeout on a frozen host returned after %v: %v", took, err)

	t0 = time.Now()
	_, err = conn.Exec(t.Context(), &Cmd{Argv: []string{"true"}})
	if !IsUnreachable(err) {
		t.Errorf("exec after keepalives failed: %v, want unreachable", err)
	}
	t.Logf("next exec gave unreachable after %v", time.Since(t0))

	// A new connection to the frozen host: the TCP connect succeeds (the kernel accepts), the
	// handshake never answers; the connect timeout ends it.
	spec.ConnectTimeout = time.Second
	t0 = time.Now()
	_, err = DialSSH(t.Context(), spec)
	if !IsUnreachable(err) {
		t.Errorf("dial a frozen host: %v, want unreachable", err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("dial a frozen host took %v with a 1s connect timeout", took)
	}
	thaw()
	if left := procsLeft("sleep 3051"); len(left) > 0 {
		// The command never started or was killed with its connection's handler; neither
		// leaves it behind once the node runs again and sees its connection gone.
		t.Logf("still present right after thawing: %v", left)
	}
}

// TestSSHAgentAuth logs in with a key held only by a real ssh-agent.
func TestSSHAgentAuth(t *testing.T) {
	c := lab(t)
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent not installed")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", c.ClientKey)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	t.Setenv("HOME", t.TempDir())
	spec := nodeSpec(c, 0)
	spec.SSHKey = ""
	conn, err := DialSSH(t.Context(), spec)
	if err != nil {
		t.Fatalf("dial with the agent's key: %v", err)
	}
	defer conn.Close()
	if res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"echo", "via agent"}}); err != nil || string(res.Stdout) != "via agent\n" {
		t.Errorf("exec: %v %+v", err, res)
	}
}
