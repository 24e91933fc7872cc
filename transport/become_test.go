package transport

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

func TestBecomeFilter(t *testing.T) {
	g := newBecomeGate(&Cmd{Become: true, BecomePassword: "pw"}, "h")
	p, m := g.prompt, g.marker
	tests := []struct {
		name    string
		chunks  []string
		want    string
		prompts int
		started bool
	}{
		{"marker only", []string{m + "\nout\n"}, "out\n", 0, true},
		{"prompt then marker", []string{p, m + "\n", "err line\n"}, "err line\n", 1, true},
		{"tokens split anywhere", []string{p[:3], p[3:9], p[9:] + m[:4], m[4:] + "\r", "\nrest"}, "rest", 1, true},
		{"sudo's own words pass", []string{"We trust you\n", p, "Sorry, try again.\n", p}, "We trust you\nSorry, try again.\n", 2, false},
		{"a prefix that is not a token", []string{"[omsbook-sud", "o-x] nope\n", m, "\n"}, "[omsbook-sudo-x] nope\n", 0, true},
		{"after the start nothing is looked at", []string{m + "\n" + p + "\n"}, p + "\n", 0, true},
		{"output ends inside a token", []string{"x" + p[:5]}, "x" + p[:5], 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newBecomeGate(&Cmd{Become: true, BecomePassword: "pw"}, "h")
			g.prompt, g.marker = p, m
			var out bytes.Buffer
			f := g.filter(out.Write)
			for _, c := range tt.chunks {
				if n, err := f.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write(%q) = %d, %v", c, n, err)
				}
			}
			f.flush()
			if out.String() != tt.want || g.prompts != tt.prompts || g.started != tt.started {
				t.Errorf("got %q prompts %d started %v, want %q %d %v", out.String(), g.prompts, g.started, tt.want, tt.prompts, tt.started)
			}
		})
	}
}

// fakeSudo is a stand-in for sudo in unit tests: FAKE_SUDO_MODE says whether it asks for the
// password (FAKE_SUDO_PW), runs the command at once, hangs or fails. Like sudo -S, it reads
// the password one byte at a time, so that the rest of its input is the command's.
const fakeSudo = `#!/bin/sh
prompt=$3
while [ "$1" != "--" ]; do shift; done
shift
case "$FAKE_SUDO_MODE" in
nopasswd) exec "$@" ;;
hang) sleep 30; exit 1 ;;
fail) echo "sudo: unknown user: nosuch" >&2; exit 1 ;;
esac
tries=0
while :; do
	[ -t 0 ] && stty -echo # as sudo: no echo of the password on a terminal
	printf '%s' "$prompt" >&2
	IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
	[ -t 0 ] && { stty echo; echo >&2; }
	[ "$pw" = "$FAKE_SUDO_PW" ] && exec "$@"
	tries=$((tries+1))
	echo "Sorry, try again." >&2
	[ $tries -ge 3 ] && { echo "sudo: 3 incorrect password attempts" >&2; exit 1; }
done
`

func withFakeSudo(t *testing.T, mode string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_SUDO_MODE", mode)
	t.Setenv("FAKE_SUDO_PW", "fake-Sudo-pw-7")
}

func TestLocalBecomeAnswersOnlySudosPrompt(t *testing.T) {
	const pw = "fake-Sudo-pw-7"
	local := NewLocal("here")
	tests := []struct {
		name, mode string
		cmd        Cmd
		wantOut    string
	}{
		{"password asked: stdin is the task's", "password", Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader("task input\n")}, "task input\n"},
		{"password asked: no stdin is empty", "password", Cmd{Argv: []string{"cat"}}, ""},
		{"not asked: stdin is the task's, not the password", "nopasswd", Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader("task input\n")}, "task input\n"},
		{"not asked: no stdin is empty", "nopasswd", Cmd{Shell: "cat; echo done"}, "done\n"},
		{"pty, password asked", "password", Cmd{Shell: `read -r x; echo "got:$x"`, PTY: true, Stdin: strings.NewReader("hello\n")}, "got:hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withFakeSudo(t, tt.mode)
			cmd := tt.cmd
			cmd.Become, cmd.BecomePassword = true, pw
			res, err := local.Exec(t.Context(), &cmd)
			if err != nil {
				t.Fatalf("exec: %v", err)
			}
			got := strings.ReplaceAll(string(res.Stdout), "\r\n", "\n")
			if cmd.PTY && !strings.Contains(got, tt.wantOut) || !cmd.PTY && got != tt.wantOut || res.RC != 0 {
				t.Errorf("stdout %q rc %d stderr %q, want %q", res.Stdout, res.RC, res.Stderr, tt.wantOut)
			}
			all := string(res.Stdout) + string(res.Stderr)
			for _, leak := range []string{pw, "omsbook-sudo-", "omsbook-become-"} {
				if strings.Contains(all, leak) {
					t.Errorf("output shows %q: %q", leak, all)
				}
			}
		})
	}
}

func TestLocalBecomeFailures(t *testing.T) {
	local := NewLocal("here")
	prev := becomeTimeout
	becomeTimeout = 500 * time.Millisecond
	t.Cleanup(func() { becomeTimeout = prev })
	tests := []struct {
		name, mode, password, want string
	}{
		{"wrong password", "password", "wrong-pw", "sudo refused the become password (Sorry, try again.)"},
		{"no password set", "password", "", "sudo asks for a password and none is set: set become_password"},
		{"sudo never answers", "hang", "x-pw", "sudo neither asked for the password nor started the command within 500ms"},
		{"sudo fails", "fail", "x-pw", "sudo did not run the command (exit status 1) (sudo: unknown user: nosuch)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withFakeSudo(t, tt.mode)
			t0 := time.Now()
			res, err := local.Exec(t.Context(), &Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader("must not be read\n"), Become: true, BecomeUser: "oms", BecomePassword: tt.password})
			var be *BecomeError
			if !errors.As(err, &be) || IsUnreachable(err) {
				t.Fatalf("exec: %v, want a *BecomeError", err)
			}
			if want := "host here: become oms: " + tt.want; err.Error() != want {
				t.Errorf("error\n got %q\nwant %q", err, want)
			}
			if took := time.Since(t0); took > 4*time.Second {
				t.Errorf("took %v", took)
			}
			if res == nil || res.RC == 0 || strings.Contains(string(res.Stdout), "must not be read") {
				t.Errorf("result %+v: the command ran or read its input", res)
			}
			if tt.password != "" && strings.Contains(string(res.Stderr)+err.Error(), tt.password) {
				t.Errorf("the password shows: %q %v", res.Stderr, err)
			}
		})
	}
}

func TestLocalBecomeWithoutSudo(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no sudo anywhere
	_, err := NewLocal("here").Exec(t.Context(), &Cmd{Argv: []string{"true"}, Become: true, BecomePassword: "pw-x"})
	if err == nil || !strings.Contains(err.Error(), `"sudo"`) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("become without sudo: %v, want an error saying sudo is not found", err)
	}
}

// TestLocalBecomeRealSudo runs the local transport's become through the machine's real sudo,
// as root, where sudo asks for no password: the command's input is exactly the task's.
func TestLocalBecomeRealSudo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the machine's sudo; skipped with -short")
	}
	if _, err := exec.LookPath("sudo"); err != nil || os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "skipping: needs sudo, run as root (sudo: %v, euid %d)", err, os.Geteuid())
	}
	res, err := NewLocal("here").Exec(t.Context(), &Cmd{Shell: "cat; id -un", Stdin: strings.NewReader("the task's input\n"), Become: true, BecomePassword: "never-sent-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "the task's input\nroot\n" || res.RC != 0 || strings.Contains(string(res.Stderr), "omsbook-") {
		t.Errorf("stdout %q stderr %q rc %d", res.Stdout, res.Stderr, res.RC)
	}
}
