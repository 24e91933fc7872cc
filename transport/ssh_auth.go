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

// authMethods gathers the ways to log in: the agent's keys, the key file (or the default key
// files) and the password. The returned func releases the agent connection; call it once the
// handshakes are done.
func authMethods(spec Spec) ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	release := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			release = func() { conn.Close() }
			if s, err := agent.NewClient(conn).Signers(); err == nil {
				signers = append(signers, s...)
			}
		}
	}
	if spec.SSHKey != "" {
		s, err := loadKeyFile(expandHome(spec.SSHKey))
		if err != nil {
			release()
			return nil, nil, err
		}
		signers = append(signers, s)
	} else if home, err := os.UserHomeDir(); err == nil {
		for _, name := range defaultKeyFiles {
			// Default keys are a convenience: an unreadable or encrypted one is skipped.
			if s, err := loadKeyFile(filepath.Join(home, ".ssh", name)); err == nil {
				signers = append(signers, s)
			}
		}
	}
	var methods []ssh.AuthMethod
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if pw := spec.SSHPassword; pw != "" {
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
		return nil, nil, errors.New("no ssh credentials: set ssh_key or ssh_password, start an ssh-agent (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519")
	}
	return methods, release, nil
}

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
