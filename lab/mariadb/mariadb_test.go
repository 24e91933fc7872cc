package mariadb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

func TestStateDir(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{env: "", want: DefaultStateDir},
		{env: "/tmp/lab-x", want: "/tmp/lab-x"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Setenv(StateDirEnv, tc.env)
			if got := StateDir(); got != tc.want {
				t.Errorf("StateDir() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDSN(t *testing.T) {
	s := &Server{Host: "127.0.0.1", Port: 3306, User: "omslab", Password: "pw"}
	tests := []struct {
		db   string
		want string
	}{
		{db: "", want: "omslab:pw@tcp(127.0.0.1:3306)/?timeout=5s"},
		{db: "rm_422", want: "omslab:pw@tcp(127.0.0.1:3306)/rm_422?timeout=5s"},
	}
	for _, tc := range tests {
		if got := s.DSNFor(tc.db); got != tc.want {
			t.Errorf("DSNFor(%q) = %q, want %q", tc.db, got, tc.want)
		}
	}
	if s.DSN() != s.DSNFor("") {
		t.Errorf("DSN() = %q, want DSNFor(\"\")", s.DSN())
	}
}

func TestCreateUserSQL(t *testing.T) {
	sql := createUserSQL()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		grant := fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%s' WITH GRANT OPTION;", User, host)
		if !strings.Contains(sql, grant) {
			t.Errorf("createUserSQL lacks %q", grant)
		}
	}
	if !strings.HasSuffix(sql, "FLUSH PRIVILEGES;\n") {
		t.Errorf("createUserSQL does not end with FLUSH PRIVILEGES: %q", sql)
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\n", 5, "a\nb"},
		{"", 3, ""},
	}
	for _, tc := range tests {
		if got := lastLines(tc.in, tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestLockFileSerialises(t *testing.T) {
	path := t.TempDir() + "/lock"
	ctx := context.Background()
	unlock, err := lockFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := lockFile(short, path); err == nil {
		t.Fatal("second lock was taken while the first was held")
	}
	unlock()
	again, err := lockFile(ctx, path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

func TestAlive(t *testing.T) {
	if !alive(os.Getpid()) {
		t.Error("alive(own pid) = false")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` program:", err)
	}
	if alive(cmd.Process.Pid) {
		t.Errorf("alive(%d) = true for a reaped process", cmd.Process.Pid)
	}
}

// TestEnsureIntegration starts (or reuses) the real lab server from several goroutines at
// once and checks that the lab user may create and drop a database.
func TestEnsureIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs MariaDB (run without -short)")
	}
	if os.Geteuid() != 0 && !listening(context.Background(), fmt.Sprintf("%s:%d", Host, Port)) {
		testutil.SkipOrFail(t, "no MariaDB on %s:%d and not root to start one", Host, Port)
	}
	if _, err := findProgram("/usr/sbin/mariadbd", "/usr/sbin/mysqld"); err != nil && os.Geteuid() == 0 {
		testutil.SkipOrFail(t, "MariaDB is not installed: %s", installHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	servers := make([]*Server, 3)
	errs := make([]error, 3)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = Ensure(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Ensure #%d: %v", i, err)
		}
	}
	for i, s := range servers[1:] {
		if s.Addr() != servers[0].Addr() || s.Pid != servers[0].Pid {
			t.Errorf("Ensure #%d gave %s pid %d, #0 gave %s pid %d", i+1, s.Addr(), s.Pid, servers[0].Addr(), servers[0].Pid)
		}
	}
	srv := servers[0]
	db, err := srv.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("omslab_mariadb_test_%d", os.Getpid())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE `"+name+"`.t (id int primary key)"); err != nil {
		t.Errorf("create table: %v", err)
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE `"+name+"`"); err != nil {
		t.Fatalf("drop database: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after DROP", name)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestStartStopOwnServer starts a private server (its own state root and a free port, so the
// shared lab server on 3306 is left alone), reuses it, and stops it by its recorded pid.
func TestStartStopOwnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts mariadbd (run without -short)")
	}
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "starting mariadbd needs root")
	}
	if _, err := findProgram("/usr/sbin/mariadbd", "/usr/sbin/mysqld"); err != nil {
		testutil.SkipOrFail(t, "MariaDB is not installed: %s", installHint)
	}
	// Under /var/tmp, not t.TempDir(): the server drops root and must reach its datadir.
	root, err := os.MkdirTemp("/var/tmp", "omsbook-mariadb-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		_ = StopAt(context.Background(), root)
		os.RemoveAll(root)
	})
	port := freePort(t)

	srv, err := ensureAt(ctx, root, port)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.Started || srv.Pid == 0 || srv.Port != port {
		t.Fatalf("ensureAt gave %+v, want a server this package started on port %d", srv, port)
	}
	db, err := srv.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE omslab_own_test"); err != nil {
		t.Errorf("lab user cannot create a database: %v", err)
	}
	db.Close()

	again, err := ensureAt(ctx, root, port)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pid != srv.Pid {
		t.Errorf("second ensureAt started pid %d, want the running %d reused", again.Pid, srv.Pid)
	}

	if err := StopAt(ctx, root); err != nil {
		t.Fatal(err)
	}
	if alive(srv.Pid) {
		t.Errorf("server pid %d still alive after stop", srv.Pid)
	}
	if listening(ctx, srv.Addr()) {
		t.Errorf("%s still listening after stop", srv.Addr())
	}
	if err := StopAt(ctx, root); err != nil {
		t.Errorf("stop with nothing running: %v", err)
	}

	// A restart reuses the initialised datadir: the database created above is still there.
	srv, err = ensureAt(ctx, root, port)
	if err != nil {
		t.Fatal(err)
	}
	db, err = srv.Open(ctx, "omslab_own_test")
	if err != nil {
		t.Errorf("database lost across a restart: %v", err)
	} else {
		db.Close()
	}
}
