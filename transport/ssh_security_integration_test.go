package transport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSSHAuthFailuresSayWhatWasTried: a refused login names the methods tried and how each
// failed, not x/crypto's protocol wording.
func TestSSHAuthFailuresSayWhatWasTried(t *testing.T) {
	c := lab(t)
	sec := seclab(t)
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("HOME", t.TempDir())
	wrongKey := filepath.Join(t.TempDir(), "wrong_key")
	writeTestPrivateKey(t, wrongKey)

	keySpec := nodeSpec(c, 0)
	keySpec.SSHKey = wrongKey
	pwSpec := sec.spec(secSudoUser)
	pwSpec.SSHKey, pwSpec.SSHPassword = "", "wrong-"+sec.password
	bothSpec := pwSpec
	bothSpec.SSHKey = wrongKey
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"wrong key", keySpec, "ssh login as root@127.0.0.101:2222 failed: tried publickey (key " + wrongKey + " refused); the server accepts publickey"},
		{"wrong password", pwSpec, "ssh login as omsbook-sudo@127.0.0.104:2226 failed: tried password (refused), keyboard-interactive (refused); the server accepts publickey, password, keyboard-interactive"},
		{"wrong key and password", bothSpec, "ssh login as omsbook-sudo@127.0.0.104:2226 failed: tried publickey (key " + wrongKey + " refused), password (refused), keyboard-interactive (refused)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DialSSH(t.Context(), tt.spec)
			if !IsUnreachable(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("dial: %v\nwant it to say %q", err, tt.want)
			}
			for _, internal := range []string{"unexpected message", "unable to authenticate", "attempted methods"} {
				if strings.Contains(err.Error(), internal) {
					t.Errorf("the error shows x/crypto's wording %q: %v", internal, err)
				}
			}
			if tt.spec.SSHPassword != "" && strings.Contains(err.Error(), tt.spec.SSHPassword) {
				t.Errorf("the error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), "check the user, ssh_key, ssh_password") {
				t.Errorf("no hint: %v", err)
			}
		})
	}
}

// TestSSHPutDiskFull fills a 512 KiB tmpfs that only the security node's sessions see: the
// error says the disk is full and where, and the temporary file is gone.
func TestSSHPutDiskFull(t *testing.T) {
	sec := seclab(t)
	conn := sec.dial(t, "root")
	dest := filepath.Join(sec.small, "big.bin")
	err := conn.Put(t.Context(), patternReader(2<<20), dest, 0o644)
	if err == nil {
		t.Fatal("a 2 MiB put into a 512 KiB filesystem succeeded")
	}
	for _, want := range []string{"host sec1: put " + dest, "no space left on device", "on the filesystem of " + sec.small} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not satisfy errors.Is(err, syscall.ENOSPC)", err)
	}
	t.Log(err)
	res, err := conn.Exec(t.Context(), &Cmd{Argv: []string{"ls", "-A", sec.small}})
	if err != nil || len(res.Stdout) != 0 {
		t.Errorf("after the failed put the tmpfs holds %q (%v), want nothing", res.Stdout, err)
	}
	// Room again: a small put works, and a failure that is not about space says nothing of it.
	if err := conn.Put(t.Context(), strings.NewReader("small\n"), filepath.Join(sec.small, "small.txt"), 0o644); err != nil {
		t.Errorf("small put after the full one: %v", err)
	}
	if err := conn.Put(t.Context(), strings.NewReader("x"), "/nonexistent-dir/x", 0o644); err == nil || strings.Contains(err.Error(), "no space") {
		t.Errorf("put into a missing directory: %v", err)
	}
	// The tmpfs is the node's: the machine's directory stays empty.
	if entries, _ := os.ReadDir(sec.small); len(entries) != 0 {
		t.Errorf("the machine sees %v in %s", entries, sec.small)
	}
}
