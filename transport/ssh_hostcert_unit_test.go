package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMatchHostPatterns(t *testing.T) {
	tests := []struct {
		patterns string
		host     string
		want     bool
	}{
		{"db1.example.com", "db1.example.com", true},
		{"DB1.Example.com", "db1.example.com", true},
		{"db1.example.com", "[db1.example.com]:2222", false}, // a plain name is port 22 only
		{"[db1.example.com]:2222", "[db1.example.com]:2222", true},
		{"[db1.example.com]:2222", "db1.example.com", false},
		{"*.example.com", "db1.example.com", true},
		{"*.example.com", "[db1.example.com]:2222", false},
		{"[*.example.com]:2222", "[db1.example.com]:2222", true},
		{"*", "[10.0.0.1]:2222", true},
		{"10.0.0.?", "10.0.0.7", true},
		{"10.0.0.?", "10.0.0.17", false},
		{"other,*.example.com", "db1.example.com", true},
		{"!db1.example.com,*.example.com", "db1.example.com", false},
		{"!db1.example.com,*.example.com", "db2.example.com", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := matchHostPatterns(strings.Split(tt.patterns, ","), tt.host); got != tt.want {
			t.Errorf("matchHostPatterns(%q, %q) = %v, want %v", tt.patterns, tt.host, got, tt.want)
		}
	}
	hashed := knownhosts.HashHostname("[10.0.0.1]:2222") // hashes the name as OpenSSH writes it
	if !matchHostPatterns([]string{hashed}, "[10.0.0.1]:2222") || matchHostPatterns([]string{hashed}, "10.0.0.1") {
		t.Errorf("hashed entry %s matched the wrong names", hashed)
	}
	for addr, want := range map[string]string{"Host.Example:22": "host.example", "10.0.0.1:2222": "[10.0.0.1]:2222", "[::1]:2200": "[::1]:2200", "bare": "bare"} {
		if got := openSSHHostString(addr); got != want {
			t.Errorf("openSSHHostString(%q) = %q, want %q", addr, got, want)
		}
	}
}

type testCA struct {
	signer ssh.Signer
	pub    ssh.PublicKey
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{s, s.PublicKey()}
}

func (ca testCA) hostCert(t *testing.T, key ssh.PublicKey, principals ...string) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, Serial: 7, CertType: ssh.HostCert, KeyId: "test-host", ValidPrincipals: principals,
		ValidAfter: uint64(time.Now().Add(-time.Hour).Unix()), ValidBefore: uint64(time.Now().Add(time.Hour).Unix())}
	if err := c.SignCert(rand.Reader, ca.signer); err != nil {
		t.Fatal(err)
	}
	return c
}

func authorizedKey(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestHostCertificates(t *testing.T) {
	ca, otherCA := newTestCA(t), newTestCA(t)
	hostKey, listedKey := newTestKey(t), newTestKey(t)
	cert := ca.hostCert(t, hostKey, "10.0.0.5")
	const host = "10.0.0.5:2222"
	remote := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 2222}
	tests := []struct {
		name    string
		lines   []string
		key     ssh.PublicKey
		wantErr string // "" accepted; else what the refusal says
		changed bool
	}{
		{"[host]:port", []string{"@cert-authority [10.0.0.5]:2222 " + authorizedKey(ca.pub)}, cert, "", false},
		{"wildcard", []string{"@cert-authority * " + authorizedKey(ca.pub)}, cert, "", false},
		{"bracketed wildcard", []string{"@cert-authority [10.0.0.*]:2222 " + authorizedKey(ca.pub)}, cert, "", false},
		{"hashed", []string{"@cert-authority " + knownhosts.HashHostname("[10.0.0.5]:2222") + " " + authorizedKey(ca.pub)}, cert, "", false},
		{"pattern list", []string{"@cert-authority other,[10.0.0.5]:2222 " + authorizedKey(ca.pub)}, cert, "", false},
		{"plain name, on any port", []string{"@cert-authority 10.0.0.5 " + authorizedKey(ca.pub)}, cert, "", false},
		{"unbracketed wildcard, on any port", []string{"@cert-authority 10.0.0.* " + authorizedKey(ca.pub)}, cert, "", false},
		{"negated with the port only", []string{"@cert-authority ![10.0.0.5]:2222,* " + authorizedKey(ca.pub)}, cert, "", false},
		{"negated both ways", []string{"@cert-authority !10.0.0.5,![10.0.0.5]:2222,* " + authorizedKey(ca.pub)}, cert, "not known", false},
		{"another host", []string{"@cert-authority 10.0.0.6,[10.0.0.6]:2222 " + authorizedKey(ca.pub)}, cert, "not known", false},
		{"another authority: not a changed key", []string{"@cert-authority [10.0.0.5]:2222 " + authorizedKey(otherCA.pub)}, cert, "is not trusted for [10.0.0.5]:2222 or 10.0.0.5", false},
		{"plain key from a host with a CA line is unknown, not changed", []string{"@cert-authority [10.0.0.5]:2222 " + authorizedKey(ca.pub)}, hostKey, "not known", false},
		{"untrusted certificate, listed plain key", []string{"[10.0.0.5]:2222 " + authorizedKey(hostKey)}, cert, "", false},
		{"untrusted certificate, other plain key listed", []string{"[10.0.0.5]:2222 " + authorizedKey(listedKey)}, cert, "CHANGED", true},
		{"revoked authority", []string{"@cert-authority * " + authorizedKey(ca.pub), "@revoked * " + authorizedKey(ca.pub)}, cert, "revoked", false},
		{"revoked host key", []string{"@cert-authority * " + authorizedKey(ca.pub), "@revoked * " + authorizedKey(hostKey)}, cert, "revoked", false},
		{"wrong principal", []string{"@cert-authority * " + authorizedKey(ca.pub)}, ca.hostCert(t, hostKey, "10.0.0.6"), "not in the set of valid principals", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(f, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			h := &hostKeyChecker{file: f}
			err := h.check(host, remote, tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) || !strings.Contains(err.Error(), tt.wantErr) || hk.Changed != tt.changed {
				t.Fatalf("check = %v, want a HostKeyError saying %q (changed %v)", err, tt.wantErr, tt.changed)
			}
			if !tt.changed && (strings.Contains(err.Error(), "CHANGED") || strings.Contains(hk.hint(), "attack")) {
				t.Errorf("a key that did not change is called changed: %v (%s)", err, hk.hint())
			}
		})
	}
	// Asked for first when an authority is listed for the host, with the listed keys' types.
	f := filepath.Join(t.TempDir(), "known_hosts")
	content := "@cert-authority [10.0.0.5]:2222 " + authorizedKey(ca.pub) + "\n[10.0.0.5]:2222 " + authorizedKey(hostKey) + "\n"
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := knownHostKeyAlgorithms(f, host); len(got) == 0 || got[0] != ssh.CertAlgoRSASHA256v01 || got[len(got)-1] != ssh.KeyAlgoED25519 {
		t.Errorf("algorithms with an authority and a key = %v, want the certificates first, then ed25519", got)
	}
	if err := os.WriteFile(f, []byte("@cert-authority [10.0.0.5]:2222 "+authorizedKey(ca.pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := knownHostKeyAlgorithms(f, host); got != nil {
		t.Errorf("algorithms with only an authority = %v, want nil (x/crypto's default, certificates first)", got)
	}
	// Accepting a new key records the certified key, not the certificate.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	h := &hostKeyChecker{file: kh, acceptNew: true}
	if err := h.check(host, remote, cert); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(kh); !strings.Contains(string(b), authorizedKey(hostKey)) || strings.Contains(string(b), "cert-v01") {
		t.Errorf("recorded %q, want the plain host key", b)
	}
}
