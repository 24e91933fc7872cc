package transport

import (
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
	"time"
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
