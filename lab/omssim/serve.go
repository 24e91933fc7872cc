package omssim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// StartedLine is the log line the service writes once it is up (obd waits for it).
const StartedLine = "OMS service start successfully"

// ErrFaultExit is returned by Serve when the exit fault made it stop.
var ErrFaultExit = errors.New("fault exit: the OMS service exits")

// Health is the data of GET /oms/health.
type Health struct {
	Healthy bool   `json:"healthy"`
	Version string `json:"version"`
	Status  string `json:"status"`
}

type healthState struct {
	mu sync.Mutex
	h  Health
	// strict: /oms/health answers only "healthy", and HTTP 502 (nginx without its console
	// behind it) until consoleUp.
	strict    bool
	consoleUp bool
}

func (s *healthState) setConsoleUp() {
	s.mu.Lock()
	s.consoleUp = true
	s.mu.Unlock()
}

// reply is the HTTP status and JSON body of GET /oms/health.
func (s *healthState) reply() (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.strict {
		return http.StatusOK, map[string]any{"success": true, "data": s.h}
	}
	if !s.consoleUp {
		return http.StatusBadGateway, nil
	}
	return http.StatusOK, map[string]any{"success": true, "data": map[string]bool{"healthy": s.h.Healthy}}
}

func (s *healthState) set(healthy bool, status string) {
	s.mu.Lock()
	s.h.Healthy, s.h.Status = healthy, status
	s.mu.Unlock()
}

// setStatus changes the status text only (the default profile shows it).
func (s *healthState) setStatus(status string) {
	s.mu.Lock()
	s.h.Status = status
	s.mu.Unlock()
}

func (s *healthState) get() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h
}

// Serve runs the OMS service until ctx ends (SIGTERM: it marks the host OFFLINE and returns
// nil) or it refuses to run (an error, logged; the process should exit non-zero).
func Serve(ctx context.Context, env Env) error {
	if env.LogDir == "" {
		env.LogDir = DefaultLogDir
	}
	logger, closeLog := env.openLog("oms.log", false)
	defer closeLog()
	if err := env.check(); err != nil {
		logger.Printf("ERROR refusing to start: %v", err)
		return err
	}
	prof, err := env.profile()
	if err != nil {
		logger.Printf("ERROR refusing to start: %v", err)
		return err
	}
	if prof.Strict() {
		// A real OMS takes its time to stop its components: longer than docker stop waits.
		var cancel context.CancelFunc
		ctx, cancel = slowStop(ctx, prof.Stop, logger)
		defer cancel()
	}
	err = serve(ctx, &env, prof, logger)
	if err != nil {
		logger.Printf("ERROR %v", err)
	}
	return err
}

// slowStop returns a context that ends d after ctx does (SIGTERM), so the service keeps
// running that long after being asked to stop.
func slowStop(ctx context.Context, d time.Duration, logger *log.Logger) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-inner.Done():
			return
		}
		logger.Printf("stopping the OMS components (this takes %s)", d)
		if sleepCtx(inner, d) {
			cancel()
		}
	}()
	return inner, cancel
}

func serve(ctx context.Context, env *Env, prof Profile, logger *log.Logger) error {
	start := time.Now()
	logger.Printf("OMS %s starting on %s (IS_UPGRADE=%t)", env.Version, env.HostIP, env.Upgrade)
	cfg, err := LoadConfig(env.ConfigPath)
	if err != nil {
		return err
	}
	dbs := DatabasesOf(cfg)
	dbs.StrictHeartbeat = prof.Strict()
	flt := env.faults()

	// The exit fault may be switched on at any time: watch for it.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchExit(ctx, flt, cancel)

	state := &healthState{h: Health{Version: env.Version, Status: "starting"}, strict: prof.Strict()}
	srv, err := startHealth(env, state)
	if err != nil {
		return err
	}
	defer func() {
		sctx, c := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer c()
		srv.Shutdown(sctx)
	}()
	stopped := func() error {
		if errors.Is(context.Cause(ctx), ErrFaultExit) {
			return ErrFaultExit
		}
		logger.Printf("OMS service stopped")
		return nil
	}

	if prof.Strict() {
		// nginx answers at once; the console behind it takes minutes.
		if !sleepCtx(ctx, time.Until(start.Add(prof.Startup))) {
			return stopped()
		}
		state.setConsoleUp()
	}
	if on, d := flt.get(FaultSlowStart, 30*time.Second); on {
		logger.Printf("fault %s: starting %s late", FaultSlowStart, d)
		state.set(false, "starting (slow-start fault)")
		if !sleepCtx(ctx, d) {
			return stopped()
		}
	}

	db, err := OpenMetaDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	// Reach the MetaDB and settle the schema; retry while it is unreachable.
	var fresh bool
	var st schemaState
	for {
		var before schemaState
		before, err = prepareSchema(ctx, db, dbs, env.Version)
		if err == nil {
			fresh = before.RM == "" // prepareSchema installed it
			if st, err = readState(ctx, db, dbs); err == nil {
				break
			}
		}
		var refuse *refusal
		if errors.As(err, &refuse) {
			return err
		}
		state.set(false, "metadb unreachable")
		logger.Printf("WARN MetaDB %s:%d not ready: %v", cfg.MetaHost, cfg.MetaPort, err)
		if !sleepCtx(ctx, time.Second) {
			return stopped()
		}
	}
	if err := checkVersions(st, env); err != nil {
		return err
	}

	// The store marker proves later that this mount holds this node's data. An upgrade
	// container must find it, not create it: an empty store means wrong binds.
	if _, err := readStoreMarker(env.StoreDir); errors.Is(err, fs.ErrNotExist) {
		if env.Upgrade && !fresh {
			logger.Printf("WARN the store mount %s holds no data of a previous deployment: check the container's binds against the old container's", env.StoreDir)
		} else if err := createStoreData(env); err != nil {
			return err
		}
	} else if err != nil {
		logger.Printf("WARN %v", err)
	}

	// Wait for docker_init.sh to migrate an older schema. The console is up and healthy
	// meanwhile, as obd's readiness (the log line, then data.healthy) comes before init and
	// init needs the console; the host goes ONLINE and beats only afterwards.
	startedSaid := false
	if behind(st, env.Version) {
		state.set(true, "running")
		logger.Printf("%s", StartedLine)
		startedSaid = true
	}
	for behind(st, env.Version) {
		status := fmt.Sprintf("upgrade pending: MetaDB schema %s, image %s; run /root/docker_init.sh", lowest(st), env.Version)
		if h := state.get(); h.Status != status {
			logger.Printf("%s", status)
		}
		state.setStatus(status)
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return stopped()
		}
		if s, err := readState(ctx, db, dbs); err == nil {
			st = s
			if err := checkVersions(st, env); err != nil {
				return err
			}
		}
	}
	if fresh || env.Upgrade {
		// After a migration the store data of the old deployment is still there; a fresh
		// node gets its data now.
		if err := createStoreData(env); err != nil {
			return err
		}
	}

	for flt.on(FaultNeverHealthy) {
		state.set(false, "starting")
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return stopped()
		}
	}

	hb := &heartbeater{db: db, dbs: dbs, ip: env.HostIP, region: cfg.CMRegion, version: env.Version}
	if err := hb.markHost(ctx, "ONLINE"); err != nil && ctx.Err() == nil {
		logger.Printf("WARN mark host ONLINE: %v", err)
	}
	hb.beat(ctx)
	state.set(true, "running")
	if !startedSaid {
		logger.Printf("%s", StartedLine)
	}

	healthyAt := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stoppedBeating := false
	for {
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrFaultExit) {
				logger.Printf("%v", ErrFaultExit)
				return ErrFaultExit
			}
			octx, c := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			if err := hb.markHost(octx, "OFFLINE"); err != nil {
				logger.Printf("WARN mark host OFFLINE: %v", err)
			}
			c()
			return stopped()
		case <-tick.C:
		}
		if on, after := flt.get(FaultHeartbeatStops, 0); on && time.Since(healthyAt) >= after {
			if !stoppedBeating {
				logger.Printf("fault %s: heartbeats stop", FaultHeartbeatStops)
				stoppedBeating = true
			}
			continue
		}
		stoppedBeating = false
		if err := hb.beat(ctx); err != nil && ctx.Err() == nil {
			logger.Printf("WARN heartbeat: %v", err)
		}
	}
}

func watchExit(ctx context.Context, flt faults, cancel context.CancelCauseFunc) {
	start := time.Now()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if on, after := flt.get(FaultExit, 0); on && time.Since(start) >= after {
			cancel(ErrFaultExit)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func startHealth(env *Env, state *healthState) (*http.Server, error) {
	addr := net.JoinHostPort(env.HostIP, strconv.Itoa(env.HealthPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for /oms/health (is another OMS container using this IP?): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oms/health", func(w http.ResponseWriter, r *http.Request) {
		code, body := state.reply()
		if code != http.StatusOK {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
				code, http.StatusText(code), code, http.StatusText(code))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

// refusal is an error that stops the service for good (no retry).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// prepareSchema installs the schema of a fresh deployment (empty rm database) or of a new
// region's heartbeat database, under a MetaDB lock, and returns the state found before.
func prepareSchema(ctx context.Context, db *sql.DB, dbs Databases, version string) (schemaState, error) {
	var before schemaState
	err := withLock(ctx, db, "omssim_schema_"+dbs.RM, func() error {
		st, err := readState(ctx, db, dbs)
		if errors.Is(err, errUnknownSchema) {
			return &refusal{err.Error()}
		}
		if err != nil {
			return err
		}
		before = st
		if st.RM == "" {
			if err := InstallRM(ctx, db, dbs, version); err != nil {
				return err
			}
			st.RM = version
		}
		if st.Heartbeat == "" {
			// A region joining an existing deployment starts at the deployment's version.
			return InstallHeartbeat(ctx, db, dbs.Heartbeat, st.RM, dbs.StrictHeartbeat)
		}
		return nil
	})
	return before, err
}

func behind(st schemaState, v string) bool {
	return compareVersions(st.RM, v) < 0 || compareVersions(st.Heartbeat, v) < 0
}

func lowest(st schemaState) string {
	if compareVersions(st.Heartbeat, st.RM) < 0 {
		return st.Heartbeat
	}
	return st.RM
}

// checkVersions refuses a schema this image must not run on.
func checkVersions(st schemaState, env *Env) error {
	for _, s := range []struct{ what, v string }{{"rm/cm", st.RM}, {"heartbeat", st.Heartbeat}} {
		if compareVersions(s.v, env.Version) > 0 {
			return &refusal{fmt.Sprintf("refusing to start: the MetaDB %s schema is %s, newer than this image's %s (a rollback needs the MetaDB backup restored first)", s.what, s.v, env.Version)}
		}
	}
	if behind(st, env.Version) && !env.Upgrade {
		return &refusal{fmt.Sprintf("refusing to start: the MetaDB schema is %s, older than this image's %s; to upgrade, start the container with -e IS_UPGRADE=true and run /root/docker_init.sh", lowest(st), env.Version)}
	}
	return nil
}

// heartbeater writes the node's host status and heartbeats.
type heartbeater struct {
	db                  *sql.DB
	dbs                 Databases
	ip, region, version string
	beats               int // strict: beats written so far
}

func (h *heartbeater) markHost(ctx context.Context, status string) error {
	_, err := h.db.ExecContext(ctx, "INSERT INTO "+q(h.dbs.CM, "host")+
		" (ip, region, host_status, version, gmt_modified) VALUES (?, ?, ?, ?, NOW(3))"+
		" ON DUPLICATE KEY UPDATE region = VALUES(region), host_status = VALUES(host_status), version = VALUES(version), gmt_modified = VALUES(gmt_modified)",
		h.ip, h.region, status, h.version)
	if err != nil {
		return fmt.Errorf("update %s.host: %w", h.dbs.CM, err)
	}
	return nil
}

// strictTasks are the heart_beat rows a node keeps fresh in the strict profile: the
// supervisor, and components beating at their own pace (every n-th beat).
var strictTasks = []struct {
	taskType, taskName string
	every              int
}{{"SUPERVISOR", "supervisor", 1}, {"CM", "cm", 1}, {"CONSOLE", "console", 2}}

// strictStaleTask is a component row that stopped beating long ago (a finished task's
// component) while the host is fine: written once, an hour old, never refreshed.
var strictStaleTask = struct{ taskType, taskName string }{"CHECKER", "checker_1"}

// beatStrict upserts the strict profile's heart_beat rows.
func (h *heartbeater) beatStrict(ctx context.Context) error {
	table := q(h.dbs.Heartbeat, "heart_beat")
	if h.beats == 0 {
		if _, err := h.db.ExecContext(ctx, "INSERT IGNORE INTO "+table+" (host_ip, task_type, task_name, gmt_modified) VALUES (?, ?, ?, NOW(3) - INTERVAL 1 HOUR)",
			h.ip, strictStaleTask.taskType, strictStaleTask.taskName); err != nil {
			return fmt.Errorf("update %s.heart_beat: %w", h.dbs.Heartbeat, err)
		}
	}
	for _, t := range strictTasks {
		if h.beats%t.every != 0 {
			continue
		}
		if _, err := h.db.ExecContext(ctx, "INSERT INTO "+table+" (host_ip, task_type, task_name, gmt_modified) VALUES (?, ?, ?, NOW(3))"+
			" ON DUPLICATE KEY UPDATE gmt_modified = VALUES(gmt_modified)", h.ip, t.taskType, t.taskName); err != nil {
			return fmt.Errorf("update %s.heart_beat: %w", h.dbs.Heartbeat, err)
		}
	}
	h.beats++
	return nil
}

// beat upserts heart_beat and inserts a heatbeat_sequence row, and keeps the host ONLINE.
func (h *heartbeater) beat(ctx context.Context) error {
	if h.dbs.StrictHeartbeat {
		if err := h.beatStrict(ctx); err != nil {
			return err
		}
	} else if _, err := h.db.ExecContext(ctx, "INSERT INTO "+q(h.dbs.Heartbeat, "heart_beat")+
		" (host_ip, gmt_modified) VALUES (?, NOW(3)) ON DUPLICATE KEY UPDATE gmt_modified = VALUES(gmt_modified)", h.ip); err != nil {
		return fmt.Errorf("update %s.heart_beat: %w", h.dbs.Heartbeat, err)
	}
	if _, err := h.db.ExecContext(ctx, "INSERT INTO "+q(h.dbs.Heartbeat, "heatbeat_sequence")+
		" (host_ip, gmt_created) VALUES (?, NOW(3))", h.ip); err != nil {
		return fmt.Errorf("insert %s.heatbeat_sequence: %w", h.dbs.Heartbeat, err)
	}
	return h.markHost(ctx, "ONLINE")
}
