package transport

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	// Cert says why the host certificate the host presented was not accepted ("" when it
	// presented a plain key); its plain key was then checked instead, as OpenSSH does.
	Cert string
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key of %s is revoked in %s (%s %s)", e.Host, e.KnownHosts, e.KeyType, e.Fingerprint)
	case e.Changed:
		return fmt.Sprintf("host key of %s CHANGED: it presents %s %s, but %s:%d lists another key",
			e.Host, e.KeyType, e.Fingerprint, e.KnownHosts, e.Line)
	case e.Cert != "":
		return fmt.Sprintf("host key of %s is not known: its host certificate is not accepted (%s), and its key %s %s is not in %s",
			e.Host, e.Cert, e.KeyType, e.Fingerprint, e.KnownHosts)
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
		hint := fmt.Sprintf("to trust it after checking the fingerprint: %s >> %s, or run with --accept-new-host-keys",
			keyscan, shellquote.QuoteIfNeeded(e.KnownHosts))
		if e.Cert != "" {
			hint += fmt.Sprintf("; or trust its certificate authority: a line \"@cert-authority %s <CA public key>\" in %s",
				openSSHHostString(e.Host), e.KnownHosts)
		}
		return hint
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
	if err := recordHostKey(h.file, hostname, remote, plainKey(key)); err != nil {
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return h.refuse(hk)
		}
		return err
	}
	return nil
}

// checkKnownHost checks key against file: nil when listed (or a certificate signed by an
// authority the file trusts for the host), *HostKeyError when unknown, changed or revoked,
// another error when the file cannot be read.
func checkKnownHost(file, hostname string, remote net.Addr, key ssh.PublicKey) error {
	kh, err := readKnownHosts(file)
	if err != nil {
		return fmt.Errorf("read known_hosts %s: %w (fix or remove the bad line)", file, err)
	}
	return kh.check(hostname, remote, key)
}

// knownHosts is one reading of a known_hosts file: its plain host keys through
// x/crypto/ssh/knownhosts, its @cert-authority and @revoked lines matched as OpenSSH matches
// them, for x/crypto/ssh's CertChecker.
type knownHosts struct {
	file    string
	plain   ssh.HostKeyCallback // nil when the file does not exist
	cas     []caLine
	caLines map[int]bool   // line numbers of the @cert-authority lines
	revoked map[string]int // marshalled key -> line of its @revoked entry
}

// caLine is a @cert-authority line: the hosts it names and the authority's key.
type caLine struct {
	line     int
	patterns []string
	key      ssh.PublicKey
}

func readKnownHosts(file string) (*knownHosts, error) {
	kh := &knownHosts{file: file, caLines: map[int]bool{}, revoked: map[string]int{}}
	content, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return kh, nil
	}
	if err != nil {
		return nil, err
	}
	if kh.plain, err = knownhosts.New(file); err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "@") {
			continue
		}
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(line))
		if err != nil {
			continue // knownhosts skips the lines it cannot read, and so does this
		}
		switch marker {
		case "cert-authority":
			kh.cas = append(kh.cas, caLine{line: i + 1, patterns: hosts, key: key})
			kh.caLines[i+1] = true
		case "revoked":
			kh.revoked[string(key.Marshal())] = i + 1
		}
	}
	return kh, nil
}

// check is checkKnownHost on this reading of the file.
func (kh *knownHosts) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	var certReason string
	if cert, ok := key.(*ssh.Certificate); ok {
		if kh.isRevoked(cert) {
			return kh.keyError(hostname, cert.Key, func(e *HostKeyError) { e.Revoked = true })
		}
		cc := ssh.CertChecker{IsHostAuthority: kh.isHostAuthority, IsRevoked: kh.isRevoked}
		err := cc.CheckHostKey(hostname, remote, key)
		if err == nil {
			return nil
		}
		// As OpenSSH does, a certificate that is not accepted is checked as its plain key.
		if kh.isHostAuthority(cert.SignatureKey, hostname) {
			certReason = strings.TrimPrefix(err.Error(), "ssh: ")
		} else {
			certReason = fmt.Sprintf("its authority %s %s is not trusted for %s", cert.SignatureKey.Type(),
				ssh.FingerprintSHA256(cert.SignatureKey), strings.Join(authorityNames(hostname), " or "))
		}
		key = cert.Key
	}
	if kh.plain == nil {
		return kh.keyError(hostname, key, func(e *HostKeyError) { e.Cert = certReason })
	}
	err := kh.plain(hostname, remote, key)
	if err == nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		return kh.keyError(hostname, key, func(e *HostKeyError) { e.Revoked = true })
	case errors.As(err, &keyErr):
		// A @cert-authority line names an authority, not the host's key: it does not make
		// another key a changed one.
		for _, w := range keyErr.Want {
			if !kh.caLines[w.Line] {
				return kh.keyError(hostname, key, func(e *HostKeyError) { e.Changed, e.Line = true, w.Line })
			}
		}
		return kh.keyError(hostname, key, func(e *HostKeyError) { e.Cert = certReason })
	default:
		return fmt.Errorf("check host key of %s: %w", hostname, err)
	}
}

func (kh *knownHosts) keyError(hostname string, key ssh.PublicKey, set func(*HostKeyError)) error {
	e := &HostKeyError{Host: hostname, KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: kh.file}
	set(e)
	return e
}

// isHostAuthority reports whether a @cert-authority line names auth for the host at address
// ("host:port"), as OpenSSH matches it (see authorityNames).
func (kh *knownHosts) isHostAuthority(auth ssh.PublicKey, address string) bool {
	for _, ca := range kh.cas {
		if bytes.Equal(ca.key.Marshal(), auth.Marshal()) && matchAnyName(ca.patterns, authorityNames(address)) {
			return true
		}
	}
	return false
}

// hasAuthorityFor reports whether any @cert-authority line is for the host at address.
func (kh *knownHosts) hasAuthorityFor(address string) bool {
	for _, ca := range kh.cas {
		if matchAnyName(ca.patterns, authorityNames(address)) {
			return true
		}
	}
	return false
}

// authorityNames are the names OpenSSH looks a certificate authority up by for the host at
// address: "[host]:port" and then, on a port other than 22, the bare host name too ("found
// matching key w/out port"), so that "@cert-authority *.example.com" covers every port.
func authorityNames(address string) []string {
	name := openSSHHostString(address)
	if bare, _, err := net.SplitHostPort(address); err == nil && strings.ToLower(bare) != name {
		return []string{name, strings.ToLower(bare)}
	}
	return []string{name}
}

// matchAnyName reports whether the patterns match one of the names, each looked up alone.
func matchAnyName(patterns, names []string) bool {
	for _, n := range names {
		if matchHostPatterns(patterns, n) {
			return true
		}
	}
	return false
}

// isRevoked reports whether the certificate's key or its authority's is marked @revoked.
func (kh *knownHosts) isRevoked(cert *ssh.Certificate) bool {
	_, k := kh.revoked[string(cert.Key.Marshal())]
	_, a := kh.revoked[string(cert.SignatureKey.Marshal())]
	return k || a
}

// plainKey is the key itself, or a certificate's certified key.
func plainKey(key ssh.PublicKey) ssh.PublicKey {
	if cert, ok := key.(*ssh.Certificate); ok {
		return cert.Key
	}
	return key
}

// openSSHHostString is the name OpenSSH looks a host up by in known_hosts: the host name,
// lowercased, alone on port 22 and as "[host]:port" on any other.
func openSSHHostString(address string) string {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		host, port = address, "22"
	}
	host = strings.ToLower(host)
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

// matchHostPatterns matches host against the host field of a known_hosts line as OpenSSH
// does: a hashed name (|1|salt|hash) matches when the hash of host is the same; otherwise each
// comma-separated pattern may hold * and ? and be negated with !, and host matches when a
// pattern does and no negated one does. Case does not matter.
func matchHostPatterns(patterns []string, host string) bool {
	matched := false
	for _, p := range patterns {
		if strings.HasPrefix(p, "|1|") {
			if hashedHostMatches(p, host) {
				matched = true
			}
			continue
		}
		negated := strings.HasPrefix(p, "!")
		p = strings.ToLower(strings.TrimPrefix(p, "!"))
		if !globMatch(p, host) {
			continue
		}
		if negated {
			return false
		}
		matched = true
	}
	return matched
}

// hashedHostMatches checks a hashed known_hosts name, "|1|" base64(salt) "|" base64(HMAC-SHA1
// of the name keyed with the salt).
func hashedHostMatches(entry, host string) bool {
	parts := strings.Split(entry, "|")
	if len(parts) != 4 || parts[1] != "1" {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	want, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(host))
	return hmac.Equal(mac.Sum(nil), want)
}

// globMatch matches s against a pattern of literal characters, * (any run) and ? (any one).
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
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
// (which would look like a changed key), after the certificate algorithms when a
// @cert-authority line is for the host. Nil (x/crypto's default: certificates first) when
// the file lists no key for it.
func knownHostKeyAlgorithms(file, hostname string) []string {
	kh, err := readKnownHosts(file)
	if err != nil || kh.plain == nil {
		return nil
	}
	// A throwaway key that matches nothing makes knownhosts list what it knows for the host.
	probe := probeKey()
	host, port, _ := net.SplitHostPort(hostname)
	p, _ := strconv.Atoi(port)
	err = kh.plain(hostname, &net.TCPAddr{IP: net.ParseIP(host), Port: p}, probe)
	var keyErr *knownhosts.KeyError
	var algos []string
	seen := map[string]bool{}
	if errors.As(err, &keyErr) {
		for _, k := range keyErr.Want {
			if kh.caLines[k.Line] {
				continue
			}
			for _, a := range algorithmsForKeyType(k.Key.Type()) {
				if !seen[a] {
					seen[a] = true
					algos = append(algos, a)
				}
			}
		}
	}
	if len(algos) == 0 {
		return nil
	}
	if kh.hasAuthorityFor(hostname) {
		return append(slices.Clone(certAlgorithms), algos...)
	}
	return algos
}

// certAlgorithms are the host certificate algorithms, in x/crypto's order of preference.
var certAlgorithms = []string{
	ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01,
	ssh.CertAlgoECDSA521v01, ssh.CertAlgoED25519v01,
}

func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
