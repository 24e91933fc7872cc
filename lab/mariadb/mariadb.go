// Package mariadb gives the lab its MetaDB: a real MariaDB server on 127.0.0.1:3306 with a lab
// user that has every privilege (CREATE and DROP DATABASE included) over TCP with a password.
//
// Ensure reuses a server that already answers there with the lab credentials; otherwise it
// starts Debian's mariadbd with its own data directory, socket and pid file under the lab state
// directory, and creates the lab user. Concurrent callers, in this process or in others (tests
// of several packages run at once under `go test ./...`), are serialised with a flock, so only
// one of them ever starts the server. Stop stops the server this package started, found by the
// pid file it recorded, and nothing else.
//
// The lab state directory is $OMSBOOK_LAB_DIR, or /var/tmp/omsbook-lab when that is unset; this
// package keeps its files in the "mariadb" directory below it:
//
//	data/          the datadir (mariadb-install-db runs once, when it is empty)
//	run/           owned by the server's user, holds:
//	  mariadbd.sock  the server's own unix socket (never Debian's /run/mysqld)
//	  mariadbd.pid   the pid of the server this package started
//	  mariadbd.err   the server's error log, quoted in errors when it fails to start
//	init.sql       creates the lab user at every start (--init-file), mode 0600
//	ensure.lock    the flock that serialises Ensure and Stop
package mariadb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The lab's fixed MetaDB endpoint and credentials. The password is a lab password, not a secret
// of any real system; the inventories still list it under `secrets:` so that omsbook masks it.
const (
	Host     = "127.0.0.1"
	Port     = 3306
	User     = "omslab"
	Password = "omslab-metadb-pw"
)

// StateDirEnv names the environment variable that moves the lab state directory.
const StateDirEnv = "OMSBOOK_LAB_DIR"

// DefaultStateDir is the lab state directory when StateDirEnv is unset.
const DefaultStateDir = "/var/tmp/omsbook-lab"

// installHint is what to run when the server or client programs are missing.
const installHint = "apt-get install mariadb-server mariadb-client"

// Server is a MariaDB server that answers with the lab credentials.
type Server struct {
	Host     string
	Port     int
	User     string
	Password string
	// Started reports whether this package started the server (now or in an earlier Ensure),
	// so that Stop would stop it; false for a server someone else runs.
	Started bool
	// Pid is the server's pid when Started.
	Pid int
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// DSN is a go-sql-driver/mysql data source name for the server, without a default database.
func (s *Server) DSN() string { return s.DSNFor("") }

// DSNFor is a data source name whose default database is db ("" for none).
func (s *Server) DSNFor(db string) string { return s.Config(db).FormatDSN() }

// Config is the driver configuration for the server with default database db ("" for none).
// Callers may adjust it (parseTime, multiStatements) before FormatDSN or mysql.NewConnector.
func (s *Server) Config(db string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = s.User
	cfg.Passwd = s.Password
	cfg.Net = "tcp"
	cfg.Addr = s.Addr()
	cfg.DBName = db
	cfg.Timeout = 5 * time.Second
	return cfg
}

// Open opens a connection pool to database db ("" for none) and checks that it answers.
func (s *Server) Open(ctx context.Context, db string) (*sql.DB, error) {
	conn, err := mysql.NewConnector(s.Config(db))
	if err != nil {
		return nil, fmt.Errorf("mariadb: configure connection to %s: %w", s.Addr(), err)
	}
	pool := sql.OpenDB(conn)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("mariadb: connect to %s as %s: %w", s.Addr(), s.User, err)
	}
	return pool, nil
}

// StateDir is the lab state directory: $OMSBOOK_LAB_DIR or DefaultStateDir.
func StateDir() string {
	if d := os.Getenv(StateDirEnv); d != "" {
		return d
	}
	return DefaultStateDir
}

// paths are this package's files under the state directory.
type paths struct{ dir string }

func newPaths(root string) paths    { return paths{dir: filepath.Join(root, "mariadb")} }
func (p paths) data() string        { return filepath.Join(p.dir, "data") }
func (p paths) run() string         { return filepath.Join(p.dir, "run") }
func (p paths) socket() string      { return filepath.Join(p.dir, "run", "mariadbd.sock") }
func (p paths) pidFile() string     { return filepath.Join(p.dir, "run", "mariadbd.pid") }
func (p paths) errLog() string      { return filepath.Join(p.dir, "run", "mariadbd.err") }
func (p paths) initFile() string    { return filepath.Join(p.dir, "init.sql") }
func (p paths) lockFile() string    { return filepath.Join(p.dir, "ensure.lock") }
func (p paths) installMark() string { return filepath.Join(p.dir, "data", ".omslab-installed") }

// labServer is the Server value with the lab's credentials on the given port of Host.
func labServer(port int) *Server {
	return &Server{Host: Host, Port: port, User: User, Password: Password}
}

// Ensure makes sure a MariaDB server answers on 127.0.0.1:3306 with the lab credentials and
// returns it. See the package comment for what it reuses and what it starts.
func Ensure(ctx context.Context) (*Server, error) {
	return ensureAt(ctx, StateDir(), Port)
}

// EnsureAt is Ensure for a server of its own: its files under the state root root, listening on
// port (a lab that restarts its MetaDB must not restart the one other labs share).
func EnsureAt(ctx context.Context, root string, port int) (*Server, error) {
	return ensureAt(ctx, root, port)
}

// ensureAt is Ensure for a state root and port (tests use their own).
func ensureAt(ctx context.Context, root string, port int) (*Server, error) {
	p := newPaths(root)
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("mariadb: create state directory %s: %w (set %s to a writable directory)", p.dir, err, StateDirEnv)
	}
	unlock, err := lockFile(ctx, p.lockFile())
	if err != nil {
		return nil, err
	}
	defer unlock()

	srv := labServer(port)
	if pid, ok := ownPid(p); ok {
		srv.Started, srv.Pid = true, pid
	}
	probeErr := probe(ctx, srv)
	if probeErr == nil {
		return srv, nil
	}
	if listening(ctx, srv.Addr()) {
		// Something answers on the port but refuses the lab user: a server we did not start
		// (Debian's own service, say). As root we can add the lab user through its socket.
		if err := addUserThroughSystemSocket(ctx); err == nil {
			if err := probe(ctx, srv); err == nil {
				return srv, nil
			}
		}
		return nil, fmt.Errorf("mariadb: a server on %s does not accept the lab user %q (%v); "+
			"stop it or create the user with all privileges from 127.0.0.1 and localhost", srv.Addr(), User, probeErr)
	}
	if err := start(ctx, p, port); err != nil {
		return nil, err
	}
	pid, ok := ownPid(p)
	if !ok {
		return nil, fmt.Errorf("mariadb: server started but its pid file %s is missing or stale", p.pidFile())
	}
	srv.Started, srv.Pid = true, pid
	return srv, nil
}

// Stop stops the server this package started, by its recorded pid, and waits for it to exit.
// It does nothing when this package has no running server on record.
func Stop(ctx context.Context) error {
	return StopAt(ctx, StateDir())
}

// StopAt is Stop for the server whose files are under the lab state root root.
func StopAt(ctx context.Context, root string) error {
	p := newPaths(root)
	if _, err := os.Stat(p.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(ctx, p.lockFile())
	if err != nil {
		return err
	}
	defer unlock()
	pid, ok := ownPid(p)
	if !ok {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("mariadb: stop server pid %d: %w", pid, err)
	}
	// A clean InnoDB shutdown takes a few seconds; after 30 s it is killed outright.
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mariadb: waiting for server pid %d to stop: %w", pid, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = os.Remove(p.pidFile())
	return nil
}

// probe checks that srv answers with its credentials.
func probe(ctx context.Context, srv *Server) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg := srv.Config("")
	cfg.Timeout = 2 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	return db.PingContext(ctx)
}

// listening reports whether anything accepts TCP connections on addr.
func listening(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// createUserSQL creates (or resets) the lab user with every privilege from 127.0.0.1 and
// localhost. It is fed to the server as a file or on a client's stdin, never on an argv.
func createUserSQL() string {
	var b strings.Builder
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n", User, h, Password)
		fmt.Fprintf(&b, "ALTER USER '%s'@'%s' IDENTIFIED BY '%s';\n", User, h, Password)
		fmt.Fprintf(&b, "GRANT ALL PRIVILEGES ON *.* TO '%s'@'%s' WITH GRANT OPTION;\n", User, h)
	}
	b.WriteString("FLUSH PRIVILEGES;\n")
	return b.String()
}

// addUserThroughSystemSocket creates the lab user in a server started by someone else, through
// the mariadb client as the OS root user (unix_socket authentication), on Debian's socket.
func addUserThroughSystemSocket(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	client, err := exec.LookPath("mariadb")
	if err != nil {
		if client, err = exec.LookPath("mysql"); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--no-defaults", "--protocol=socket", "-S", "/run/mysqld/mysqld.sock", "-uroot")
	cmd.Stdin = strings.NewReader(createUserSQL())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// start initialises the datadir when needed and starts mariadbd, detached, then waits until
// it answers with the lab credentials.
func start(ctx context.Context, p paths, port int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("mariadb: no server answers on %s:%d and starting one needs root; run as root or start MariaDB with user %q yourself", Host, port, User)
	}
	server, err := findProgram("/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	if err != nil {
		return fmt.Errorf("mariadb: the MariaDB server is not installed (%w); install it: %s", err, installHint)
	}
	installer, err := findProgram("/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db", "/usr/scripts/mariadb-install-db")
	if err != nil {
		return fmt.Errorf("mariadb: mariadb-install-db is not installed (%w); install it: %s", err, installHint)
	}
	runAs := "mysql"
	if _, err := lookupUID(runAs); err != nil {
		runAs = "root"
	}
	if err := installDataDir(ctx, p, installer, runAs); err != nil {
		return err
	}
	if err := os.WriteFile(p.initFile(), []byte(createUserSQL()), 0o600); err != nil {
		return fmt.Errorf("mariadb: write %s: %w", p.initFile(), err)
	}
	if err := os.MkdirAll(p.run(), 0o755); err != nil {
		return fmt.Errorf("mariadb: create %s: %w", p.run(), err)
	}
	// The server reads the init file and writes its socket, pid file and log as itself, after
	// dropping root.
	if uid, err := lookupUID(runAs); err == nil {
		gid := lookupGIDOr(runAs, 0)
		for _, f := range []string{p.initFile(), p.run()} {
			if err := os.Chown(f, uid, gid); err != nil {
				return fmt.Errorf("mariadb: chown %s to %s: %w", f, runAs, err)
			}
		}
	}
	_ = os.Remove(p.pidFile())
	_ = os.Remove(p.socket())
	logf, err := os.OpenFile(p.errLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("mariadb: open log %s: %w", p.errLog(), err)
	}
	defer logf.Close()
	args := []string{
		"--no-defaults",
		"--user=" + runAs,
		"--datadir=" + p.data(),
		"--socket=" + p.socket(),
		"--pid-file=" + p.pidFile(),
		"--log-error=" + p.errLog(),
		"--init-file=" + p.initFile(),
		"--bind-address=" + Host,
		"--port=" + strconv.Itoa(port),
		"--skip-name-resolve",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--max-connections=1000",
		// A lab server: small memory, no durability fsyncs, so tests run fast.
		"--innodb-buffer-pool-size=128M",
		"--innodb-flush-log-at-trx-commit=2",
		"--sync-binlog=0",
		"--skip-log-bin",
		"--performance-schema=OFF",
	}
	cmd := exec.Command(server, args...)
	// Detached: its own session, no inherited terminal or pipes (a child holding `go test`'s
	// stdout would keep the test binary's output open), outliving the process that started it.
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadb: start %s: %w", server, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the server if it exits while we live

	srv := labServer(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := probe(ctx, srv); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("mariadb: %s exited at start (%v); its log %s ends with:\n%s", server, err, p.errLog(), tail(p.errLog(), 15))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("mariadb: waiting for the server to answer: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("mariadb: the server did not answer on %s within 60 s; its log %s ends with:\n%s", srv.Addr(), p.errLog(), tail(p.errLog(), 15))
		}
	}
}

// installDataDir runs mariadb-install-db once, when the datadir has not been initialised.
func installDataDir(ctx context.Context, p paths, installer, runAs string) error {
	if _, err := os.Stat(p.installMark()); err == nil {
		return nil
	}
	// A half-initialised datadir from an interrupted run is cleared and done again.
	if err := os.RemoveAll(p.data()); err != nil {
		return fmt.Errorf("mariadb: clear datadir %s: %w", p.data(), err)
	}
	if err := os.MkdirAll(p.data(), 0o750); err != nil {
		return fmt.Errorf("mariadb: create datadir %s: %w", p.data(), err)
	}
	if uid, err := lookupUID(runAs); err == nil {
		if err := os.Chown(p.data(), uid, lookupGIDOr(runAs, 0)); err != nil {
			return fmt.Errorf("mariadb: chown datadir %s to %s: %w", p.data(), runAs, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, installer,
		"--no-defaults",
		"--user="+runAs,
		"--datadir="+p.data(),
		"--auth-root-authentication-method=socket",
		"--skip-test-db",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb: %s failed (%w):\n%s", filepath.Base(installer), err, lastLines(string(out), 15))
	}
	if err := os.WriteFile(p.installMark(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("mariadb: mark datadir initialised: %w", err)
	}
	return nil
}

// ownPid returns the pid recorded in our pid file when that process is alive and is a MariaDB
// server using our datadir (a recycled pid is never taken for ours).
func ownPid(p paths) (int, bool) {
	b, err := os.ReadFile(p.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, false
	}
	if !bytes.Contains(cmdline, []byte("--datadir="+p.data())) {
		return 0, false
	}
	return pid, alive(pid)
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z' && b[i+2] != 'X'
}

// lockFile takes an exclusive flock on path, waiting for it as long as ctx allows.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("mariadb: open lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("mariadb: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("mariadb: waiting for lock %s held by another lab process: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// findProgram returns the first of paths that is an executable file, then tries PATH.
func findProgram(paths ...string) (string, error) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	for _, p := range paths {
		if found, err := exec.LookPath(filepath.Base(p)); err == nil {
			return found, nil
		}
	}
	return "", fmt.Errorf("none of %s found", strings.Join(paths, ", "))
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
