package transport

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestFilesOperations runs every host file operation on the controller (Local), and, as
// integration tests, over ssh (sftp) and over ssh with become (commands through sudo), on
// names that need quoting.
func TestFilesOperations(t *testing.T) {
	variants := []struct {
		name string
		ssh  bool
		bec  bool
	}{{"local", false, false}, {"local become", false, true}, {"ssh", true, false}, {"ssh become", true, true}}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var f Files
			if v.ssh {
				f.Conn = dialNode(t, lab(t), 0)
			} else {
				if v.bec && testing.Short() {
					t.Skip("runs sudo; skipped with -short")
				}
				f.Conn = NewLocal("localhost")
			}
			f.Become = v.bec
			if v.bec && os.Geteuid() != 0 {
				t.Skip("become as root needs root here")
			}
			exerciseFiles(t, f)
		})
	}
}

func exerciseFiles(t *testing.T, f Files) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), `it's a "dir" $HOME`)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.MkdirAll(ctx, dir+"/a/b"))
	if pi, err := f.Lstat(ctx, dir+"/a/b"); err != nil || !pi.IsDir() {
		t.Fatalf("mkdir: %+v %v", pi, err)
	}
	p := dir + "/file; rm -rf x"
	must(f.WriteFileAtomic(ctx, p, strings.NewReader("hello\n"), 0o4750))
	pi, err := f.Lstat(ctx, p)
	if err != nil || pi.Type != "file" || pi.Mode != 0o4750 || pi.Size != 6 || pi.Owner != "root" {
		t.Fatalf("lstat after write: %+v %v", pi, err)
	}
	if b, err := f.ReadFile(ctx, p, 0); err != nil || string(b) != "hello\n" {
		t.Fatalf("read: %q %v", b, err)
	}
	if _, err := f.ReadFile(ctx, p, 3); !errors.Is(err, ErrTooBig) {
		t.Fatalf("read with a limit: %v", err)
	}
	if _, err := f.ReadFile(ctx, dir+"/missing", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read a missing file: %v", err)
	}
	if pi, err := f.Lstat(ctx, dir+"/missing"); err != nil || pi.Exists {
		t.Fatalf("lstat a missing path: %+v %v", pi, err)
	}
	s256, s1, m5 := sha256.Sum256([]byte("hello\n")), sha1.Sum([]byte("hello\n")), md5.Sum([]byte("hello\n"))
	for algo, want := range map[string]string{"sha256": hex.EncodeToString(s256[:]), "sha1": hex.EncodeToString(s1[:]), "md5": hex.EncodeToString(m5[:])} {
		if got, err := f.Checksum(ctx, p, algo); err != nil || got != want {
			t.Fatalf("%s: %q %v", algo, got, err)
		}
	}
	must(f.Chmod(ctx, p, 0o600))
	must(f.Chown(ctx, p, "root", "root", false, false))
	if pi, _ := f.Lstat(ctx, p); pi.Mode != 0o600 || pi.Group != "root" {
		t.Fatalf("chmod/chown: %+v", pi)
	}
	link := dir + "/a/link 'x'"
	must(f.Symlink(ctx, "../file; rm -rf x", link))
	if pi, err := f.Lstat(ctx, link); err != nil || pi.Type != "link" || pi.LinkTarget != "../file; rm -rf x" {
		t.Fatalf("symlink: %+v %v", pi, err)
	}
	must(f.Symlink(ctx, "elsewhere", link)) // replaces the link
	if pi, _ := f.Lstat(ctx, link); pi.LinkTarget != "elsewhere" {
		t.Fatalf("symlink replaced: %+v", pi)
	}
	if rp, err := f.RealPath(ctx, link); err != nil || rp != dir+"/a/elsewhere" {
		t.Fatalf("realpath of a link: %q %v", rp, err)
	}
	if pi, err := f.Stat(ctx, link); err != nil || pi.Exists {
		t.Fatalf("stat of a dangling link: %+v %v", pi, err)
	}
	hard := dir + "/hard"
	must(f.Hardlink(ctx, p, hard))
	if same, err := f.SameFile(ctx, p, hard); err != nil || !same {
		t.Fatalf("hard link: %v %v", same, err)
	}
	if same, _ := f.SameFile(ctx, p, dir+"/a"); same {
		t.Fatal("SameFile of different files")
	}
	old := time.Now().Add(-48 * time.Hour)
	must(os.Chtimes(hard, old, old))
	must(f.Touch(ctx, hard))
	if pi, _ := f.Lstat(ctx, hard); time.Since(pi.ModTime) > time.Hour {
		t.Fatalf("touch: %v", pi.ModTime)
	}
	must(f.Rename(ctx, hard, dir+"/renamed"))
	tree, err := f.Tree(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tree {
		got = append(got, strings.TrimPrefix(e.Path, dir)+" "+e.Type+" "+e.LinkTarget)
	}
	sort.Strings(got)
	want := []string{" directory ", "/a directory ", "/a/b directory ", "/a/link 'x' link elsewhere", "/file; rm -rf x file ", "/renamed file "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tmp, err := f.TempFile(ctx, dir, "x")
	if err != nil || !strings.HasPrefix(filepath.Base(tmp), ".x.omsbook-") {
		t.Fatalf("temp file: %q %v", tmp, err)
	}
	must(f.Remove(ctx, p, false))
	must(f.Remove(ctx, p, false)) // missing: no error
	must(f.Remove(ctx, dir, true))
	if pi, _ := f.Lstat(ctx, dir); pi.Exists {
		t.Fatal("remove -r left the directory")
	}
}

func TestTempBaseNamesTheRun(t *testing.T) {
	ctx := WithRun(context.Background(), RunInfo{ID: "20261201T120000Z-upgrade 422/423", Start: time.Now()})
	name := TempBase(ctx, "config.yaml")
	if !strings.HasPrefix(name, ".config.yaml.omsbook-tmp-20261201T120000Z-upgrade_422_423-") || len(name) != len(".config.yaml.omsbook-tmp-20261201T120000Z-upgrade_422_423-")+12 {
		t.Fatalf("TempBase = %q; want the base, the run id made file-name safe and 12 hex digits", name)
	}
	if run, ok := tempRun(name, "config.yaml"); !ok || run != "20261201T120000Z-upgrade_422_423" {
		t.Fatalf("tempRun(%q) = %q, %v", name, run, ok)
	}
	if other := TempBase(ctx, "config.yaml"); other == name {
		t.Fatalf("two temporary names are the same: %q", name)
	}
	if got := RunOf(context.Background()); got.ID == "" || got.ID != processRun.ID {
		t.Fatalf("RunOf without a run = %+v; want the process's", got)
	}
	long := strings.Repeat("n", 250)
	if n := TempBase(ctx, long); len(n) > 255 {
		t.Fatalf("the temporary name of a 250-byte name is %d bytes long", len(n))
	} else if _, ok := tempRun(n, long); !ok {
		t.Fatalf("the shortened temporary name %q is not recognised", n)
	}
}

// fakeInfo is a directory entry of TestTempDebris.
type fakeInfo struct {
	name string
	mode fs.FileMode
	mod  time.Time
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return f.mod }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

func TestTempDebris(t *testing.T) {
	start := time.Now().Add(-10 * time.Minute)
	ctx := WithRun(context.Background(), RunInfo{ID: "20261201T120000Z-up", Start: start})
	// The host's clock runs an hour ahead of the controller's: the run started at
	// hostNow-10m by the host's clock.
	hostNow := time.Now().Add(time.Hour)
	before, after := hostNow.Add(-11*time.Minute), hostNow.Add(-9*time.Minute)
	cases := []struct {
		name   string
		mode   fs.FileMode
		mod    time.Time
		debris bool
	}{
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789ab", 0, before, true},
		{".app.conf.omsbook-0123456789ab", 0, before, true},                          // an older version's (ssh)
		{".app.conf.omsbook-0123456789abcdef", 0, before, true},                      // an older version's (fetch)
		{".app.conf.omsbook-3405691582", 0, before, true},                            // an older version's (local)
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789ab", 0, after, false},  // written since the run started
		{".app.conf.omsbook-tmp-20261201T120000Z-up-0123456789ab", 0, before, false}, // this run's
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789ab", fs.ModeDir, before, false},
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789ab", fs.ModeSymlink, before, false},
		{".other.conf.omsbook-tmp-20261130T080000Z-up-0123456789ab", 0, before, false},
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789AB", 0, before, false},
		{".app.conf.omsbook-tmp-20261130T080000Z-up-0123456789a", 0, before, false},
		{".app.conf.omsbook-tmp--0123456789ab", 0, before, false},
		{".app.conf.omsbook-tmp-a b-0123456789ab", 0, before, false},
		{".app.conf.omsbook-tmp-x-0123456789ab.bak", 0, before, false},
		{".app.conf.omsbook-0123456789a", 0, before, false},
		{".app.conf.omsbook-copy", 0, before, false},
		{"app.conf", 0, before, false},
		{".app.conf.swp", 0, before, false},
	}
	var infos []fs.FileInfo
	var want []string
	for _, c := range cases {
		infos = append(infos, fakeInfo{c.name, c.mode, c.mod})
		if c.debris {
			want = append(want, c.name)
		}
	}
	got := TempDebris(ctx, infos, "app.conf", hostNow)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("TempDebris =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRemoveTempDebrisFS(t *testing.T) {
	ctx := WithRun(context.Background(), RunInfo{ID: "run-b", Start: time.Now()})
	old := time.Now().Add(-time.Hour)
	dir := fstest.MapFS{
		".f.omsbook-tmp-run-a-0123456789ab": {Mode: 0o600, ModTime: old},
		".f.omsbook-tmp-run-b-0123456789ab": {Mode: 0o600, ModTime: old},
		"f":                                 {Mode: 0o644, ModTime: old},
	}
	var rm []string
	got := RemoveTempDebris(ctx, dir, "f", time.Now(), func(n string) error { rm = append(rm, n); return nil })
	if len(got) != 1 || got[0] != ".f.omsbook-tmp-run-a-0123456789ab" || len(rm) != 1 {
		t.Fatalf("RemoveTempDebris removed %v (%v); want the other run's file only", got, rm)
	}
}

// TestLocalPutRemovesDebris: a local Put removes the temporary files of its destination that a
// killed older run left, and nothing else.
func TestLocalPutRemovesDebris(t *testing.T) {
	dir := t.TempDir()
	ctx := WithRun(context.Background(), RunInfo{ID: "20261201T120000Z-now", Start: time.Now()})
	plant := map[string]bool{ // name -> removed
		".app.conf.omsbook-tmp-20261130T080000Z-old-0123456789ab": true,
		".app.conf.omsbook-0123456789ab":                          true,
		".app.conf.omsbook-tmp-20261201T120000Z-now-0123456789ab": false,
		".other.omsbook-tmp-20261130T080000Z-old-0123456789ab":    false,
		"keep.txt": false,
	}
	for name := range plant {
		testutil.WriteOld(t, dir, name)
	}
	dest := filepath.Join(dir, "app.conf")
	if err := NewLocal("localhost").Put(ctx, strings.NewReader("new\n"), dest, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != "new\n" {
		t.Fatalf("dest = %q, %v", b, err)
	}
	var want []string
	for name, removed := range plant {
		if !removed {
			want = append(want, name)
		}
	}
	want = append(want, "app.conf")
	sort.Strings(want)
	if got := testutil.DirNames(t, dir); got != strings.Join(want, " ") {
		t.Fatalf("after Put the directory holds %v; want %v", got, want)
	}
}

// TestLocalPutCancelledLeavesNoTemp: a Put cancelled mid-transfer leaves the destination as
// it was and no temporary file.
func TestLocalPutCancelledLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &testutil.PausingReader{Ctx: ctx, R: strings.NewReader(strings.Repeat("x", 8<<20)), Left: 4 << 20, Reached: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- NewLocal("localhost").Put(ctx, r, dest, 0o644) }()
	<-r.Reached
	if got := testutil.DirNames(t, dir); strings.Count(got, " ") != 1 {
		t.Fatalf("mid-transfer the directory holds %v; want the destination and its temporary file", got)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled Put returned no error")
	}
	if got := testutil.DirNames(t, dir); got != "big.bin" {
		t.Fatalf("after the cancelled Put the directory holds %v", got)
	}
	if b, _ := os.ReadFile(dest); string(b) != "old" {
		t.Fatalf("dest = %q; want the old content", b)
	}
}
