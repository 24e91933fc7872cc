package builtin

import (
	"context"
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

// The file modules' tests run one real sshd on 127.0.0.121:2222 (this file's range:
// 127.0.0.121-129).
const filesSSHAddr = "127.0.0.121"

// filesSSHHost starts a real sshd node and returns a Host reaching it over ssh.
func filesSSHHost(t *testing.T) *genHost {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with real sshd; skipped with -short")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "real sshd unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: t.TempDir(), Addrs: []string{filesSSHAddr}, NamePrefix: "files"})
	if err != nil {
		t.Fatalf("start sshd on %s: %v", filesSSHAddr, err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	n := c.Nodes[0]
	conn, err := transport.Dial(ctx, transport.Spec{Name: n.Name, Address: n.Addr, Port: n.Port, User: c.User, SSHKey: c.ClientKey, KnownHosts: c.KnownHosts})
	if err != nil {
		t.Fatalf("dial %s: %v", n.Address(), err)
	}
	t.Cleanup(func() { conn.Close() })
	executortest.RequireExecutor(t, conn)
	h := newGenHost(t, map[string]any{"inventory_hostname": n.Name})
	h.Name, h.Conn = n.Name, conn
	return h
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
