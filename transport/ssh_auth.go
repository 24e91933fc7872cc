package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultKeyFiles are tried, when present, if the spec names no key file.
var defaultKeyFiles = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// expandHome turns a leading "~/" into the user's home directory.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

// authPlan is what authMethods offers, in words, for the message of a failed login.
type authPlan struct {
	keys     []string // "key ~/.ssh/id_ed25519", "agent key me@laptop"
	password bool
}

// authMethods gathers the ways to log in: the agent's keys, the key file (or the default key
// files) and the password. The returned func releases the agent connection; call it once the
// handshakes are done.
func authMethods(spec Spec) ([]ssh.AuthMethod, *authPlan, func(), error) {
	var signers []ssh.Signer
	plan := &authPlan{}
	release := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			release = func() { conn.Close() }
			ag := agent.NewClient(conn)
			if s, err := ag.Signers(); err == nil {
				signers = append(signers, s...)
				comments := map[string]string{}
				if keys, err := ag.List(); err == nil {
					for _, k := range keys {
						comments[string(k.Marshal())] = k.Comment
					}
				}
				for _, sg := range s {
					name := comments[string(sg.PublicKey().Marshal())]
					if name == "" {
						name = ssh.FingerprintSHA256(sg.PublicKey())
					}
					plan.keys = append(plan.keys, "agent key "+name)
				}
			}
		}
	}
	if spec.SSHKey != "" {
		s, err := loadKeyFile(expandHome(spec.SSHKey))
		if err != nil {
			release()
			return nil, nil, nil, err
		}
		signers = append(signers, s)
		plan.keys = append(plan.keys, "key "+spec.SSHKey)
	} else if home, err := os.UserHomeDir(); err == nil {
		for _, name := range defaultKeyFiles {
			// Default keys are a convenience: an unreadable or encrypted one is skipped.
			if s, err := loadKeyFile(filepath.Join(home, ".ssh", name)); err == nil {
				signers = append(signers, s)
				plan.keys = append(plan.keys, "key ~/.ssh/"+name)
			}
		}
	}
	var methods []ssh.AuthMethod
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if pw := spec.SSHPassword; pw != "" {
		plan.password = true
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		release()
		return nil, nil, nil, errors.New("no ssh credentials: set ssh_key or ssh_password, start an ssh-agent (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519")
	}
	return methods, plan, release, nil
}

// authTracker follows a login through x/crypto's AuthCallback, which sees each step: the
// methods the server accepts and those tried so far.
type authTracker struct {
	mu      sync.Mutex
	started bool
	allowed []string
	tried   []string
}

func (a *authTracker) callback(ctx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started = true
	if ctx.AllowedMethods != nil {
		a.allowed = ctx.AllowedMethods
	}
	a.tried = ctx.TriedMethods
	return nil, nil // go on with the next method of ClientConfig.Auth
}

// failure describes a login that failed: which methods were tried, how each failed, and what
// the server accepts. Nil when the login never got that far.
func (a *authTracker) failure(user, addr string, plan *authPlan, err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started {
		return nil
	}
	tried := map[string]bool{}
	for _, m := range a.tried {
		tried[m] = true
	}
	allowed := map[string]bool{}
	for _, m := range a.allowed {
		allowed[m] = true
	}
	var parts []string
	if len(plan.keys) > 0 {
		switch {
		case tried["publickey"] && len(plan.keys) == 1:
			parts = append(parts, "publickey ("+plan.keys[0]+" refused)")
		case tried["publickey"]:
			parts = append(parts, "publickey (refused: "+strings.Join(plan.keys, ", ")+")")
		case !allowed["publickey"]:
			parts = append(parts, "publickey (not accepted by the server)")
		}
	}
	if plan.password {
		switch {
		case tried["password"]:
			parts = append(parts, "password (refused)")
		case !allowed["password"]:
			parts = append(parts, "password (not accepted by the server)")
		}
		if tried["keyboard-interactive"] {
			parts = append(parts, "keyboard-interactive (refused)")
		}
	}
	msg := fmt.Sprintf("ssh login as %s@%s failed: tried %s", user, addr, strings.Join(parts, ", "))
	if len(parts) == 0 {
		msg = fmt.Sprintf("ssh login as %s@%s failed: no method offered is accepted by the server", user, addr)
	}
	var accepts []string
	for _, m := range a.allowed {
		if m != "none" {
			accepts = append(accepts, m)
		}
	}
	if len(accepts) > 0 {
		msg += "; the server accepts " + strings.Join(accepts, ", ")
	}
	if err != nil && strings.HasPrefix(err.Error(), "ssh: disconnect") {
		msg += " (" + strings.TrimPrefix(err.Error(), "ssh: ") + ")" // e.g. too many authentication failures
	}
	return &authError{msg: msg, err: err}
}

// authError is a failed login; it wraps x/crypto's error, which says less.
type authError struct {
	msg string
	err error
}

func (e *authError) Error() string { return e.msg }
func (e *authError) Unwrap() error { return e.err }

// keyCache keeps parsed key files: with hundreds of hosts, each key is read and parsed once.
var keyCache sync.Map // path -> ssh.Signer

func loadKeyFile(path string) (ssh.Signer, error) {
	if s, ok := keyCache.Load(path); ok {
		return s.(ssh.Signer), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ssh key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("ssh key %s is protected by a passphrase: load it into ssh-agent (ssh-add %s)", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("parse ssh key %s: %w", path, err)
	}
	keyCache.Store(path, s)
	return s, nil
}

// currentUser is the login name used when the spec names none.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// probeKey is a fixed public key that no host has, used to ask knownhosts which keys it lists.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	return pub
})
