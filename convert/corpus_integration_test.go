package convert

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
)

// The corpus's nodes: 127.0.6.1-3 on port 2261 (inventory/hosts.ini); no other test uses them.
var corpusAddrs = []string{"127.0.6.1", "127.0.6.2", "127.0.6.3"}

const corpusPort = 2261

// TestCorpusRunsAsWritten converts testdata/corpus (an Ansible tree), then runs, on the same
// real OpenSSH nodes, the converted tree and the hand-written omsbook version
// (testdata/expected) with the omsbook binary, and the original with ansible-playbook (the
// oracle, when Debian's ansible-core is installed): each run works under a directory of its
// own, and the three must leave the same files with the same contents.
//
//	flock -o /tmp/omsbook-integration.lock go test -count=1 -run TestCorpusRunsAsWritten ./convert/
func TestCorpusRunsAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts real sshd nodes (run without -short)")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "sshd nodes cannot run here: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "omsbook")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/omsbook").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	converted := filepath.Join(tmp, "converted")
	rep, err := Tree(context.Background(), "testdata/corpus", converted)
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Untranslated(); n != 0 {
		t.Fatalf("%d constructs left untranslated: %v", n, rep.Problems)
	}

	env := startCorpusNodes(t, tmp)
	runs := map[string]string{}
	for _, tree := range []struct{ name, dir string }{{"converted", converted}, {"expected", "testdata/expected"}} {
		nodes := filepath.Join(tmp, "nodes-"+tree.name)
		runs[tree.name] = nodes
		env.omsbook(t, bin, tree.dir, "validate", "-e", "nodes_base="+nodes)
		out := env.omsbook(t, bin, tree.dir, "run", "-e", "nodes_base="+nodes, "--journal-dir", filepath.Join(tmp, "journal-"+tree.name))
		if !strings.Contains(out, "failed=0") || strings.Contains(out, "failed=1") {
			t.Fatalf("omsbook run of the %s tree:\n%s", tree.name, out)
		}
		// A second run finds everything as the first left it.
		again := env.omsbook(t, bin, tree.dir, "run", "-e", "nodes_base="+nodes, "--journal-dir", filepath.Join(tmp, "journal-"+tree.name))
		if changed := regexp.MustCompile(`changed=[1-9]`); changed.MatchString(again) {
			t.Errorf("a second run of the %s tree changed something:\n%s", tree.name, again)
		}
	}
	if ap, err := exec.LookPath("ansible-playbook"); err == nil {
		nodes := filepath.Join(tmp, "nodes-ansible")
		runs["ansible"] = nodes
		env.ansible(t, ap, "testdata/corpus", nodes)
	} else {
		t.Logf("no ansible-playbook (%v): the oracle run is left out", err)
	}

	want := readTree(t, runs["expected"])
	if len(want) == 0 {
		t.Fatal("the hand-written version left no files")
	}
	for _, name := range []string{"converted", "ansible"} {
		if runs[name] == "" {
			continue
		}
		got := readTree(t, runs[name])
		for _, d := range diffFiles(want, got) {
			t.Errorf("%s run vs the hand-written one: %s", name, d)
		}
	}
	for _, f := range []string{"web2/CANARY", "web1/etc/shop/shop.conf", "db1/etc/motd", "web1/etc/users", "db1/run/base.events", "web1/run/shop.events"} {
		if _, ok := want[f]; !ok {
			t.Errorf("the runs left no %s", f)
		}
	}
	if want["web1/run/shop.events"] != "reload\n" {
		t.Errorf("web1's shop handler ran %q, want once", want["web1/run/shop.events"])
	}
}

type corpusEnv struct {
	home, access, knownHosts, lockDir string
	cluster                           *sshd.Cluster
}

func startCorpusNodes(t *testing.T, tmp string) *corpusEnv {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: filepath.Join(tmp, "sshd"), Addrs: corpusAddrs, Port: corpusPort, User: me.Username, NamePrefix: "corpus"})
	if err != nil {
		t.Fatalf("start sshd nodes on %v port %d: %v", corpusAddrs, corpusPort, err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	e := &corpusEnv{home: filepath.Join(tmp, "home"), access: filepath.Join(tmp, "access.ini"), knownHosts: c.KnownHosts, lockDir: filepath.Join(tmp, "locks"), cluster: c}
	known, err := os.ReadFile(c.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]string{
		filepath.Join(e.home, ".ssh", "known_hosts"): string(known),
		e.access: fmt.Sprintf("# how the test logs in to its sshd nodes\n[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", c.User, c.ClientKey),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// omsbook runs the binary on the tree's site.yml with its inventory and the test's access.
func (e *corpusEnv) omsbook(t *testing.T, bin, dir, cmd string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{cmd, "site.yml", "-i", "inventory/hosts.ini", "-i", e.access}, args...)
	c := exec.CommandContext(ctx, bin, full...)
	c.Dir = dir
	c.Env = append(os.Environ(), "HOME="+e.home, "OMSBOOK_LOCK_DIR="+e.lockDir, "NO_COLOR=1", "OMSBOOK_CONFIG=/dev/null")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("omsbook %s in %s: %v\n%s", strings.Join(full, " "), dir, err, out)
	}
	return string(out)
}

// ansible runs the original tree with ansible-playbook, everything it keeps (control sockets,
// remote temporary files) under the test's directory.
func (e *corpusEnv) ansible(t *testing.T, ap, dir, nodes string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, ap, "site.yml", "-i", "inventory/hosts.ini", "-i", e.access, "-e", "nodes_base="+nodes)
	c.Dir = dir
	work := filepath.Join(filepath.Dir(nodes), "ansible-work")
	c.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_HOME="+filepath.Join(work, "home"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(work, "local"), "ANSIBLE_REMOTE_TMP="+filepath.Join(work, "remote"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+filepath.Join(work, "cp"), "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_SSH_ARGS=-o ControlMaster=auto -o ControlPersist=30s -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+e.knownHosts,
		"ANSIBLE_RETRY_FILES_ENABLED=false")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook in %s: %v\n%s", dir, err, out)
	}
}

// readTree reads every file under root, its contents with root itself written as NODES (each
// run has a root of its own).
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = strings.ReplaceAll(string(data), root, "NODES")
		out[filepath.ToSlash(rel)+" (mode)"] = info.Mode().Perm().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffFiles(want, got map[string]string) []string {
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out []string
	for _, n := range sorted {
		w, inW := want[n]
		g, inG := got[n]
		switch {
		case !inW:
			out = append(out, fmt.Sprintf("%s: not left by the hand-written run", n))
		case !inG:
			out = append(out, fmt.Sprintf("%s: missing", n))
		case w != g:
			out = append(out, fmt.Sprintf("%s: %q, want %q", n, g, w))
		}
	}
	return out
}
