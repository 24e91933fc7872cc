package builtin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/modules"
)

// gitT runs the real git on the controller for the test's repositories.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestGitOverSSH clones and updates checkouts on a real sshd node from a bare repository the
// test makes with the real git: branch, tag (shallow), commit; the cycle with the checkout
// moved by hand; local modifications; update=false.
func TestGitOverSSH(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testutil.SkipOrFail(t, "git is not installed (lab/deps.sh installs it): %v", err)
	}
	h := filesSSHHost(t)
	ctx := context.Background()
	base := t.TempDir()
	bare, work := filepath.Join(base, "repo.git"), filepath.Join(base, "work")
	gitT(t, base, "init", "-q", "--bare", "-b", "main", bare)
	gitT(t, base, "clone", "-q", bare, work)
	commit := func(file, content, msg string) string {
		writeTestFile(t, filepath.Join(work, file), content, 0o644)
		gitT(t, work, "add", file)
		gitT(t, work, "commit", "-q", "-m", msg)
		gitT(t, work, "push", "-q", "origin", "HEAD:main")
		return gitT(t, work, "rev-parse", "HEAD")
	}
	c1 := commit("app.conf", "v1\n", "one")
	gitT(t, work, "tag", "-a", "-m", "release", "v1.0")
	gitT(t, work, "push", "-q", "origin", "v1.0")
	c2 := commit("app.conf", "v2\n", "two")

	run := func(t *testing.T, check bool, args modules.Args) modules.Result {
		t.Helper()
		h.Diff = check
		defer func() { h.Diff = false }()
		do := Git{}.Apply
		if check {
			do = Git{}.Check
		}
		r, err := do(ctx, h.Host, args)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	head := func(t *testing.T, dest string) string { return gitT(t, dest, "rev-parse", "HEAD") }
	cases := []struct {
		name    string
		version string
		depth   int
		want    string
	}{
		{"branch", "main", 0, c2},
		{"HEAD", "HEAD", 0, c2},
		{"annotated tag, shallow", "v1.0", 1, c1},
		{"commit", c1, 0, c1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "checkout")
			raw := map[string]any{"repo": bare, "dest": dest, "version": c.version}
			if c.depth > 0 {
				// git ignores depth for a plain path: file:// makes the clone really shallow.
				raw["depth"], raw["repo"] = c.depth, "file://"+bare
			}
			args := coerceArgs(t, Git{}, raw)
			if r := run(t, true, args); r.Failed || !r.Changed || (r.Data["after"] != c.want && c.name != "commit") {
				t.Fatalf("check before the clone: %+v", r)
			}
			r := run(t, false, args)
			if r.Failed || !r.Changed || r.Data["before"] != nil || r.Data["after"] != c.want {
				t.Fatalf("clone: %+v", r)
			}
			if c.depth > 0 {
				if n := gitT(t, dest, "rev-list", "--count", "HEAD"); n != "1" {
					t.Fatalf("depth %d clone has %s commits", c.depth, n)
				}
			}
			if r := run(t, false, args); r.Failed || r.Changed || r.Data["before"] != c.want || r.Data["after"] != c.want {
				t.Fatalf("second: %+v", r)
			}
			// Drift: the checkout moved by hand to another commit.
			other := c1
			if c.want == c1 {
				other = c2
				gitT(t, dest, "fetch", "-q", "origin", "main")
			}
			gitT(t, dest, "checkout", "-q", "--detach", other)
			before := treeSnapshot(t, dest)
			r = run(t, true, args)
			if r.Failed || !r.Changed || r.Data["before"] != other || r.Diff == nil || !strings.Contains(r.Diff.After, c.want) {
				t.Fatalf("check after drift: %+v", r)
			}
			if treeSnapshot(t, dest) != before {
				t.Fatal("check changed the checkout")
			}
			if r := run(t, false, args); r.Failed || !r.Changed || head(t, dest) != c.want {
				t.Fatalf("after drift: %+v", r)
			}
			if r := run(t, false, args); r.Failed || r.Changed {
				t.Fatalf("again: %+v", r)
			}
		})
	}
	t.Run("local modifications, force, update=false, a new commit", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "checkout")
		args := coerceArgs(t, Git{}, map[string]any{"repo": bare, "dest": dest, "version": "main"})
		if r := run(t, false, args); r.Failed || !r.Changed {
			t.Fatalf("clone: %+v", r)
		}
		writeTestFile(t, filepath.Join(dest, "app.conf"), "edited\n", 0o644)
		if r := run(t, false, args); !r.Failed || !strings.Contains(r.Msg, "Local modifications exist") {
			t.Fatalf("local modifications: %+v", r)
		}
		forced := coerceArgs(t, Git{}, map[string]any{"repo": bare, "dest": dest, "version": "main", "force": true})
		if r := run(t, false, forced); r.Failed || !r.Changed {
			t.Fatalf("force: %+v", r)
		}
		wantFile(t, filepath.Join(dest, "app.conf"), "v2\n")
		c3 := commit("app.conf", "v3\n", "three")
		noUpdate := coerceArgs(t, Git{}, map[string]any{"repo": bare, "dest": dest, "update": false})
		if r := run(t, false, noUpdate); r.Failed || r.Changed || r.Data["after"] != c2 {
			t.Fatalf("update=false: %+v", r)
		}
		if r := run(t, false, args); r.Failed || !r.Changed || r.Data["before"] != c2 || r.Data["after"] != c3 {
			t.Fatalf("new commit: %+v", r)
		}
	})
}
