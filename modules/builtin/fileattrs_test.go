package builtin

import (
	"context"
	"os"
	"regexp"
	"testing"
)

func TestParseMode(t *testing.T) {
	cases := []struct {
		in    any
		cur   uint32
		dir   bool
		want  uint32
		isErr bool
	}{
		{"0644", 0o600, false, 0o644, false},
		{"4755", 0, false, 0o4755, false},
		{0o640, 0, false, 0o640, false},
		{"u+rwx,g-w,o=r", 0o666, false, 0o744, false},
		{"a=rX", 0o700, true, 0o555, false},
		{"a=rX", 0o600, false, 0o444, false},
		{"u=rwX,g=rX,o-rwx", 0o755, false, 0o750, false},
		{"go-w", 0o777, false, 0o755, false},
		{"u+s", 0o755, false, 0o4755, false},
		{"+t", 0o777, true, 0o1777, false},
		{"u=rw,go=", 0o777, false, 0o600, false},
		{"rw", 0, false, 0, true},
		{"u+q", 0, false, 0, true},
		{"999", 0, false, 0, true},
	}
	for _, c := range cases {
		got, _, err := parseMode(c.in, c.cur, c.dir)
		if (err != nil) != c.isErr || (!c.isErr && got != c.want) {
			t.Errorf("parseMode(%v, %04o, dir=%v) = %04o, %v; want %04o (error %v)", c.in, c.cur, c.dir, got, err, c.want, c.isErr)
		}
	}
}

func TestPyTemplate(t *testing.T) {
	re := regexp.MustCompile(`(?P<k>\w+)=(\w+)`)
	cases := map[string]string{
		`\2=\1`:        "v=k1",
		`\g<k>: \g<2>`: "k1: v",
		`$HOME \1`:     "$HOME k1",
		`a\\b\tc`:      "a\\b\tc",
		`\1\n`:         "k1\n",
	}
	for tmpl, want := range cases {
		m := re.FindStringSubmatchIndex("k1=v")
		if got := string(re.ExpandString(nil, pyTemplate(tmpl), "k1=v", m)); got != want {
			t.Errorf("pyTemplate(%q): %q, want %q", tmpl, got, want)
		}
	}
}

// TestLineInFileThroughSymlink: the file a link points to is edited, and the link stays.
func TestLineInFileThroughSymlink(t *testing.T) {
	h := newGenHost(t, nil)
	dir := t.TempDir()
	writeTestFile(t, dir+"/real.conf", "a\n", 0o644)
	if err := os.Symlink("real.conf", dir+"/link.conf"); err != nil {
		t.Fatal(err)
	}
	res, err := LineInFile{}.Apply(context.Background(), h.Host, coerceArgs(t, LineInFile{}, map[string]any{"path": dir + "/link.conf", "line": "b"}))
	if err != nil || res.Failed || !res.Changed {
		t.Fatalf("%+v %v", res, err)
	}
	wantFile(t, dir+"/real.conf", "a\nb\n")
	if l, err := os.Readlink(dir + "/link.conf"); err != nil || l != "real.conf" {
		t.Fatalf("link replaced: %q %v", l, err)
	}
}
