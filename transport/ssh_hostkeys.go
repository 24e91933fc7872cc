package transport

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/omsbook/omsbook/internal/shellquote"
)

// HostKeyError says why a host key was refused. It is the Err of the *UnreachableError that
// Dial returns, so callers can tell an unknown key from a changed one.
type HostKeyError struct {
	Host        string // "addr:port" as dialled
	KeyType     string // e.g. ssh-ed25519
	Fingerprint string // SHA256 fingerprint of the key the host presented
	KnownHosts  string // the known_hosts file consulted
	// Changed is true when known_hosts lists a different key for the host; Line is then
	// the line number of that entry.
	Changed bool
	Line    int
	Revoked bool
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key of %s is revoked in %s (%s %s)", e.Host, e.KnownHosts, e.KeyType, e.Fingerprint)
	case e.Changed:
		return fmt.Sprintf("host key of %s CHANGED: it presents %s %s, but %s:%d lists another key",
			e.Host, e.KeyType, e.Fingerprint, e.KnownHosts, e.Line)
	default:
		return fmt.Sprintf("host key of %s is not known: %s %s is not in %s", e.Host, e.KeyType, e.Fingerprint, e.KnownHosts)
	}
}

// hint tells the operator what to do about the refused key.
func (e *HostKeyError) hint() string {
	host, port, _ := net.SplitHostPort(e.Host)
	switch {
	case e.Revoked:
		return "the key is marked @revoked: do not connect until the host has a new key"
	case e.Changed:
		return fmt.Sprintf("this may be an attack (someone in the middle) or a reinstalled host: verify the new key out of band, "+
			"then remove line %d of %s (ssh-keygen -R %s -f %s) and connect again", e.Line, e.KnownHosts,
			shellquote.QuoteIfNeeded(knownhosts.Normalize(e.Host)), shellquote.QuoteIfNeeded(e.KnownHosts))
	default:
		keyscan := "ssh-keyscan"
		if port != "22" && port != "" {
			keyscan += " -p " + port
		}
		keyscan += " -t " + strings.TrimPrefix(e.KeyType, "ssh-") + " " + host
		return fmt.Sprintf("to trust it after checking the fingerprint: %s >> %s, or run with --accept-new-host-keys",
			keyscan, shellquote.QuoteIfNeeded(e.KnownHosts))
	}
}

// hostKeyChecker verifies host keys against one known_hosts file and, when asked, records
// keys of hosts the file does not list yet.
type hostKeyChecker struct {
	file      string
	acceptNew bool

	mu      sync.Mutex
	refused *HostKeyError // why the last key was refused
}

func (h *hostKeyChecker) refusal() *HostKeyError {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

func (h *hostKeyChecker) refuse(e *HostKeyError) error {
	h.mu.Lock()
	h.refused = e
	h.mu.Unlock()
	return e
}

// check is the ssh.HostKeyCallback.
func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := checkKnownHost(h.file, hostname, remote, key)
	if err == nil {
		return nil
	}
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		return err
	}
	if hk.Changed || hk.Revoked || !h.acceptNew {
		return h.refuse(hk)
	}
	if err := recordHostKey(h.file, hostname, remote, key); err != nil {
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return h.refuse(hk)
		}
		return err
	}
	return nil
}

// checkKnownHost checks key against file: nil when listed, *HostKeyError when unknown,
// changed or revoked, another error when the file cannot be read.
func checkKnownHost(file, hostname string, remote net.Addr, key ssh.PublicKey) error {
	cb, err := knownhosts.New(file)
	if errors.Is(err, os.ErrNotExist) {
		cb = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	} else if err != nil {
		return fmt.Errorf("read known_hosts %s: %w (fix or remove the bad line)", file, err)
	}
	err = cb(hostname, remote, key)
	if err == nil {
		return nil
	}
	hk := &HostKeyError{Host: hostname, KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: file}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		hk.Revoked = true
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		hk.Changed, hk.Line = true, keyErr.Want[0].Line
	case errors.As(err, &keyErr):
	default:
		return fmt.Errorf("check host key of %s: %w", hostname, err)
	}
	return hk
}

// knownHostsLocks serializes appends to a known_hosts file within this process; flock does
// the same across processes.
var knownHostsLocks sync.Map // path -> *sync.Mutex

// recordHostKey appends key for hostname to file, unless (checked again under the lock, since
// many hosts may dial at once) the file lists it by now. A key that differs from a listed one
// is refused, never recorded.
func recordHostKey(file, hostname string, remote net.Addr, key ssh.PublicKey) error {
	m, _ := knownHostsLocks.LoadOrStore(file, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("record host key: %w", err)
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("record host key in %s: %w", file, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", file, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	err = checkKnownHost(file, hostname, remote, key)
	var hk *HostKeyError
	switch {
	case err == nil:
		return nil // another dial recorded it meanwhile
	case errors.As(err, &hk) && !hk.Changed && !hk.Revoked:
	default:
		return err
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("record host key in %s: %w", file, err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if len(content) > 0 && !bytes.HasSuffix(content, []byte("\n")) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("record host key in %s: %w", file, err)
	}
	return f.Sync()
}

// knownHostKeyAlgorithms returns the host key algorithms to ask hostname for: those of the
// keys known_hosts lists for it, so that the server does not present a key of another type
// (which would look like a changed key). Nil when none are listed.
func knownHostKeyAlgorithms(file, hostname string) []string {
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil
	}
	// A throwaway key that matches nothing makes knownhosts list what it knows for the host.
	probe := probeKey()
	host, port, _ := net.SplitHostPort(hostname)
	p, _ := strconv.Atoi(port)
	err = cb(hostname, &net.TCPAddr{IP: net.ParseIP(host), Port: p}, probe)
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range keyErr.Want {
		for _, a := range algorithmsForKeyType(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
