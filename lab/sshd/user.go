package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// TestUser is the conventional name of the local user the tests log in as and become from.
const TestUser = "omsbook-test"

// TestUserPassword is the password every test gives TestUser. EnsureUser sets the password
// each time it is called, so tests running at once in different packages must agree on it:
// use this constant with TestUser. It guards a throwaway local account, not a secret.
const TestUserPassword = "omsbook-test-Pw-2026"

// TestUserHomeDir is where EnsureUser puts a test user's (empty) home directory.
const TestUserHomeDir = "/var/tmp"

var userNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,30}$`)

// EnsureUser makes sure a local test user exists, idempotently. It changes machine state, so
// callers should use a plain, recognisable name such as TestUser ("omsbook-test"):
//   - the user is created with useradd if missing, with login shell /bin/sh and an empty home
//     directory /var/tmp/<name> (no shell start-up files, so commands start cleanly);
//   - its password is set to password (through chpasswd's standard input, never an argv);
//   - with sudo, /etc/sudoers.d/<name> lets it run anything as anyone, after typing its own
//     password ("<name> ALL=(ALL:ALL) ALL"); without sudo, that drop-in is removed.
//
// It needs root. Several test processes may call it at once: a file lock serializes them.
func EnsureUser(name, password string, sudo bool) error {
	if !userNameRe.MatchString(name) {
		return fmt.Errorf("ensure user: %q is not a valid user name (lowercase letters, digits, - and _)", name)
	}
	if password == "" || strings.ContainsAny(password, ":\n") {
		return errors.New("ensure user: password must be non-empty and contain no ':' or newline")
	}
	if os.Geteuid() != 0 {
		return errors.New("ensure user: needs root (useradd, chpasswd, /etc/sudoers.d)")
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "omsbook-ensure-user.lock"))
	if err != nil {
		return err
	}
	defer unlock()

	home := filepath.Join(TestUserHomeDir, name)
	if _, err := user.Lookup(name); err != nil {
		out, err := exec.Command("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ensure user: useradd %s: %w: %s", name, err, bytes.TrimSpace(out))
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("ensure user: look up %s after useradd: %w", name, err)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("ensure user: home %s: %w", home, err)
	}
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	if err := os.Chown(home, uid, gid); err != nil {
		return fmt.Errorf("ensure user: chown home %s: %w", home, err)
	}
	chpasswd := exec.Command("chpasswd")
	chpasswd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := chpasswd.CombinedOutput(); err != nil {
		return fmt.Errorf("ensure user: set password of %s with chpasswd: %w: %s", name, err, bytes.TrimSpace(out))
	}
	dropIn := filepath.Join("/etc/sudoers.d", name)
	if !sudo {
		if err := os.Remove(dropIn); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("ensure user: remove %s: %w", dropIn, err)
		}
		return nil
	}
	want := fmt.Sprintf("# omsbook test user: sudo with its own password\n%s ALL=(ALL:ALL) ALL\n", name)
	if have, err := os.ReadFile(dropIn); err == nil && string(have) == want {
		return nil
	}
	tmp := dropIn + ".tmp"
	if err := os.WriteFile(tmp, []byte(want), 0o440); err != nil {
		return fmt.Errorf("ensure user: write %s: %w", tmp, err)
	}
	if out, err := exec.Command("visudo", "-c", "-q", "-f", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ensure user: sudoers drop-in rejected by visudo: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Rename(tmp, dropIn); err != nil {
		return fmt.Errorf("ensure user: install %s: %w", dropIn, err)
	}
	return nil
}

// lockFile takes an exclusive lock on path, creating it; the returned func releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
