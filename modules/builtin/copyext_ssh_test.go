package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyCycleCases are the cycle cases of copy's and template's owner, group, backup,
// validate, directory copies and remote_src (run by TestFileModulesOverSSH).
func copyCycleCases(ctl string) []cycleCase {
	return []cycleCase{
		{name: "copy content with owner, group, backup, validate", module: Copy{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/app.conf", "old\n", 0o640) },
			args: func(d string) map[string]any {
				return map[string]any{"content": "port=1\n", "dest": d + "/app.conf", "owner": "root", "group": "root", "backup": true, "validate": "grep -q port= %s"}
			},
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/app.conf", "port=2\n", 0o640) },
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/app.conf", "port=1\n")
				wantMode(t, d+"/app.conf", 0o640)
				if b, _ := filepath.Glob(d + "/app.conf.*~"); len(b) == 0 {
					t.Fatal("no backup")
				}
			}},
		{name: "copy a directory's content (src: dir/)", module: Copy{},
			args: func(d string) map[string]any {
				return map[string]any{"src": ctl + "/tree/", "dest": d, "directory_mode": "0750"}
			},
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/sub/b.txt", "changed\n", 0o644) },
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/a.txt", "a\n")
				wantFile(t, d+"/sub/b.txt", "b\n")
				wantMode(t, d+"/sub", 0o750)
			}},
		{name: "copy a directory itself (src: dir)", module: Copy{},
			args:  func(d string) map[string]any { return map[string]any{"src": ctl + "/tree", "dest": d} },
			drift: func(t *testing.T, d string) { _ = os.Remove(d + "/tree/a.txt") },
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/tree/a.txt", "a\n")
				wantFile(t, d+"/tree/sub/b.txt", "b\n")
			}},
		{name: "copy remote_src", module: Copy{},
			setup: func(t *testing.T, d string) { writeTestFile(t, d+"/orig.txt", "on the host\n", 0o600) },
			args: func(d string) map[string]any {
				return map[string]any{"src": d + "/orig.txt", "dest": d + "/copy.txt", "remote_src": true, "mode": "0644"}
			},
			drift: func(t *testing.T, d string) { writeTestFile(t, d+"/copy.txt", "drifted\n", 0o644) },
			verify: func(t *testing.T, d string) {
				wantFile(t, d+"/copy.txt", "on the host\n")
				wantMode(t, d+"/copy.txt", 0o644)
			}},
		{name: "template with group and backup", module: Template{},
			args: func(d string) map[string]any {
				return map[string]any{"content": "host={{ .inventory_hostname }}\n", "dest": d + "/t.conf", "group": "root", "backup": true}
			},
			drift:  func(t *testing.T, d string) { writeTestFile(t, d+"/t.conf", "host=x\n", 0o644) },
			verify: func(t *testing.T, d string) { wantFile(t, d+"/t.conf", "host={{ .inventory_hostname }}\n") }},
	}
}

func makeCopyTree(t *testing.T) string {
	ctl := t.TempDir()
	writeTestFile(t, ctl+"/tree/a.txt", "a\n", 0o644)
	writeTestFile(t, ctl+"/tree/sub/b.txt", "b\n", 0o644)
	return ctl
}

// TestCopyValidateRefusesOverSSH: a validate command that fails leaves dest as it was.
func TestCopyValidateRefusesOverSSH(t *testing.T) {
	h := filesSSHHost(t)
	dir := t.TempDir()
	writeTestFile(t, dir+"/sudoers", "good\n", 0o440)
	res, err := Copy{}.Apply(context.Background(), h.Host, coerceArgs(t, Copy{}, map[string]any{"content": "bad\n", "dest": dir + "/sudoers", "validate": "grep -q good %s"}))
	if err != nil || !res.Failed || !strings.Contains(res.Msg, "failed to validate") {
		t.Fatalf("%+v %v", res, err)
	}
	wantFile(t, dir+"/sudoers", "good\n")
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}
