package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

const (
	httpTestUser     = "fetcher"
	httpTestPassword = "s3cret-pass"
	httpTestToken    = "tok-123456789"
)

// httpTestServer is a TLS server on loopback (httptest's self-signed certificate) that the
// sshd node, on the same machine, reaches as the target host would.
type httpTestServer struct {
	*httptest.Server
	mu   sync.Mutex
	file string
}

func newHTTPTestServer(t *testing.T) *httpTestServer {
	s := &httpTestServer{file: "release 1\n"}
	mux := http.NewServeMux()
	mux.HandleFunc("/dl/pkg.txt", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, _ = io.WriteString(w, s.file)
	})
	mux.HandleFunc("/private/pkg.txt", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != httpTestUser || p != httpTestPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "private\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", "omsbook-test")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(b), "ctype": r.Header.Get("Content-Type"), "token": r.Header.Get("X-Api-Token")})
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/echo", http.StatusFound) })
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

func sha256Hex(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }

// TestGetURLOverSSH downloads on a real sshd node from a TLS server on loopback: the cycle
// (download, ok, drift, check, download, ok), checksums, credentials, certificates.
func TestGetURLOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	srv := newHTTPTestServer(t)
	ctx := context.Background()
	run := func(t *testing.T, check bool, raw map[string]any) modules.Result {
		t.Helper()
		do := GetURL{}.Apply
		if check {
			do = GetURL{}.Check
		}
		res, err := do(ctx, h.Host, coerceArgs(t, GetURL{}, raw))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	cases := []struct {
		name  string
		args  func(dir string) map[string]any
		dest  string
		drift func(t *testing.T, dir string)
	}{
		{"checksum", func(d string) map[string]any {
			return map[string]any{"url": srv.URL + "/dl/pkg.txt", "dest": d + "/pkg.txt", "checksum": "sha256:" + sha256Hex("release 1\n"), "validate_certs": false, "mode": "0640"}
		}, "pkg.txt", func(t *testing.T, d string) { writeTestFile(t, d+"/pkg.txt", "tampered\n", 0o640) }},
		{"force into a directory", func(d string) map[string]any {
			return map[string]any{"url": srv.URL + "/dl/pkg.txt", "dest": d, "force": true, "validate_certs": false}
		}, "pkg.txt", func(t *testing.T, d string) { writeTestFile(t, d+"/pkg.txt", "old\n", 0o644) }},
		{"credentials", func(d string) map[string]any {
			return map[string]any{"url": srv.URL + "/private/pkg.txt", "dest": d + "/p.txt", "force": true, "validate_certs": false,
				"url_username": httpTestUser, "url_password": httpTestPassword}
		}, "p.txt", func(t *testing.T, d string) { writeTestFile(t, d+"/p.txt", "x\n", 0o644) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := c.args(dir)
			want := "release 1\n"
			if c.name == "credentials" {
				want = "private\n"
			}
			if r := run(t, false, args); r.Failed || !r.Changed || r.Data["status_code"] != 200 {
				t.Fatalf("first: %+v", r)
			}
			wantFile(t, filepath.Join(dir, c.dest), want)
			if r := run(t, false, args); r.Failed || r.Changed {
				t.Fatalf("second: %+v", r)
			}
			c.drift(t, dir)
			before := treeSnapshot(t, dir)
			if r := run(t, true, args); r.Failed || r.Unknown || !r.Changed {
				t.Fatalf("check after drift: %+v", r)
			}
			if treeSnapshot(t, dir) != before {
				t.Fatal("check changed the host")
			}
			if r := run(t, false, args); r.Failed || !r.Changed {
				t.Fatalf("after drift: %+v", r)
			}
			wantFile(t, filepath.Join(dir, c.dest), want)
			if r := run(t, false, args); r.Failed || r.Changed {
				t.Fatalf("again: %+v", r)
			}
		})
	}
	t.Run("password is a secret", func(t *testing.T) {
		if got := h.Mask("x " + httpTestPassword); strings.Contains(got, httpTestPassword) {
			t.Fatalf("url_password not masked: %q", got)
		}
	})
	t.Run("checksum mismatch fails and writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		r := run(t, false, map[string]any{"url": srv.URL + "/dl/pkg.txt", "dest": dir + "/x", "checksum": "sha256:" + sha256Hex("other"), "validate_certs": false})
		if !r.Failed || !strings.Contains(r.Msg, "did not match") {
			t.Fatalf("%+v", r)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("left %v", ents)
		}
	})
	t.Run("validate_certs refuses the self-signed certificate", func(t *testing.T) {
		dir := t.TempDir()
		r := run(t, false, map[string]any{"url": srv.URL + "/dl/pkg.txt", "dest": dir + "/x"})
		if !r.Failed || !strings.Contains(r.Msg, "certificate") {
			t.Fatalf("%+v", r)
		}
	})
}

// TestURIOverSSH makes requests from a real sshd node to a TLS server on loopback.
func TestURIOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	srv := newHTTPTestServer(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		check  bool
		args   map[string]any
		failed bool
		verify func(t *testing.T, r modules.Result)
	}{
		{name: "GET json through a redirect", args: map[string]any{"url": srv.URL + "/redirect", "return_content": true}, verify: func(t *testing.T, r modules.Result) {
			js, _ := r.Data["json"].(map[string]any)
			if r.Data["status"] != 200 || js["method"] != "GET" || r.Data["x_served_by"] != "omsbook-test" || !strings.HasSuffix(r.Data["url"].(string), "/echo") {
				t.Fatalf("%+v", r.Data)
			}
			if hd, _ := r.Data["headers"].(map[string]any); hd["content-type"] != "application/json" {
				t.Fatalf("headers %+v", r.Data["headers"])
			}
		}},
		{name: "POST json with a secret header", args: map[string]any{"url": srv.URL + "/echo", "method": "POST", "body_format": "json",
			"body": map[string]any{"a": 1}, "status_code": []any{200, 201}, "return_content": true, "headers": map[string]any{"X-Api-Token": httpTestToken}},
			verify: func(t *testing.T, r modules.Result) {
				js, _ := r.Data["json"].(map[string]any)
				if r.Data["status"] != 201 || js["body"] != `{"a":1}` || js["ctype"] != "application/json" || js["token"] != httpTestToken {
					t.Fatalf("%+v", r.Data)
				}
				if strings.Contains(h.Mask(r.Data["content"].(string)), httpTestToken) {
					t.Fatal("the token header's value is not masked")
				}
			}},
		{name: "form-urlencoded", args: map[string]any{"url": srv.URL + "/echo", "method": "PUT", "body_format": "form-urlencoded",
			"body": map[string]any{"name": "a b", "x": "1&2"}, "return_content": true}, verify: func(t *testing.T, r modules.Result) {
			js, _ := r.Data["json"].(map[string]any)
			if js["body"] != "name=a+b&x=1%262" || js["ctype"] != "application/x-www-form-urlencoded" {
				t.Fatalf("%+v", js)
			}
		}},
		{name: "status not accepted", args: map[string]any{"url": srv.URL + "/nothing"}, failed: true, verify: func(t *testing.T, r modules.Result) {
			if r.Data["status"] != 404 || !strings.Contains(r.Msg, "Status code was 404") {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "404 accepted as an int", args: map[string]any{"url": srv.URL + "/nothing", "status_code": 404}},
		{name: "check mode sends GET", check: true, args: map[string]any{"url": srv.URL + "/echo"}, verify: func(t *testing.T, r modules.Result) {
			if r.Unknown || r.Data["status"] != 200 {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "check mode does not send POST", check: true, args: map[string]any{"url": srv.URL + "/echo", "method": "POST"}, verify: func(t *testing.T, r modules.Result) {
			if !r.Unknown {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "validate_certs refuses the self-signed certificate", args: map[string]any{"url": srv.URL + "/echo", "validate_certs": true}, failed: true,
			verify: func(t *testing.T, r modules.Result) {
				if !strings.Contains(r.Msg, "certificate") {
					t.Fatalf("%+v", r)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := map[string]any{"validate_certs": false}
			for k, v := range c.args {
				raw[k] = v
			}
			do := URI{}.Apply
			if c.check {
				do = URI{}.Check
			}
			r, err := do(ctx, h.Host, coerceArgs(t, URI{}, raw))
			if err != nil {
				t.Fatal(err)
			}
			if r.Failed != c.failed || r.Changed {
				t.Fatalf("want failed=%v, changed false: %+v", c.failed, r)
			}
			if c.verify != nil {
				c.verify(t, r)
			}
		})
	}
}
