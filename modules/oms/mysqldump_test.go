package oms

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/modules"
)

func TestCheckDumpDBName(t *testing.T) {
	for name, ok := range map[string]bool{"rm_422": true, "cm_hb_422_1": true, "": false, "-x": false, "a/b": false, "..": false} {
		if err := checkDumpDBName(name); (err == nil) != ok {
			t.Errorf("checkDumpDBName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

func TestOMSHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 2048: "2.0 KiB", 3 << 20: "3.0 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// dirTree lists a directory tree as "path size" lines, for before/after comparisons.
func dirTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			lines = append(lines, p+" "+info.Mode().String()+" "+func() string {
				if info.IsDir() {
					return "dir"
				}
				return info.ModTime().String()
			}())
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// seedDumpDB fills a database with enough rows that a dump takes a noticeable moment.
func seedDumpDB(t *testing.T, db *sql.DB, name string, doublings int) {
	t.Helper()
	q := quoteIdent(name)
	for _, s := range []string{
		"CREATE TABLE " + q + ".heatbeat_sequence(id bigint auto_increment primary key, host_ip varchar(64), gmt_created datetime(3))",
		"CREATE TABLE " + q + ".host(ip varchar(64) primary key, host_status varchar(16), note text)",
		"INSERT INTO " + q + ".host VALUES ('127.0.0.11','ONLINE','it''s; -- not a comment'), ('127.0.0.12','OFFLINE',NULL)",
		"INSERT INTO " + q + ".heatbeat_sequence(host_ip, gmt_created) VALUES ('127.0.0.11', NOW(3)), ('127.0.0.12', NOW(3))",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < doublings; i++ {
		if _, err := db.Exec("INSERT INTO " + q + ".heatbeat_sequence(host_ip, gmt_created) SELECT host_ip, gmt_created FROM " + q + ".heatbeat_sequence"); err != nil {
			t.Fatal(err)
		}
	}
	// Refresh information_schema's size statistics, which the size estimate reads.
	if _, err := db.Exec("ANALYZE TABLE " + q + ".heatbeat_sequence, " + q + ".host"); err != nil {
		t.Fatal(err)
	}
}

func fileSHA(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// watch calls scan over and over until stop is closed; done is waited for after closing it.
func watch(stop <-chan struct{}, scan func()) (done *sync.WaitGroup) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			scan()
		}
	}()
	return &wg
}

// scanArgv watches every process's argv and environment until stop is closed; it reports
// whether it saw a process whose argv contains marker, and every process that showed secret.
func scanArgv(secret, marker string, stop <-chan struct{}) (sawMarker *bool, leaks *[]string, done *sync.WaitGroup) {
	return scanProcs(secret, marker, true, stop)
}

// scanProcs is scanArgv, looking at the environments too only when environ is true.
func scanProcs(secret, marker string, environ bool, stop <-chan struct{}) (sawMarker *bool, leaks *[]string, done *sync.WaitGroup) {
	files := []string{"cmdline"}
	if environ {
		files = append(files, "environ")
	}
	saw, found := false, []string{}
	wg := watch(stop, func() {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			for _, f := range files {
				data, err := os.ReadFile(p + "/" + f)
				if err != nil {
					continue
				}
				if strings.Contains(string(data), secret) {
					found = append(found, p+"/"+f+": "+strings.ReplaceAll(string(data), "\x00", " "))
				}
				if f == "cmdline" && strings.Contains(string(data), marker) {
					saw = true
				}
			}
		}
	})
	return &saw, &found, wg
}

func TestMySQLDumpRoundTrip(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, 5*time.Minute)
	oh := newTestHost(t)
	m := MySQLDump{}
	rm := testDB(t, db, "rm")
	cm := testDB(t, db, "cm")
	seedDumpDB(t, db, rm, 15)
	seedDumpDB(t, db, cm, 2)
	dir := filepath.Join(t.TempDir(), "backup")
	args := func(extra map[string]any) modules.Args {
		raw := map[string]any{"metadb": metadb, "databases": []any{rm, cm}, "dest_dir": dir}
		for k, v := range extra {
			raw[k] = v
		}
		return coerceArgs(t, m, raw)
	}
	dump := args(nil)

	// Check: probes only.
	treeBefore := dirTree(t, filepath.Dir(dir))
	r, err := m.Check(ctx, oh.Host, dump)
	if err != nil || !r.Changed || r.Failed || !strings.Contains(r.Msg, "would dump") || r.Data["estimated_bytes"].(int) <= 0 || r.Data["free_bytes"].(int) <= 0 {
		t.Fatalf("check = %+v, %v", r, err)
	}
	if got := dirTree(t, filepath.Dir(dir)); got != treeBefore {
		t.Fatalf("check changed the file tree:\n%s\n->\n%s", treeBefore, got)
	}

	// Dump while watching every process's argv and environment for the password.
	password := metadb["password"].(string)
	stop := make(chan struct{})
	saw, leaks, wg := scanArgv(password, "--defaults-extra-file", stop)
	r, err = m.Apply(ctx, oh.Host, dump)
	close(stop)
	wg.Wait()
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("dump = %+v, %v", r, err)
	}
	if len(*leaks) > 0 {
		t.Fatalf("the password showed in a process: %v", *leaks)
	}
	if *saw {
		t.Logf("the scan saw the client running with --defaults-extra-file and no password in any argv or environment")
	} else {
		t.Logf("the scan never caught the client running (dump too quick); the argv check is inconclusive")
	}
	var manifest dumpManifest
	data, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil || json.Unmarshal(data, &manifest) != nil || len(manifest.Dumps) != 2 {
		t.Fatalf("manifest: %v %s", err, data)
	}
	for _, e := range manifest.Dumps {
		file := filepath.Join(dir, e.File)
		if e.SHA256 != fileSHA(t, file) || e.Size <= 0 || e.ServerVersion == "" || !strings.Contains(e.ClientVersion, "mysqldump") || !strings.Contains(strings.Join(e.Options, " "), "--skip-triggers") {
			t.Fatalf("manifest entry %+v does not match %s", e, file)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cnf") || strings.HasSuffix(e.Name(), ".partial") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
	r, err = m.Apply(ctx, oh.Host, dump)
	if err != nil || r.Changed || r.Failed || r.Data["dumps"].([]any)[0].(map[string]any)["reused"] != true {
		t.Fatalf("second dump = %+v, %v; want ok, reused", r, err)
	}

	// Restore: damage the data, check (nothing changes), restore with recreate, compare checksums.
	want := tableChecksums(t, db, rm)
	if _, err := db.Exec("DELETE FROM " + quoteIdent(rm) + ".heatbeat_sequence WHERE id > 5"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE " + quoteIdent(rm) + ".stray(a int)"); err != nil {
		t.Fatal(err)
	}
	damaged := tableChecksums(t, db, rm)
	restore := args(map[string]any{"state": "restored", "recreate": true})
	if r, err = m.Check(ctx, oh.Host, restore); err != nil || !r.Changed || r.Failed {
		t.Fatalf("check restore = %+v, %v", r, err)
	}
	if got := tableChecksums(t, db, rm); got != damaged {
		t.Fatalf("check restore changed the database")
	}
	if r, err = m.Apply(ctx, oh.Host, restore); err != nil || !r.Changed || r.Failed {
		t.Fatalf("restore = %+v, %v", r, err)
	}
	if got := tableChecksums(t, db, rm); got != want {
		t.Fatalf("after restore: %s\nwant %s", got, want)
	}
	if r, err = m.Apply(ctx, oh.Host, restore); err != nil || r.Changed || r.Failed {
		t.Fatalf("second restore = %+v, %v; want ok", r, err)
	}

	// A damaged dump is refused before anything is touched.
	f, err := os.OpenFile(filepath.Join(dir, rm+".sql"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("-- tampered\n")
	f.Close()
	if _, err := db.Exec("DELETE FROM " + quoteIdent(cm) + ".host"); err != nil {
		t.Fatal(err)
	}
	cmBefore := tableChecksums(t, db, cm)
	r, _ = m.Apply(ctx, oh.Host, restore)
	if !r.Failed || !strings.Contains(r.Msg, "refusing to restore: ") || !strings.Contains(r.Msg, "the manifest says") {
		t.Fatalf("tampered dump = %+v", r)
	}
	if got := tableChecksums(t, db, cm); got != cmBefore {
		t.Fatalf("a refused restore touched %s", cm)
	}
	if r, _ = m.Check(ctx, oh.Host, restore); !r.Failed || !strings.Contains(r.Msg, "refusing to restore") {
		t.Fatalf("check of a tampered dump = %+v", r)
	}
	// force dumps again over the tampered file.
	if r, err = m.Apply(ctx, oh.Host, args(map[string]any{"force": true})); err != nil || !r.Changed || r.Failed {
		t.Fatalf("forced dump = %+v, %v", r, err)
	}
}

func TestMySQLDumpFailures(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, 2*time.Minute)
	oh := newTestHost(t)
	m := MySQLDump{}
	rm := testDB(t, db, "rm")
	seedDumpDB(t, db, rm, 14)
	dir := t.TempDir()

	r, _ := m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "databases": []any{rm, "t_mod_no_such_db"}, "dest_dir": dir}))
	if !r.Failed || !strings.Contains(r.Msg, "database(s) t_mod_no_such_db do not exist") {
		t.Fatalf("missing database = %+v", r)
	}
	r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir, "state": "restored"}))
	if !r.Failed || !strings.Contains(r.Msg, "refusing to restore: no manifest") {
		t.Fatalf("restore without manifest = %+v", r)
	}
	r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir, "extra_options": []any{"--no-such-option"}}))
	if !r.Failed || !strings.Contains(r.Msg, "mysqldump "+rm) || !strings.Contains(r.Msg, "no-such-option") {
		t.Fatalf("failing client = %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed dump left files: %v", entries)
	}

	// Not enough space: a 64 KiB tmpfs.
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small).CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, "cannot mount a small tmpfs to test the space check (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
	args := coerceArgs(t, m, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": small + "/backup"})
	for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
		r, _ = run(ctx, oh.Host, args)
		if !r.Failed || !strings.Contains(r.Msg, "has only") || !strings.Contains(r.Msg, "free") {
			t.Fatalf("no space = %+v", r)
		}
	}
}

func TestMySQLDumpCancelCleansUp(t *testing.T) {
	db, metadb := openDB(t)
	oh := newTestHost(t)
	m := MySQLDump{}
	rm := testDB(t, db, "rm")
	seedDumpDB(t, db, rm, 17)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel as soon as the client runs with our option file.
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), "--defaults-extra-file=/dev/fd/3") && strings.Contains(string(data), "mysqldump") && strings.Contains(string(data), rm) {
					cancel()
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	start := time.Now()
	r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir}))
	if err == nil {
		t.Skipf("the dump finished (%+v) before it could be cancelled", r)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("cancellation took %s", time.Since(start))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind after cancellation: %s", e.Name())
	}
	if left := filesHolding(dir, metadb["password"].(string)); len(left) > 0 {
		t.Errorf("the password is in %v after the cancelled dump", left)
	}
}
