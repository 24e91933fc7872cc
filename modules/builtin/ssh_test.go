package builtin

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/executortest"
	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// The generic modules' ssh integration test runs one real sshd on 127.0.0.112:2222, an
// address of the range this file's tests own (127.0.0.111-119).
const genSSHAddr = "127.0.0.112"

// genSSHHost starts a real sshd node and returns a Host whose Conn reaches it over ssh. It
// skips when sshd cannot run here, and fails instead under CI=true.
func genSSHHost(t *testing.T) *genHost {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with real sshd; skipped with -short")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "real sshd unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: t.TempDir(), Addrs: []string{genSSHAddr}, NamePrefix: "gen"})
	if err != nil {
		t.Fatalf("start sshd on %s: %v", genSSHAddr, err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	n := c.Nodes[0]
	conn, err := transport.Dial(ctx, transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, SSHKey: c.ClientKey, KnownHosts: c.KnownHosts})
	if err != nil {
		t.Fatalf("dial %s: %v", n.Address(), err)
	}
	t.Cleanup(func() { conn.Close() })
	executortest.RequireExecutor(t, conn)
	if conn.Local() {
		t.Fatal("transport.Dial gave a local connection for an ssh node")
	}
	h := newGenHost(t, map[string]any{"inventory_hostname": n.Name})
	h.Name = n.Name
	h.Conn = conn
	return h
}

// TestGenericModulesOverSSH runs the modules whose remote paths differ from local ones
// (sha256sum checksums, sftp transfers, the TCP probe script, the PTY) against a real sshd.
func TestGenericModulesOverSSH(t *testing.T) {
	h := genSSHHost(t)
	ctx := context.Background()
	dir := t.TempDir()
	apply := func(m modules.Module, raw map[string]any) modules.Result {
		t.Helper()
		res, err := m.Apply(ctx, h.Host, coerceArgs(t, m, raw))
		if err != nil {
			t.Fatalf("%s %v: %v", m.Name(), raw, err)
		}
		return res
	}

	t.Run("command and shell", func(t *testing.T) {
		res := apply(Command{}, map[string]any{"cmd": `printf '%s\n' "a b" c`, "chdir": dir})
		if res.Failed || res.Data["stdout"] != "a b\nc" || res.Data["rc"] != 0 {
			t.Fatalf("command: %+v", res)
		}
		res = apply(Shell{}, map[string]any{"cmd": "echo $((6*7)) | tr 4 x; exit 3"})
		if !res.Failed || res.Data["stdout"] != "x2" || res.Data["rc"] != 3 {
			t.Fatalf("shell: %+v", res)
		}
	})

	t.Run("find", func(t *testing.T) {
		writeTestFile(t, filepath.Join(dir, "docker_init_1.log"), "x", 0o644)
		res := apply(Find{}, map[string]any{"paths": []any{dir, dir + "/none"}, "patterns": []any{"docker_init*.log"}})
		files := res.Data["files"].([]any)
		if res.Failed || len(files) != 1 || files[0].(map[string]any)["path"] != dir+"/docker_init_1.log" || len(res.Data["skipped_paths"].(map[string]any)) != 1 {
			t.Fatalf("find over SSH: %+v", res)
		}
	})

	t.Run("copy, stat and fetch a big file", func(t *testing.T) {
		src := filepath.Join(dir, "pkg.tar")
		f, err := os.Create(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rand.Reader, 8<<20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		want, _, _ := hashLocalFile(src)
		dest := filepath.Join(dir, "remote.tar")
		copyArgs := map[string]any{"src": src, "dest": dest, "mode": "0600"}
		if res := apply(Copy{}, copyArgs); res.Failed || !res.Changed || res.Data["checksum"] != want {
			t.Fatalf("copy: %+v", res)
		}
		if res := apply(Copy{}, copyArgs); res.Failed || res.Changed {
			t.Fatalf("second copy: %+v", res)
		}
		res := apply(Stat{}, map[string]any{"path": dest, "checksum": true})
		st := res.Data["stat"].(map[string]any)
		if st["checksum"] != want || st["mode"] != "0600" || st["size"] != int64(8<<20) {
			t.Fatalf("stat: %+v", st)
		}
		fetchArgs := map[string]any{"src": dest, "dest": filepath.Join(dir, "back.tar"), "flat": true}
		if res := apply(Fetch{}, fetchArgs); res.Failed || !res.Changed || res.Data["checksum"] != want {
			t.Fatalf("fetch: %+v", res)
		}
		if res := apply(Fetch{}, fetchArgs); res.Failed || res.Changed {
			t.Fatalf("second fetch: %+v", res)
		}
	})

	t.Run("template", func(t *testing.T) {
		tmpl := filepath.Join(dir, "c.tmpl")
		writeTestFile(t, tmpl, "host: {{ .inventory_hostname }}\n", 0o644)
		dest := filepath.Join(dir, "c.yaml")
		for i, wantChanged := range []bool{true, false} {
			if res := apply(Template{}, map[string]any{"src": tmpl, "dest": dest}); res.Failed || res.Changed != wantChanged {
				t.Fatalf("template run %d: %+v", i, res)
			}
		}
		if b, _ := os.ReadFile(dest); string(b) != "host: "+h.Name+"\n" {
			t.Fatalf("rendered %q", b)
		}
	})

	t.Run("wait_for probes from the remote host", func(t *testing.T) {
		_, port := listenWaitFor(t)
		if res := apply(WaitFor{}, map[string]any{"host": waitForAddr, "port": port, "timeout": 10}); res.Failed {
			t.Fatalf("open port: %+v", res)
		}
		res := apply(WaitFor{}, map[string]any{"host": waitForAddr, "port": closedPort(t), "timeout": "1s", "sleep": "200ms"})
		if !res.Failed || !strings.Contains(res.Msg, "timeout after") {
			t.Fatalf("closed port: %+v", res)
		}
	})

	t.Run("expect under an ssh pty", func(t *testing.T) {
		script := expectScript(t, dir, "ask.sh", `read -p "Node name? " n
read -s -p "Password: " p; echo
echo "node $n, password ok: $([ "$p" = "`+secretAnswer+`" ] && echo yes)"
`)
		res := apply(Expect{}, map[string]any{
			"command":          script,
			"responses":        map[string]any{`name\?`: "oms-hz-1"},
			"secret_responses": map[string]any{"Password:": secretAnswer},
		})
		out, _ := res.Data["stdout"].(string)
		if res.Failed || !strings.Contains(out, "node oms-hz-1, password ok: yes") || strings.Contains(out, secretAnswer) {
			t.Fatalf("expect: %+v", res)
		}
		res = apply(Expect{}, map[string]any{"command": script, "responses": map[string]any{`name\?`: "x"}})
		if !res.Failed || !strings.Contains(res.Msg, "no answer for prompt: Password:") {
			t.Fatalf("expect with a missing answer: %+v", res)
		}
	})
}
