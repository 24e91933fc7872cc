package oms

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// filesHolding lists the files under dir whose content holds secret.
func filesHolding(dir, secret string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), secret) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// watchFiles scans dir for files holding secret until stop is closed.
func watchFiles(dir, secret string, stop <-chan struct{}) (found *[]string, done *sync.WaitGroup) {
	hits := []string{}
	wg := watch(stop, func() {
		hits = append(hits, filesHolding(dir, secret)...)
		time.Sleep(time.Millisecond)
	})
	return &hits, wg
}

// TestMySQLDumpPasswordNeverAtRest: with the real MariaDB clients, a dump and a restore give
// the password to the client through a pipe: it is in no file under the backup directory, no
// argv and no environment while the client runs (a wrapper holds the client a moment so the
// scan surely sees it); a credential file an older run left is removed first.
func TestMySQLDumpPasswordNeverAtRest(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, 2*time.Minute)
	oh := newTestHost(t)
	m := MySQLDump{}
	rm := testDB(t, db, "rm")
	seedDumpDB(t, db, rm, 10)
	password := metadb["password"].(string)
	dir := filepath.Join(t.TempDir(), "backup")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".omsbook-client-0123456789abcdef.cnf")
	if err := os.WriteFile(stale, []byte("[client]\npassword=\""+password+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, c := range []string{"mysqldump", "mysql"} {
		wrapper := "#!/bin/sh\nsleep 0.5\nexec " + c + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(bin, "slow-"+c), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir,
		"mysqldump_cmd": filepath.Join(bin, "slow-mysqldump"), "mysql_cmd": filepath.Join(bin, "slow-mysql")}
	for _, state := range []string{"dumped", "restored"} {
		raw := map[string]any{"state": state, "recreate": true}
		for k, v := range base {
			raw[k] = v
		}
		if state == "dumped" {
			delete(raw, "recreate")
		}
		args := coerceArgs(t, m, raw)
		if state == "restored" {
			if _, err := db.Exec("DROP TABLE " + quoteIdent(rm) + ".heatbeat_sequence"); err != nil {
				t.Fatal(err)
			}
		}
		stop := make(chan struct{})
		saw, leaks, wg := scanArgv(password, "--defaults-extra-file=/dev/fd/3", stop)
		inFiles, fwg := watchFiles(dir, password, stop)
		r, err := m.Apply(ctx, oh.Host, args)
		close(stop)
		wg.Wait()
		fwg.Wait()
		if err != nil || !r.Changed || r.Failed {
			t.Fatalf("%s = %+v, %v", state, r, err)
		}
		if !*saw {
			t.Fatalf("%s: the scan never saw the client running with --defaults-extra-file=/dev/fd/3", state)
		}
		if len(*leaks) > 0 {
			t.Fatalf("%s: the password showed in a process: %v", state, *leaks)
		}
		// The stale file is removed before the client starts; only it may have been seen.
		for _, f := range *inFiles {
			if f != stale {
				t.Fatalf("%s: the password was in %s during the run", state, f)
			}
		}
		if left := filesHolding(dir, password); len(left) > 0 {
			t.Fatalf("%s: the password is in %v after the run", state, left)
		}
	}
}
