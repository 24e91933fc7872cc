// Package e2e proves the OMS playbooks end to end: each test stands up its own lab (real sshd
// nodes, the real MariaDB MetaDB, OMS simulator containers in the machine's Docker Engine),
// runs the omsbook binary on a shipped playbook the way an operator would, and checks the
// deployment afterwards.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab"
)

// repoRoot is the module root: the playbooks and inventories are relative to it.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

// omsbookBin is the omsbook binary built once for the whole package.
var omsbookBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "omsbook-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	omsbookBin = filepath.Join(dir, "omsbook")
	build := exec.Command("go", "build", "-o", omsbookBin, "./cmd/omsbook")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build omsbook: %v\n%s", err, out)
		os.Exit(1)
	}
	if os.Getenv("OMSBOOK_EXECUTOR_DIR") == "" {
		// Where the hosts (loopback sshd) cache the executor when OMSBOOK_EXECUTOR=on: not
		// the login user's own ~/.cache.
		os.Setenv("OMSBOOK_EXECUTOR_DIR", filepath.Join(dir, "executor-cache"))
	}
	code := m.Run()
	if os.Getenv("OMSBOOK_EXECUTOR") == "on" {
		// What shows that the hosts ran commands through the executor: its cached binary.
		cached, _ := filepath.Glob(filepath.Join(os.Getenv("OMSBOOK_EXECUTOR_DIR"), "executor-*"))
		fmt.Fprintf(os.Stderr, "e2e: OMSBOOK_EXECUTOR=on: %d executor binaries cached on the hosts (%s)\n", len(cached), os.Getenv("OMSBOOK_EXECUTOR_DIR"))
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// upLab brings a lab instance up for one test and tears it down when the test ends.
func upLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: brings up a lab of sshd nodes, MariaDB and Docker containers (run without -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := lab.Prerequisites(ctx, repoRoot); err != nil {
		testutil.SkipOrFail(t, "lab prerequisites missing: %v", err)
	}
	if cfg.ModuleRoot == "" {
		cfg.ModuleRoot = repoRoot
	}
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down %s: %v", l.Name, err)
		}
	})
	return l
}

// run is one omsbook invocation and what it left.
type run struct {
	code   int
	output string
}

// omsbook runs the omsbook binary from the repository root with the given arguments. The
// journal goes to a directory of the test's own; the run's output is logged on failure.
func omsbook(t *testing.T, l *lab.Lab, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	journal := filepath.Join(l.Dir, "journal")
	full := append([]string{}, args...)
	full = append(full, "-i", l.InventoryPath, "--journal-dir", journal)
	cmd := exec.CommandContext(ctx, omsbookBin, full...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := exitCode(t, err, args)
	t.Logf("omsbook %s -> exit %d\n%s", strings.Join(args, " "), code, out.String())
	return run{code: code, output: out.String()}
}

// omsbookAt starts omsbook and, once its output holds marker, waits delay and calls act with
// the running command (to kill it, or to break something under it). It reports whether act
// was called; a run that ends before the marker is returned as it ended.
func omsbookAt(t *testing.T, l *lab.Lab, marker string, delay time.Duration, act func(*exec.Cmd), args ...string) (run, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	full := append(append([]string{}, args...), "-i", l.InventoryPath, "--journal-dir", filepath.Join(l.Dir, "journal"))
	cmd := exec.CommandContext(ctx, omsbookBin, full...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	seen, scanned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		found := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !found && strings.Contains(sc.Text(), marker) {
				found = true
				close(seen)
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); pw.Close() }()
	acted := false
	var err error
	select {
	case <-seen:
		time.Sleep(delay)
		act(cmd)
		acted = true
		err = <-waited
	case err = <-waited:
	}
	<-scanned
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	}
	t.Logf("omsbook %s (at %q: %t) -> exit %d\n%s", strings.Join(args, " "), marker, acted, code, out.String())
	return run{code: code, output: out.String()}, acted
}

// exitCode is the exit status of an omsbook run that ended with err; a run that could not
// start or be waited for fails the test.
func exitCode(t *testing.T, err error, args []string) int {
	t.Helper()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	case err != nil:
		t.Fatalf("omsbook %s: %v", strings.Join(args, " "), err)
	}
	return 0
}

// sigkill kills the controller at once: no cleanup, no end of journal, the lock left to the kernel.
func sigkill(cmd *exec.Cmd) { _ = cmd.Process.Signal(syscall.SIGKILL) }

// journals returns the text of every journal the test's runs wrote.
func journals(t *testing.T, l *lab.Lab) string {
	t.Helper()
	var all strings.Builder
	_ = filepath.WalkDir(filepath.Join(l.Dir, "journal"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			all.Write(b)
		}
		return nil
	})
	return all.String()
}

// liveTables are written every second by running OMS containers (heartbeats, host status),
// so they cannot be compared across time while the deployment runs.
var liveTables = []string{".heart_beat", ".heatbeat_sequence", ".host"}

func isLive(table string) bool {
	for _, suffix := range liveTables {
		if strings.HasSuffix(table, suffix) {
			return true
		}
	}
	return false
}

// snapshot is what --check must leave exactly as it was.
type snapshot struct {
	tables     map[string]int64  // CHECKSUM TABLE of every table that no running node writes
	containers map[string]string // docker inspect essentials of every lab container
	files      map[string]string // path -> size and sha256, under the lab's backups and config files
}

func takeSnapshot(t *testing.T, l *lab.Lab) snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sums, err := l.TableChecksums(ctx)
	if err != nil {
		t.Fatalf("table checksums: %v", err)
	}
	s := snapshot{tables: map[string]int64{}, containers: map[string]string{}, files: map[string]string{}}
	for k, v := range sums {
		if !isLive(k) {
			s.tables[k] = v
		}
	}
	for _, n := range l.Nodes {
		// With the containers that another tool named (the V4.1.0 deploy script), found by mount.
		for _, name := range append([]string{n.OldContainer, n.NewContainer}, mountingContainers(ctx, filepath.Join(n.MountDir, "logs"))...) {
			s.containers[name] = inspect(ctx, name)
		}
		for _, dir := range []string{filepath.Join(n.MountDir, "store"), n.ConfigFile} {
			hashTree(t, dir, s.files)
		}
	}
	hashTree(t, l.BackupRoot, s.files)
	return s
}

// inspect gives the facts of a container that only a change would alter.
func inspect(ctx context.Context, name string) string {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format",
		"{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.Config.Image}} {{json .HostConfig.Binds}} {{json .Config.Env}}", name).CombinedOutput()
	if err != nil {
		return "absent"
	}
	return strings.TrimSpace(string(out))
}

func hashTree(t *testing.T, root string, into map[string]string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		into[path] = fmt.Sprintf("%d %s", len(b), hex.EncodeToString(sum[:]))
		return nil
	})
}

// diffSnapshots lists what changed between two snapshots.
func diffSnapshots(a, b snapshot) []string {
	var out []string
	cmp := func(kind string, x, y map[string]string) {
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for k := range keys {
			if x[k] != y[k] {
				out = append(out, fmt.Sprintf("%s %s: %q -> %q", kind, k, x[k], y[k]))
			}
		}
	}
	ta, tb := map[string]string{}, map[string]string{}
	for k, v := range a.tables {
		ta[k] = fmt.Sprint(v)
	}
	for k, v := range b.tables {
		tb[k] = fmt.Sprint(v)
	}
	cmp("table", ta, tb)
	cmp("container", a.containers, b.containers)
	cmp("file", a.files, b.files)
	sort.Strings(out)
	return out
}

// watchArgv samples every process's command line on the machine while a run goes on, and
// reports each one that contains the secret.
type argvWatch struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	leaks   []string
	samples int
}

func watchArgv(secret string) *argvWatch {
	w := &argvWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				b, err := os.ReadFile(p)
				if err != nil || len(b) == 0 {
					continue
				}
				if bytes.Contains(b, []byte(secret)) {
					w.mu.Lock()
					w.leaks = append(w.leaks, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
					w.mu.Unlock()
				}
			}
			w.mu.Lock()
			w.samples++
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *argvWatch) finish() (leaks []string, samples int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leaks, w.samples
}

// waitHealthy waits until every node answers healthy on the given version.
func waitHealthy(t *testing.T, l *lab.Lab, version string, within time.Duration) {
	t.Helper()
	if within == 0 {
		within = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for _, n := range l.Nodes {
		for {
			h, err := l.Health(ctx, n.Name)
			if err == nil && h.Healthy && h.Version == "" {
				// The strict profile serves only data.healthy: the version is the one the node
				// records in the cm database's host table.
				h.Version = hostVersion(ctx, l, n.IP)
			}
			if err == nil && h.Healthy && h.Version == version {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("node %s is not healthy on %s: %+v %v", n.Name, version, h, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// initOncePerRegion wants docker_init.sh to have succeeded exactly once in every region.
func initOncePerRegion(t *testing.T, l *lab.Lab) {
	t.Helper()
	inits := queryInts(t, l, l.DB.CM, "SELECT region, COUNT(*) FROM init_record WHERE result = 'SUCCESS' GROUP BY region")
	for _, region := range l.Regions {
		if inits[region.Name] != 1 {
			t.Errorf("docker_init.sh succeeded %d times in region %s, want exactly once", inits[region.Name], region.Name)
		}
	}
}

// hostVersion is the version a node last recorded in <cm>.host ("" when unknown).
func hostVersion(ctx context.Context, l *lab.Lab, ip string) string {
	db, err := l.OpenDB(ctx, l.DB.CM)
	if err != nil {
		return ""
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT version FROM host WHERE ip = ? AND host_status = 'ONLINE'", ip).Scan(&v); err != nil {
		return ""
	}
	return v
}

// queryInts runs a query whose rows are (key string, value int).
func queryInts(t *testing.T, l *lab.Lab, database, query string, args ...any) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := l.OpenDB(ctx, database)
	if err != nil {
		t.Fatalf("open %s: %v", database, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var v int
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out[k] = v
	}
	return out
}

// queryString runs a query for one string.
func queryString(t *testing.T, l *lab.Lab, database, query string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := l.OpenDB(ctx, database)
	if err != nil {
		t.Fatalf("open %s: %v", database, err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRowContext(ctx, query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

// haConfig reads ha.config as a map.
func haConfig(t *testing.T, l *lab.Lab) map[string]any {
	t.Helper()
	raw := queryString(t, l, l.DB.RM, "SELECT cfg_value FROM oms_normal_config WHERE cfg_name = 'ha.config'")
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("ha.config is not JSON: %v: %s", err, raw)
	}
	return m
}

// setHAConfig merges keys into ha.config, as an operator does in the console.
func setHAConfig(t *testing.T, l *lab.Lab, keys map[string]any) {
	t.Helper()
	ha := haConfig(t, l)
	for k, v := range keys {
		ha[k] = v
	}
	raw, err := json.Marshal(ha)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := l.OpenDB(ctx, l.DB.RM)
	if err != nil {
		t.Fatalf("open %s: %v", l.DB.RM, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "UPDATE oms_normal_config SET cfg_value = ?, gmt_modified = NOW() WHERE cfg_name = 'ha.config'", string(raw)); err != nil {
		t.Fatalf("set ha.config: %v", err)
	}
}

func mustContain(t *testing.T, r run, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.output, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}
