package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchRefusesTraversal: a host name or src that would put the file outside dest, and a
// symlink inside dest that leads out, are refused, and nothing is written outside dest.
func TestFetchRefusesTraversal(t *testing.T) {
	tests := []struct {
		name  string
		host  string
		flat  bool
		src   func(remote string) string
		setup func(t *testing.T, dest, outside string) // before the fetch
		msg   string
	}{
		{name: "host name climbs out", host: "../../esc", msg: "directory traversal"},
		{name: "host name is ..", host: "..", msg: "directory traversal"},
		{name: "host name with a NUL", host: "a\x00b", msg: "directory traversal"},
		{name: "host directory is a symlink out", host: "oms-hz-1", setup: func(t *testing.T, dest, outside string) {
			if err := os.Symlink(outside, filepath.Join(dest, "oms-hz-1")); err != nil {
				t.Fatal(err)
			}
		}, msg: "escapes"},
		{name: "flat base name of src is ..", host: "oms-hz-1", flat: true, src: func(remote string) string { return filepath.Dir(remote) + "/x/.." }, msg: "directory traversal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			dest, outside := filepath.Join(top, "a", "b", "dest"), filepath.Join(top, "outside")
			for _, d := range []string{dest, outside} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			remote := filepath.Join(t.TempDir(), "remote.yaml")
			writeTestFile(t, remote, "a: 1\n", 0o600)
			if tc.setup != nil {
				tc.setup(t, dest, outside)
			}
			src := remote
			if tc.src != nil {
				src = tc.src(remote)
			}
			raw := map[string]any{"src": src, "dest": dest}
			if tc.flat {
				raw["dest"], raw["flat"] = dest+"/", true
			}
			h := newGenHost(t, map[string]any{"inventory_hostname": tc.host, "playbook_dir": top})
			args := coerceArgs(t, Fetch{}, raw)
			before := treeSnapshot(t, top)
			res, err := Fetch{}.Apply(context.Background(), h.Host, args)
			if err != nil || !res.Failed || !strings.Contains(res.Msg, tc.msg) {
				t.Fatalf("apply: %v %+v, want a failure saying %q", err, res, tc.msg)
			}
			if after := treeSnapshot(t, top); after != before {
				t.Fatalf("the refused fetch wrote:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

func TestContainedRel(t *testing.T) {
	tests := []struct {
		parts []string
		want  string // "" refused
	}{
		{[]string{"h", "etc/x"}, "h/etc/x"},
		{[]string{"h", "a/../b"}, "h/b"},
		{[]string{"h", "../../x"}, ""},
		{[]string{"..", "x"}, ""},
		{[]string{"h/../.."}, ""},
		{[]string{"."}, ""},
	}
	for _, tc := range tests {
		got, err := containedRel(tc.parts...)
		if (err != nil) != (tc.want == "") || got != filepath.FromSlash(tc.want) {
			t.Errorf("containedRel(%q) = %q, %v; want %q", tc.parts, got, err, tc.want)
		}
	}
}
