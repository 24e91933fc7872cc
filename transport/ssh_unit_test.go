package transport

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestRemoteCommandLineRunsInAShell runs the built command lines with the machine's /bin/sh,
// as sshd would with the login shell, and checks that every word arrives intact.
func TestRemoteCommandLineRunsInAShell(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		{"argv keeps words", Cmd{Argv: []string{"printf", "%s|", "a b", "it's", "$HOME", "`x`", "", "*"}}, "a b|it's|$HOME|`x`||*|"},
		{"shell line", Cmd{Shell: "echo one; echo two | tr a-z A-Z"}, "one\nTWO\n"},
		{"dir", Cmd{Shell: "pwd", Dir: dir}, dir + "\n"},
		{"env", Cmd{Argv: []string{"sh", "-c", `printf '%s/%s' "$A" "$B_2"`}, Env: map[string]string{"A": "x y'z", "B_2": "$(id)"}}, "x y'z/$(id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := remoteCommandLine(&tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("/bin/sh", "-c", line).Output()
			if err != nil {
				t.Fatalf("sh -c %q: %v", line, err)
			}
			var got bytes.Buffer
			f := newPgidFilter(got.Write)
			_, _ = f.Write(out)
			f.flush()
			if got.String() != tt.want {
				t.Errorf("output = %q, want %q", got.String(), tt.want)
			}
			if f.processGroup() <= 0 {
				t.Errorf("no pgid marker in %q", out)
			}
		})
	}
}

func TestRemoteCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		{"empty", Cmd{}, "empty command"},
		{"both", Cmd{Argv: []string{"true"}, Shell: "true"}, "both"},
		{"bad env name", Cmd{Shell: "true", Env: map[string]string{"A-B": "1"}}, "not valid"},
	}
	for _, tt := range tests {
		if _, err := remoteCommandLine(&tt.cmd); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestRemoteCommandLineBecomeKeepsPasswordOff(t *testing.T) {
	line, err := remoteCommandLine(&Cmd{Argv: []string{"id"}, Become: true, BecomeUser: "bob", BecomePassword: "s3cret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, "s3cret-pw") {
		t.Fatalf("become password on the command line: %q", line)
	}
	if !strings.Contains(line, "sudo -S -p '' -H -u bob -- /bin/sh -c") {
		t.Errorf("command line %q lacks the sudo wrapper", line)
	}
}

func TestPgidFilter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
		pgid   int
	}{
		{"marker first", []string{pgidMarker + "42\nhello\n"}, "hello\n", 42},
		{"marker split", []string{pgidMarker[:3], pgidMarker[3:] + "4", "2\r\nhel", "lo"}, "hello", 42},
		{"preamble kept", []string{"motd\n", pgidMarker + "7\nout"}, "motd\nout", 7},
		{"no marker", []string{"partial"}, "partial", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			f := newPgidFilter(got.Write)
			for _, c := range tt.chunks {
				if n, err := f.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write(%q) = %d, %v", c, n, err)
				}
			}
			f.flush()
			if got.String() != tt.want || f.processGroup() != tt.pgid {
				t.Errorf("got %q pgid %d, want %q pgid %d", got.String(), f.processGroup(), tt.want, tt.pgid)
			}
		})
	}
}

func TestParseJump(t *testing.T) {
	tests := []struct {
		in, user, addr string
		bad            bool
	}{
		{"admin@10.0.0.1:2200", "admin", "10.0.0.1:2200", false},
		{"10.0.0.1", "def", "10.0.0.1:22", false},
		{"ops@bastion", "ops", "bastion:22", false},
		{"ops@[::1]:22", "ops", "[::1]:22", false},
		{"ops@host:notaport", "", "", true},
		{"ops@", "", "", true},
	}
	for _, tt := range tests {
		u, a, err := parseJump(tt.in, "def")
		if (err != nil) != tt.bad || u != tt.user || a != tt.addr {
			t.Errorf("parseJump(%q) = %q, %q, %v; want %q, %q, bad=%v", tt.in, u, a, err, tt.user, tt.addr, tt.bad)
		}
	}
}

func newTestKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHostKeyChecker(t *testing.T) {
	known, other, unknown := newTestKey(t), newTestKey(t), newTestKey(t)
	remote := &net.TCPAddr{IP: net.ParseIP("127.0.0.9"), Port: 2222}
	const host = "127.0.0.9:2222"
	write := func(t *testing.T) string {
		f := filepath.Join(t.TempDir(), "known_hosts")
		content := "# comment\n" + knownhosts.Line([]string{"[127.0.0.8]:2222"}, other) + "\n" +
			knownhosts.Line([]string{knownhosts.Normalize(host)}, known) + "\n"
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	tests := []struct {
		name        string
		host        string
		key         ssh.PublicKey
		accept      bool
		wantErr     bool
		wantChanged bool
		wantHint    []string
	}{
		{"listed key", host, known, false, false, false, nil},
		{"unknown host refused", "127.0.0.10:2222", unknown, false, true, false, []string{"ssh-keyscan -p 2222 -t ed25519 127.0.0.10", "--accept-new-host-keys"}},
		{"changed key refused", host, other, false, true, true, []string{"attack", "line 3", "ssh-keygen -R"}},
		{"changed key refused even when accepting new", host, other, true, true, true, []string{"attack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := write(t)
			before, _ := os.ReadFile(f)
			h := &hostKeyChecker{file: f, acceptNew: tt.accept}
			err := h.check(tt.host, remote, tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("check error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) || hk.Changed != tt.wantChanged {
				t.Fatalf("error %v: want HostKeyError with Changed=%v", err, tt.wantChanged)
			}
			if !strings.Contains(err.Error(), ssh.FingerprintSHA256(tt.key)) || !strings.Contains(err.Error(), "ssh-ed25519") {
				t.Errorf("error %q lacks the key type and fingerprint", err)
			}
			for _, w := range tt.wantHint {
				if !strings.Contains(hk.hint(), w) {
					t.Errorf("hint %q lacks %q", hk.hint(), w)
				}
			}
			if after, _ := os.ReadFile(f); !bytes.Equal(before, after) {
				t.Errorf("known_hosts changed by a refused key")
			}
		})
	}
}

func TestAcceptNewHostKeysConcurrently(t *testing.T) {
	f := filepath.Join(t.TempDir(), "sub", "known_hosts") // the directory does not exist yet
	keys := make([]ssh.PublicKey, 20)
	for i := range keys {
		keys[i] = newTestKey(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for round := 0; round < 5; round++ {
		for i, k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				host := net.JoinHostPort("127.0.1."+strconv.Itoa(i+1), "2222")
				h := &hostKeyChecker{file: f, acceptNew: true}
				if err := h.check(host, &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 2222}, k); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(keys) {
		t.Fatalf("known_hosts has %d lines, want %d (one per host):\n%s", len(lines), len(keys), b)
	}
	// Every recorded key verifies now, without accepting.
	for i, k := range keys {
		h := &hostKeyChecker{file: f}
		if err := h.check(net.JoinHostPort("127.0.1."+strconv.Itoa(i+1), "2222"), &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 2222}, k); err != nil {
			t.Errorf("host %d after recording: %v", i, err)
		}
	}
	// A different key for a recorded host is still refused.
	h := &hostKeyChecker{file: f, acceptNew: true}
	err = h.check("127.0.1.1:2222", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 2222}, newTestKey(t))
	var hk *HostKeyError
	if !errors.As(err, &hk) || !hk.Changed {
		t.Errorf("changed key after recording: err = %v, want a changed-key refusal", err)
	}
}

func TestKnownHostKeyAlgorithms(t *testing.T) {
	f := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{"[127.0.0.9]:2222"}, newTestKey(t))
	if err := os.WriteFile(f, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := knownHostKeyAlgorithms(f, "127.0.0.9:2222"); len(got) != 1 || got[0] != ssh.KeyAlgoED25519 {
		t.Errorf("algorithms for a listed ed25519 host = %v", got)
	}
	if got := knownHostKeyAlgorithms(f, "127.0.0.10:2222"); got != nil {
		t.Errorf("algorithms for an unlisted host = %v, want nil (server's choice)", got)
	}
}

func TestDialUnknownConnection(t *testing.T) {
	if _, err := Dial(t.Context(), Spec{Name: "x", Connection: "telnet"}); err == nil || !strings.Contains(err.Error(), "unknown connection") {
		t.Errorf("Dial(telnet) error = %v", err)
	}
	c, err := Dial(t.Context(), Spec{Name: "here", Connection: "local"})
	if err != nil || !c.Local() {
		t.Errorf("Dial(local) = %v, %v", c, err)
	}
}

func TestDialRefusedPortIsUnreachable(t *testing.T) {
	// A port on loopback nobody listens on (the listener is closed before dialing).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	key := filepath.Join(t.TempDir(), "id")
	writeTestPrivateKey(t, key)
	_, err = Dial(t.Context(), Spec{Name: "gone", Address: "127.0.0.1", Port: addr.Port, SSHKey: key, KnownHosts: filepath.Join(t.TempDir(), "kh")})
	if !IsUnreachable(err) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("dial to a closed port: %v, want unreachable naming the host", err)
	}
}

func writeTestPrivateKey(t *testing.T, path string) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}
