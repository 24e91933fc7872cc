package builtin

import (
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/executortest"
	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// The file modules' tests run one real sshd on 127.0.0.121:2222 (this file's range:
// 127.0.0.121-129).
const filesSSHAddr = "127.0.0.121"

// filesSSHHost starts a real sshd node and returns a Host reaching it over ssh.
func filesSSHHost(t *testing.T) *genHost {
	t.Helper()
	h, _ := sshNodeHost(t, filesSSHAddr, "files")
	return h
}

// sshNodeHost starts a real sshd node on addr (port 2222) and returns a Host reaching it over
// ssh, and the connection.
func sshNodeHost(t *testing.T, addr, prefix string) (*genHost, *transport.SSHConn) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with real sshd; skipped with -short")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "real sshd unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: t.TempDir(), Addrs: []string{addr}, NamePrefix: prefix})
	if err != nil {
		t.Fatalf("start sshd on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	n := c.Nodes[0]
	conn, err := transport.DialSSH(ctx, transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, SSHKey: c.ClientKey, KnownHosts: c.KnownHosts})
	if err != nil {
		t.Fatalf("dial %s: %v", n.Address(), err)
	}
	t.Cleanup(func() { conn.Close() })
	executortest.RequireExecutor(t, conn)
	h := newGenHost(t, map[string]any{"inventory_hostname": n.Name})
	h.Name, h.Conn = n.Name, conn
	return h, conn
}

// cycleCase is one module task run through the whole cycle on the node: apply (changed),
// apply again (ok), drift by hand, check with --diff (changed, a diff, nothing written),
// apply (changed), apply again (ok).
type cycleCase struct {
	name   string
	module modules.Module
	setup  func(t *testing.T, dir string)
	args   func(dir string) map[string]any
	drift  func(t *testing.T, dir string)
	verify func(t *testing.T, dir string)
	// firstOK: the first apply finds it already so (e.g. state=file on an existing file).
	firstOK bool
}

func readFileT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantFile(t *testing.T, p, content string) {
	t.Helper()
	if got := readFileT(t, p); got != content {
		t.Fatalf("%s: got %q, want %q", p, got, content)
	}
}

func wantMode(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Fatalf("%s: mode %04o, want %04o", p, st.Mode().Perm(), mode)
	}
}

func fileCycleCases() []cycleCase {
	conf := "# sshd\nPort 22\nPermitRootLogin yes\n"
	return []cycleCase{
		{name: "file directory with mode, parents", module: File{},
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/a/b/c", "state": "directory", "mode": "0750"}
			},
			drift:  func(t *testing.T, d string) { _ = os.Chmod(d+"/a/b/c", 0o700) },
			verify: func(t *testing.T, d string) { wantMode(t, d+"/a/b/c", 0o750); wantMode(t, d+"/a", 0o750) }},
		{name: "file directory recurse symbolic mode", module: File{},
			setup: func(t *testing.T, d string) {
				writeTestFile(t, d+"/tree/x", "x", 0o600)
				writeTestFile(t, d+"/tree/sub/y", "y", 0o644)
			},
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/tree", "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o-rwx"}
			},
			drift: func(t *testing.T, d string) { _ = os.Chmod(d+"/tree/sub/y", 0o666) },
			verify: func(t *testing.T, d string) {
				wantMode(t, d+"/tree/x", 0o640)
				wantMode(t, d+"/tree/sub/y", 0o640)
				wantMode(t, d+"/tree/sub", 0o750)
			}},
		{name: "file state=file mode and owner", module: File{}, firstOK: false,
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/f", "data", 0o600) },
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/f", "mode": "0644", "owner": "root", "group": "root"}
			},
			drift:  func(t *testing.T, d string) { _ = os.Chmod(d+"/f", 0o600) },
			verify: func(t *testing.T, d string) { wantMode(t, d+"/f", 0o644); wantFile(t, d+"/f", "data") }},
		{name: "file link", module: File{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/target", "t", 0o644) },
			args: func(d string) map[string]any {
				return map[string]any{"src": "target", "dest": d + "/ln", "state": "link"}
			},
			drift: func(t *testing.T, d string) {
				_ = os.Remove(d + "/ln")
				_ = os.Symlink("elsewhere", d+"/ln")
			},
			verify: func(t *testing.T, d string) {
				if l, err := os.Readlink(d + "/ln"); err != nil || l != "target" {
					t.Fatalf("link: %q %v", l, err)
				}
			}},
		{name: "file hard link", module: File{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/orig", "o", 0o644) },
			args: func(d string) map[string]any {
				return map[string]any{"src": d + "/orig", "path": d + "/hard", "state": "hard", "force": true}
			},
			drift: func(t *testing.T, d string) { _ = os.Remove(d + "/hard"); writeTestFile(t, d+"/hard", "other", 0o644) },
			verify: func(t *testing.T, d string) {
				a, _ := os.Stat(d + "/orig")
				b, _ := os.Stat(d + "/hard")
				if !os.SameFile(a, b) {
					t.Fatal("not the same file")
				}
			}},
		{name: "file touch preserve", module: File{},
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/touched", "state": "touch", "mode": "u=rw,go=r", "access_time": "preserve", "modification_time": "preserve"}
			},
			drift:  func(t *testing.T, d string) { _ = os.Remove(d + "/touched") },
			verify: func(t *testing.T, d string) { wantFile(t, d+"/touched", ""); wantMode(t, d+"/touched", 0o644) }},
		{name: "file absent", module: File{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/gone/deep/f", "x", 0o644) },
			args:  func(d string) map[string]any { return map[string]any{"path": d + "/gone", "state": "absent"} },
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/gone", "back", 0o644) },
			verify: func(t *testing.T, d string) {
				_, err := os.Lstat(d + "/gone")
				if !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}},
		{name: "lineinfile regexp with backup and validate", module: LineInFile{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/sshd_config", conf, 0o600) },
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/sshd_config", "regexp": "^Port ", "line": "Port 2200", "backup": true, "validate": "grep -q '^Port 2200$' %s"}
			},
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/sshd_config", conf, 0o600) },
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/sshd_config", "# sshd\nPort 2200\nPermitRootLogin yes\n")
				wantMode(t, d+"/sshd_config", 0o600)
				backups, _ := filepath.Glob(d + "/sshd_config.*~")
				if len(backups) == 0 || readFileT(t, backups[0]) != conf {
					t.Fatalf("backups %v", backups)
				}
			}},
		{name: "lineinfile create with mode", module: LineInFile{},
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/new/dir/f.conf", "line": "key=value", "create": true, "mode": "0640"}
			},
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/new/dir/f.conf", "other\n", 0o640) },
			verify: func(t *testing.T, d string) {
				wantMode(t, d+"/new/dir/f.conf", 0o640)
				if got := readFileT(t, d+"/new/dir/f.conf"); !strings.HasSuffix(got, "key=value\n") || strings.Count(got, "key=value") != 1 {
					t.Fatalf("f.conf: %q", got)
				}
			}},
		{name: "blockinfile", module: BlockInFile{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/hosts", "127.0.0.1 localhost\n", 0o644) },
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/hosts", "block": "10.0.0.1 a\n10.0.0.2 b", "marker": "# {mark} omsbook", "backup": true}
			},
			drift: func(t *testing.T, d string) {
				writeTestFile(t, d+"/hosts", "127.0.0.1 localhost\n# BEGIN omsbook\n10.0.0.9 z\n# END omsbook\n", 0o644)
			},
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/hosts", "127.0.0.1 localhost\n# BEGIN omsbook\n10.0.0.1 a\n10.0.0.2 b\n# END omsbook\n")
			}},
		{name: "replace", module: Replace{},
			setup: func(t *testing.T, d string) {
				writeTestFile(t, d+"/app.ini", "[db]\nhost=old\n[cache]\nhost=old\n", 0o644)
			},
			args: func(d string) map[string]any {
				return map[string]any{"path": d + "/app.ini", "regexp": `^host=(\w+)$`, "replace": `host=new # \1`, "after": `\[db\]`, "before": `\[cache\]`}
			},
			drift: func(t *testing.T, d string) {
				writeTestFile(t, d+"/app.ini", "[db]\nhost=other\n[cache]\nhost=old\n", 0o644)
			},
			verify: func(t *testing.T, d string) {
				if got := readFileT(t, d+"/app.ini"); !strings.HasPrefix(got, "[db]\nhost=new # ") || !strings.HasSuffix(got, "[cache]\nhost=old\n") {
					t.Fatalf("app.ini: %q", got)
				}
			}},
	}
}

// TestFileModulesOverSSH runs every file-module case through the cycle on a real sshd node,
// once over sftp and once with become (the transport's command path).
func TestFileModulesOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	ctx := context.Background()
	ctl := makeCopyTree(t)
	for _, become := range []bool{false, true} {
		via := "sftp"
		if become {
			via = "become"
		}
		for _, c := range append(fileCycleCases(), copyCycleCases(ctl)...) {
			t.Run(via+"/"+c.name, func(t *testing.T) {
				h.Become = become
				defer func() { h.Become = false }()
				dir := t.TempDir()
				if c.setup != nil {
					c.setup(t, dir)
				}
				args := coerceArgs(t, c.module, c.args(dir))
				run := func(step string, check bool, wantChanged bool) modules.Result {
					t.Helper()
					h.Diff = check
					defer func() { h.Diff = false }()
					do := c.module.Apply
					if check {
						do = c.module.Check
					}
					res, err := do(ctx, h.Host, args)
					if err != nil {
						t.Fatalf("%s: %v", step, err)
					}
					if res.Failed || res.Unknown || res.Changed != wantChanged {
						t.Fatalf("%s: want changed=%v, got %+v", step, wantChanged, res)
					}
					return res
				}
				run("first apply", false, !c.firstOK)
				c.verify(t, dir)
				run("second apply", false, false)
				c.drift(t, dir)
				before := treeSnapshot(t, dir)
				res := run("check after drift", true, true)
				if res.Diff == nil || res.Diff.Before == res.Diff.After {
					t.Fatalf("check after drift: no diff: %+v", res)
				}
				if after := treeSnapshot(t, dir); after != before {
					t.Fatalf("check changed the host:\n%s\n---\n%s", before, after)
				}
				run("apply after drift", false, true)
				c.verify(t, dir)
				run("apply again", false, false)
			})
		}
	}
}

// The temporary-file tests run one real sshd on 127.0.7.50:2222 (this file's range:
// 127.0.7.50-60).
const debrisSSHAddr = "127.0.7.50"

// tempFilesUnder lists the omsbook temporary files anywhere below dir.
func tempFilesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".omsbook-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCopyRemovesDebrisOverSSH: copy and template over real sshd remove the temporary files
// of their destination that killed older runs left beside it (named with a run id, or as older
// versions named them), and nothing else; the destination is the complete new file.
func TestCopyRemovesDebrisOverSSH(t *testing.T) {
	h, _ := sshNodeHost(t, debrisSSHAddr, "debris")
	dir := t.TempDir() // the node shares the controller's disk
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = transport.WithRun(ctx, transport.RunInfo{ID: "20261201T120000Z-debris", Start: time.Now()})
	gone := []string{
		".app.conf.omsbook-tmp-20261130T080000Z-upgrade-422-to-423-0123456789ab",
		".app.conf.omsbook-0123456789ab",
		".tpl.conf.omsbook-tmp-20261130T080000Z-upgrade-422-to-423-abcdefabcdef",
	}
	kept := []string{
		".app.conf.omsbook-tmp-20261201T120000Z-debris-0123456789ab", // this run's own
		".other.conf.omsbook-tmp-20261130T080000Z-upgrade-422-to-423-0123456789ab",
		".app.conf.omsbook-tmp-20261130T080000Z-upgrade-422-to-423-0123456789ab.keep",
		"app.conf.bak",
	}
	testutil.WriteOld(t, dir, append(append([]string(nil), gone...), kept...)...)
	if err := os.WriteFile(filepath.Join(dir, "app.conf"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Copy{}.Apply(ctx, h.Host, coerceArgs(t, Copy{}, map[string]any{"content": "new\n", "dest": filepath.Join(dir, "app.conf")}))
	if err != nil || r.Failed || !r.Changed {
		t.Fatalf("copy = %+v, %v", r, err)
	}
	r, err = Template{}.Apply(ctx, h.Host, coerceArgs(t, Template{}, map[string]any{"content": "t\n", "dest": filepath.Join(dir, "tpl.conf")}))
	if err != nil || r.Failed || !r.Changed {
		t.Fatalf("template = %+v, %v", r, err)
	}
	wantFile(t, filepath.Join(dir, "app.conf"), "new\n")
	wantFile(t, filepath.Join(dir, "tpl.conf"), "t\n")
	want := append(append([]string(nil), kept...), "app.conf", "tpl.conf")
	sort.Strings(want)
	if got := testutil.DirNames(t, dir); got != strings.Join(want, " ") {
		t.Fatalf("after copy and template the directory holds\n%s\nwant\n%s", got, strings.Join(want, " "))
	}
}

// TestFetchRemovesDebris: fetch removes, on the controller, the temporary file a killed older
// fetch of the same destination left.
func TestFetchRemovesDebris(t *testing.T) {
	h, _ := sshNodeHost(t, debrisSSHAddr, "debris")
	node, ctl := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = transport.WithRun(ctx, transport.RunInfo{ID: "20261201T120000Z-fetch", Start: time.Now()})
	if err := os.WriteFile(filepath.Join(node, "report.txt"), []byte("report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WriteOld(t, ctl, ".report.txt.omsbook-tmp-20261130T080000Z-old-0123456789ab", ".report.txt.omsbook-0123456789abcdef", "other.txt")
	r, err := Fetch{}.Apply(ctx, h.Host, coerceArgs(t, Fetch{}, map[string]any{"src": filepath.Join(node, "report.txt"), "dest": ctl + "/", "flat": true}))
	if err != nil || r.Failed || !r.Changed {
		t.Fatalf("fetch = %+v, %v", r, err)
	}
	wantFile(t, filepath.Join(ctl, "report.txt"), "report\n")
	if got := testutil.DirNames(t, ctl); got != "other.txt report.txt" {
		t.Fatalf("after fetch the controller directory holds %v", got)
	}
}

// pausingConn is a real connection whose transfers stop after a first part until their
// context ends, so that a test can cancel them mid-transfer without guessing at timing.
// With hold set, Put's reader ignores its context and waits for hold: a source that does not
// stop when told.
type pausingConn struct {
	transport.Conn
	after   int
	reached chan struct{}
	hold    chan struct{}
}

func (p *pausingConn) Put(ctx context.Context, r io.Reader, dest string, mode fs.FileMode) error {
	return p.Conn.Put(ctx, &testutil.PausingReader{Ctx: ctx, R: r, Left: p.after, Reached: p.reached, Hold: p.hold}, dest, mode)
}

func (p *pausingConn) Get(ctx context.Context, src string, w io.Writer) error {
	return p.Conn.Get(ctx, src, &pausingWriter{ctx: ctx, w: w, left: p.after, reached: p.reached})
}

type pausingWriter struct {
	ctx     context.Context
	w       io.Writer
	left    int
	reached chan struct{}
}

func (p *pausingWriter) Write(b []byte) (int, error) {
	if p.left <= 0 {
		close(p.reached)
		<-p.ctx.Done()
		return 0, p.ctx.Err()
	}
	n, err := p.w.Write(b[:min(len(b), p.left)])
	p.left -= n
	if err == nil && n < len(b) {
		return p.Write(b[n:])
	}
	return n, err
}

// bigFile writes size random bytes to p.
func bigFile(t *testing.T, p string, size int) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCancelledTransfersLeaveNoTemp: a copy cancelled mid-transfer over real sshd leaves no
// temporary file on the node and the old destination, also when its source does not stop (the
// transfer's sftp client is then dropped, and the file removed over a fresh one); a fetch
// cancelled mid-transfer leaves none on the controller. The last copy is cancelled as the
// runner does on Ctrl-C: the context ends and the connection is closed at once.
func TestCancelledTransfersLeaveNoTemp(t *testing.T) {
	h, conn := sshNodeHost(t, debrisSSHAddr, "debris")
	node, ctl := t.TempDir(), t.TempDir()
	src := filepath.Join(t.TempDir(), "big.bin")
	bigFile(t, src, 8<<20)
	dest := filepath.Join(node, "big.bin")
	if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyCall := func(ctx context.Context) error {
		r, err := Copy{}.Apply(ctx, h.Host, coerceArgs(t, Copy{}, map[string]any{"src": src, "dest": dest}))
		if err == nil && !r.Failed {
			t.Errorf("a cancelled copy = %+v; want an error", r)
		}
		return err
	}
	for _, tc := range []struct {
		what string
		call func(ctx context.Context) error
		dir  string // where the temporary file is written
		hold bool
	}{
		{"copy from a source that does not stop", copyCall, node, true},
		{"fetch", func(ctx context.Context) error {
			r, err := Fetch{}.Apply(ctx, h.Host, coerceArgs(t, Fetch{}, map[string]any{"src": src, "dest": ctl + "/", "flat": true}))
			if err == nil && !r.Failed {
				t.Errorf("a cancelled fetch = %+v; want an error", r)
			}
			return err
		}, ctl, false},
		{"copy", copyCall, node, false},
	} {
		pc := &pausingConn{Conn: conn, after: 1 << 20, reached: make(chan struct{})}
		if tc.hold {
			pc.hold = make(chan struct{})
		}
		h.Conn = pc
		ctx, cancel := context.WithCancel(transport.WithRun(context.Background(), transport.RunInfo{ID: "20261201T120000Z-cancel", Start: time.Now()}))
		done := make(chan error, 1)
		go func() { done <- tc.call(ctx) }()
		select {
		case <-pc.reached:
		case err := <-done:
			t.Fatalf("%s ended before the pause: %v", tc.what, err)
		}
		if got := tempFilesUnder(t, tc.dir); len(got) != 1 || !strings.Contains(got[0], ".omsbook-tmp-20261201T120000Z-cancel-") {
			t.Fatalf("%s mid-transfer: temporary files %v; want one named with the run", tc.what, got)
		}
		cancel()
		if tc.what == "copy" {
			conn.Close() // as the runner closes every connection on Ctrl-C
		}
		<-done
		if got := tempFilesUnder(t, tc.dir); len(got) > 0 {
			t.Fatalf("%s cancelled: temporary files left: %v", tc.what, got)
		}
		if pc.hold != nil {
			close(pc.hold)
		}
	}
	wantFile(t, dest, "old")
	if got := testutil.DirNames(t, ctl); got != "" {
		t.Fatalf("the cancelled fetch left %v on the controller", got)
	}
}
