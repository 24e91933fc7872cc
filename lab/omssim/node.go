package omssim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Default paths inside the image (fixed by the product: "cannot be modified").
const (
	DefaultConfigPath = "/home/admin/conf/config.yaml"
	DefaultLogDir     = "/home/admin/logs"
	DefaultStoreDir   = "/home/ds/store"
	DefaultRunDir     = "/home/ds/run"
	DefaultHealthPort = 8089
)

// Env is what one simulator process knows about its node: where its files are, its IP, its
// image version. EnvFromOS fills it the way the container sets it; tests fill it by hand.
type Env struct {
	ConfigPath string // config.yaml
	LogDir     string // oms.log, docker_init*.log
	StoreDir   string // the Store component's data: the store marker lives here
	RunDir     string // the Incr-Sync component's data; omssim-faults/ lives here
	HostIP     string // OMS_HOST_IP
	Version    string // the image's OMS version, e.g. "4.2.2" (OMS_IMAGE_VERSION)
	Upgrade    bool   // IS_UPGRADE=true
	HealthPort int    // 8089
	Stdout     io.Writer
	Getenv     func(string) string // for fault variables; default os.Getenv
}

// EnvFromOS reads the environment of the container: OMS_HOST_IP, IS_UPGRADE (must be "true";
// the name is upper case), OMS_IMAGE_VERSION (baked into the image), and, for tests and
// debugging, OMSSIM_CONFIG, OMSSIM_LOG_DIR, OMSSIM_STORE_DIR, OMSSIM_RUN_DIR and
// OMSSIM_HEALTH_PORT.
func EnvFromOS() Env {
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	port, err := strconv.Atoi(get("OMSSIM_HEALTH_PORT", strconv.Itoa(DefaultHealthPort)))
	if err != nil {
		port = DefaultHealthPort
	}
	return Env{
		ConfigPath: get("OMSSIM_CONFIG", DefaultConfigPath),
		LogDir:     get("OMSSIM_LOG_DIR", DefaultLogDir),
		StoreDir:   get("OMSSIM_STORE_DIR", DefaultStoreDir),
		RunDir:     get("OMSSIM_RUN_DIR", DefaultRunDir),
		HostIP:     os.Getenv("OMS_HOST_IP"),
		Version:    os.Getenv("OMS_IMAGE_VERSION"),
		Upgrade:    os.Getenv("IS_UPGRADE") == "true",
		HealthPort: port,
		Stdout:     os.Stdout,
		Getenv:     os.Getenv,
	}
}

func (e *Env) check() error {
	if e.HostIP == "" {
		return errors.New("OMS_HOST_IP is not set: start the container with -e OMS_HOST_IP=<this node's IP>")
	}
	if net.ParseIP(e.HostIP) == nil {
		return fmt.Errorf("OMS_HOST_IP=%q is not an IP address: set it to this node's IP", e.HostIP)
	}
	if e.Version == "" {
		return errors.New("OMS_IMAGE_VERSION is not set: the image build bakes it in; set it when running the simulator by hand")
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.HealthPort == 0 {
		e.HealthPort = DefaultHealthPort
	}
	return nil
}

func (e *Env) faults() faults {
	return faults{dir: filepath.Join(e.RunDir, "omssim-faults"), getenv: e.Getenv}
}

// openLog opens <log dir>/<name> for appending and returns a logger writing there with
// timestamps; with plainStdout the process's stdout gets the same lines without them (the
// scripts' output, which operators and omsbook read), else with them (the service's docker
// logs). A log directory that cannot be written is reported on stdout only, as the real
// service would still start.
func (e *Env) openLog(name string, plainStdout bool) (*log.Logger, func()) {
	stdout := e.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	var file io.Writer = io.Discard
	closeFn := func() {}
	if err := os.MkdirAll(e.LogDir, 0o755); err == nil {
		if f, err := os.OpenFile(filepath.Join(e.LogDir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			file = f
			closeFn = func() { f.Close() }
		} else {
			fmt.Fprintf(stdout, "omssim: cannot write %s: %v\n", name, err)
		}
	}
	if plainStdout {
		return log.New(&splitWriter{stamped: file, plain: stdout}, "", 0), closeFn
	}
	return log.New(io.MultiWriter(file, stdout), "", log.LstdFlags|log.Lmicroseconds), closeFn
}

// splitWriter writes each log line to plain as it is and to stamped with a timestamp.
type splitWriter struct {
	stamped, plain io.Writer
}

func (w *splitWriter) Write(p []byte) (int, error) {
	fmt.Fprintf(w.stamped, "%s %s", time.Now().Format("2006/01/02 15:04:05.000000"), p)
	return w.plain.Write(p)
}

// OpenMetaDB connects to the MetaDB a config names. The password travels in the DSN only
// (never an argv).
func OpenMetaDB(c *Config) (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.User = c.MetaUser
	mc.Passwd = c.MetaPassword
	mc.Net = "tcp"
	mc.Addr = net.JoinHostPort(c.MetaHost, strconv.Itoa(c.MetaPort))
	mc.ParseTime = true
	mc.Timeout = 3 * time.Second
	mc.ReadTimeout = 15 * time.Second
	mc.WriteTimeout = 15 * time.Second
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("metadb %s: %w", mc.Addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(30 * time.Second)
	return db, nil
}

// withLock runs fn while holding a MariaDB named lock, so that nodes sharing a MetaDB do not
// install or migrate the same schema at once.
func withLock(ctx context.Context, db *sql.DB, name string, fn func() error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("metadb: %w", err)
	}
	defer conn.Close()
	if len(name) > 64 {
		name = name[:64]
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 30)", name).Scan(&got); err != nil {
		return fmt.Errorf("metadb: take lock %s: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("metadb: lock %s is held by another node for over 30 s; retry", name)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
	return fn()
}

// sleepCtx waits d or until ctx ends; it reports whether the full time passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
