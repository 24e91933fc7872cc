package omssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/omssim/simtest"
)

// These tests run the simulator in-process against the lab MariaDB. Node IPs 127.0.0.51-55
// belong to them (lab/images' container tests use 127.0.0.56-59).

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testNode is one simulated OMS node: its mounts in a temp directory and, once started, its
// Serve running in a goroutine.
type testNode struct {
	t      *testing.T
	env    Env
	out    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

func newNode(t *testing.T, ip, version, configPath, dir string) *testNode {
	t.Helper()
	for _, d := range []string{"logs", "store", "run"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	out := &lockedBuffer{}
	return &testNode{t: t, out: out, env: Env{
		ConfigPath: configPath, LogDir: filepath.Join(dir, "logs"), StoreDir: filepath.Join(dir, "store"),
		RunDir: filepath.Join(dir, "run"), HostIP: ip, Version: version, HealthPort: DefaultHealthPort,
		Stdout: out, Getenv: func(string) string { return "" },
	}}
}

func (n *testNode) start() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- Serve(ctx, n.env) }()
	n.t.Cleanup(func() { n.stop(5 * time.Second) })
}

// stop cancels Serve (as SIGTERM does) and returns its result.
func (n *testNode) stop(limit time.Duration) error {
	if n.cancel == nil {
		return nil
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		return err
	case <-time.After(limit):
		n.t.Errorf("Serve on %s did not return within %s after cancel", n.env.HostIP, limit)
		return nil
	}
}

// exited returns Serve's result when it ends within limit.
func (n *testNode) exited(limit time.Duration) (error, bool) {
	select {
	case err := <-n.done:
		n.cancel = nil
		return err, true
	case <-time.After(limit):
		return nil, false
	}
}

func (n *testNode) health() (Health, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d/oms/health", n.env.HostIP, n.env.HealthPort))
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Success bool   `json:"success"`
		Data    Health `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return Health{}, err
	}
	if !body.Success {
		return Health{}, errors.New("success is false")
	}
	return body.Data, nil
}

// waitHealth polls until the health satisfies ok or the time is up.
func (n *testNode) waitHealth(limit time.Duration, what string, ok func(Health) bool) Health {
	n.t.Helper()
	deadline := time.Now().Add(limit)
	var h Health
	var err error
	for time.Now().Before(deadline) {
		if h, err = n.health(); err == nil && ok(h) {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("%s: not %s within %s: last health %+v, %v\nlog:\n%s", n.env.HostIP, what, limit, h, err, n.out.String())
	return h
}

func healthy(h Health) bool { return h.Healthy }

// upgraded: healthy and past any pending upgrade (Online).
func upgraded(h Health) bool { return h.Healthy && h.Status == "running" }

func (n *testNode) script(fn func(context.Context, Env) error) (string, error) {
	out := &lockedBuffer{}
	env := n.env
	env.Stdout = out
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := fn(ctx, env)
	return out.String(), err
}

func TestServeFreshDeployThenStop(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dir := t.TempDir()
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{Nodes: []string{"127.0.0.51"}}))
	n := newNode(t, "127.0.0.51", "4.2.2", cfg, dir)
	start := time.Now()
	n.start()
	h := n.waitHealth(2*time.Second, "healthy", healthy)
	t.Logf("healthy after %s", time.Since(start))
	if h.Version != "4.2.2" || h.Status != "running" {
		t.Errorf("health %+v", h)
	}
	if !strings.Contains(n.out.String(), StartedLine) {
		t.Errorf("log lacks %q:\n%s", StartedLine, n.out.String())
	}
	logFile, _ := os.ReadFile(filepath.Join(dir, "logs", "oms.log"))
	if !strings.Contains(string(logFile), StartedLine) {
		t.Errorf("oms.log lacks %q", StartedLine)
	}
	rm, cm, hb := m.Name("rm"), m.Name("cm"), m.Name("hb1")
	if got := m.String(t, "SELECT cfg_value FROM "+rm+".oms_normal_config WHERE cfg_name='ha.config'"); got != HAConfigDefault {
		t.Errorf("ha.config = %s", got)
	}
	if got := m.String(t, "SELECT version FROM "+rm+".oms_version"); got != "4.2.2-CE" {
		t.Errorf("oms_version = %q", got)
	}
	if got := m.String(t, "SELECT host_status FROM "+cm+".host WHERE ip='127.0.0.51'"); got != "ONLINE" {
		t.Errorf("host_status = %q, want ONLINE", got)
	}
	before := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip='127.0.0.51'")
	beat1 := m.String(t, "SELECT gmt_modified FROM "+hb+".heart_beat WHERE host_ip='127.0.0.51'")
	time.Sleep(3 * time.Second)
	after := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip='127.0.0.51'")
	beat2 := m.String(t, "SELECT gmt_modified FROM "+hb+".heart_beat WHERE host_ip='127.0.0.51'")
	if after < before+2 || beat2 <= beat1 {
		t.Errorf("heartbeats did not advance: sequence %d -> %d, heart_beat %s -> %s", before, after, beat1, beat2)
	}
	marker, err := readStoreMarker(n.env.StoreDir)
	if err != nil || marker.NodeIP != "127.0.0.51" || marker.CreatedVersion != "4.2.2" {
		t.Errorf("store marker %+v, %v", marker, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "data", "store-000001.dat")); err != nil {
		t.Errorf("store data file: %v", err)
	}
	stopStart := time.Now()
	if err := n.stop(3 * time.Second); err != nil {
		t.Errorf("Serve returned %v after stop", err)
	}
	if d := time.Since(stopStart); d > 2*time.Second {
		t.Errorf("stopping took %s", d)
	}
	if got := m.String(t, "SELECT host_status FROM "+cm+".host WHERE ip='127.0.0.51'"); got != "OFFLINE" {
		t.Errorf("host_status after stop = %q, want OFFLINE", got)
	}

	// A restart of the same version on its own schema is healthy again and keeps the store.
	n2 := newNode(t, "127.0.0.51", "4.2.2", cfg, dir)
	n2.start()
	n2.waitHealth(5*time.Second, "healthy after restart", healthy)
	marker2, _ := readStoreMarker(n.env.StoreDir)
	if marker2 == nil || !marker2.CreatedAt.Equal(marker.CreatedAt) {
		t.Errorf("the store marker changed on restart: %+v -> %+v", marker, marker2)
	}
}

func TestServeRefuses(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dir := t.TempDir()
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{}))
	ctx := context.Background()
	db := m.DB
	dbs := Databases{RM: m.Name("rm"), CM: m.Name("cm"), Heartbeat: m.Name("hb1")}
	if err := InstallRM(ctx, db, dbs, "4.2.2"); err != nil {
		t.Fatal(err)
	}
	if err := InstallHeartbeat(ctx, db, dbs.Heartbeat, "4.2.2", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version string
		upgrade       bool
		want          string
	}{
		{"newer image without IS_UPGRADE", "4.2.3", false, "older than this image's 4.2.3; to upgrade, start the container with -e IS_UPGRADE=true"},
		{"older image on a newer schema", "4.1.0", false, "newer than this image's 4.1.0 (a rollback needs the MetaDB backup restored first)"},
		{"older image with IS_UPGRADE", "4.1.0", true, "newer than this image's 4.1.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, "127.0.0.52", tc.version, cfg, dir)
			n.env.Upgrade = tc.upgrade
			n.start()
			err, done := n.exited(5 * time.Second)
			if !done {
				t.Fatalf("Serve did not refuse:\n%s", n.out.String())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if !strings.Contains(n.out.String(), "refusing to start") {
				t.Errorf("log lacks the refusal:\n%s", n.out.String())
			}
		})
	}
	// Without OMS_HOST_IP the service refuses at once.
	n := newNode(t, "", "4.2.2", cfg, dir)
	n.start()
	if err, done := n.exited(time.Second); !done || err == nil || !strings.Contains(err.Error(), "OMS_HOST_IP is not set") {
		t.Errorf("without OMS_HOST_IP: %v (returned %t)", err, done)
	}
	// A MetaDB holding foreign tables is refused, not taken over.
	m.Exec(t, "CREATE DATABASE "+m.Name("rmx"))
	m.Exec(t, "CREATE TABLE "+m.Name("rmx")+".t (a int)")
	foreign := simtest.WriteConfig(t, dir, "foreign.yaml", strings.Replace(m.Config(simtest.ConfigOptions{}), m.Name("rm"), m.Name("rmx"), 1))
	n = newNode(t, "127.0.0.52", "4.2.2", foreign, dir)
	n.start()
	if err, done := n.exited(5 * time.Second); !done || err == nil || !strings.Contains(err.Error(), "no oms_meta_schema") {
		t.Errorf("foreign rm database: %v (returned %t)", err, done)
	}
}

// TestUpgrade422To423 walks the guide's U422 path in-process: old node, stop, new node with
// IS_UPGRADE pending, docker_init.sh, healthy; then init's refusal to run twice.
func TestUpgrade422To423(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dir := t.TempDir()
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{}))
	old := newNode(t, "127.0.0.53", "4.2.2", cfg, dir)
	old.start()
	old.waitHealth(5*time.Second, "healthy", healthy)
	if err := old.stop(3 * time.Second); err != nil {
		t.Fatal(err)
	}

	n := newNode(t, "127.0.0.53", "4.2.3", cfg, dir)
	n.env.Upgrade = true
	n.start()
	h := n.waitHealth(3*time.Second, "upgrade pending", func(h Health) bool { return strings.HasPrefix(h.Status, "upgrade pending") })
	if !h.Healthy {
		// obd's readiness (the log line, data.healthy) comes before init: the console is up.
		t.Fatalf("not healthy while docker_init.sh is awaited: %+v", h)
	}
	out, err := n.script(Init)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	t0 := time.Now()
	n.waitHealth(3*time.Second, "running after init", upgraded)
	t.Logf("healthy %s after init", time.Since(t0))
	rm, cm, hb := m.Name("rm"), m.Name("cm"), m.Name("hb1")
	if v := m.String(t, "SELECT MAX(version) FROM "+rm+".oms_meta_schema"); v != "4.2.3" {
		t.Errorf("rm schema %s, want 4.2.3", v)
	}
	if v := m.String(t, "SELECT MAX(version) FROM "+hb+".oms_meta_schema"); v != "4.2.3" {
		t.Errorf("heartbeat schema %s, want 4.2.3", v)
	}
	if v := m.String(t, "SELECT version FROM "+cm+".host WHERE ip='127.0.0.53'"); v != "4.2.3" {
		t.Errorf("host version %s, want 4.2.3", v)
	}
	if got := m.String(t, "SELECT CONCAT(from_version,'>',to_version,' ',result) FROM "+cm+".init_record ORDER BY id DESC LIMIT 1"); got != "4.2.2>4.2.3 SUCCESS" {
		t.Errorf("init_record: %q", got)
	}
	logs, err := InitLogs(filepath.Join(dir, "logs"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no docker_init_<time>.log: %v %v", logs, err)
	}
	logFile, _ := os.ReadFile(logs[len(logs)-1])
	lines := strings.Split(strings.TrimSpace(string(logFile)), "\n")
	if !strings.Contains(lines[len(lines)-1], InitDonePrefix) {
		t.Errorf("%s does not end with the result line:\n%s", logs[len(logs)-1], logFile)
	}

	// A second run with the same (shared) config file fails: init is not idempotent.
	out, err = n.script(Init)
	if err == nil || !strings.Contains(err.Error(), "already ran for region hangzhou") {
		t.Errorf("second init: %v\n%s", err, out)
	}
	if got := m.Count(t, "SELECT COUNT(*) FROM "+cm+".init_record WHERE result='FAILED'"); got != 1 {
		t.Errorf("FAILED init_record rows: %d, want 1", got)
	}
	// A node with its own config file (same content, another file) may run it.
	own := simtest.WriteConfig(t, dir, "own.yaml", m.Config(simtest.ConfigOptions{}))
	n.env.ConfigPath = own
	if out, err := n.script(Init); err != nil {
		t.Errorf("init with its own config file: %v\n%s", err, out)
	}
}

func TestInitFailures(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dir := t.TempDir()
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{}))
	old := newNode(t, "127.0.0.54", "4.2.2", cfg, dir)
	old.start()
	old.waitHealth(5*time.Second, "healthy", healthy)
	old.stop(3 * time.Second)
	rm, cm := m.Name("rm"), m.Name("cm")

	n := newNode(t, "127.0.0.54", "4.2.3", cfg, dir)
	n.env.Upgrade = true

	// The fault switch.
	faultFile := filepath.Join(dir, "run", "omssim-faults", FaultInitFails)
	os.MkdirAll(filepath.Dir(faultFile), 0o755)
	os.WriteFile(faultFile, nil, 0o644)
	if out, err := n.script(Init); err == nil || !strings.Contains(err.Error(), "fault init-fails") {
		t.Errorf("init with init-fails: %v\n%s", err, out)
	}
	os.Remove(faultFile)

	// No oms_version table: the guide's message, exactly.
	m.Exec(t, "DROP TABLE "+rm+".oms_version")
	out, err := n.script(Init)
	if err == nil || err.Error() != MsgVersionBefore411 || !hasLine(out, MsgVersionBefore411) {
		t.Errorf("init without oms_version: %v\n%s", err, out)
	}
	// The guide's fix: create the table with the old version, run init again.
	m.Exec(t, "CREATE TABLE IF NOT EXISTS "+rm+".oms_version (version varchar(64) NOT NULL, gmt_modified timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY(version))")
	m.Exec(t, "REPLACE INTO "+rm+".oms_version(version) VALUES('4.1.0-CE')")
	if _, err := n.script(Init); err == nil || err.Error() != MsgVersionBefore411 {
		t.Errorf("init with oms_version 4.1.0-CE: %v", err)
	}
	m.Exec(t, "DELETE FROM "+rm+".oms_version")
	m.Exec(t, "REPLACE INTO "+rm+".oms_version(version) VALUES('4.2.2-CE')")

	// Wrong binds: the store mount of another directory holds no old data.
	wrong := n.env
	wrong.StoreDir = t.TempDir()
	if err := Init(context.Background(), withStdout(wrong)); err == nil || !strings.Contains(err.Error(), "holds no data of the previous deployment") {
		t.Errorf("init with an empty store mount: %v", err)
	}
	if got := m.Count(t, "SELECT COUNT(*) FROM "+cm+".init_record WHERE result='FAILED'"); got != 4 {
		t.Errorf("FAILED init_record rows: %d, want 4", got)
	}
	if out, err := n.script(Init); err != nil {
		t.Errorf("init after the fixes: %v\n%s", err, out)
	}
}

func withStdout(e Env) Env {
	e.Stdout = &lockedBuffer{}
	return e
}

func TestFaultsLive(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dir := t.TempDir()
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{}))
	hb := m.Name("hb1")
	faultDir := filepath.Join(dir, "run", "omssim-faults")
	setFault := func(name, content string) {
		os.MkdirAll(faultDir, 0o755)
		os.WriteFile(filepath.Join(faultDir, name), []byte(content), 0o644)
	}
	clear := func() { os.RemoveAll(faultDir) }

	t.Run("slow-start", func(t *testing.T) {
		defer clear()
		setFault(FaultSlowStart, "1")
		n := newNode(t, "127.0.0.55", "4.2.2", cfg, dir)
		start := time.Now()
		n.start()
		n.waitHealth(3*time.Second, "healthy", healthy)
		if d := time.Since(start); d < time.Second {
			t.Errorf("healthy after %s despite a 1 s slow start", d)
		}
		n.stop(3 * time.Second)
	})
	t.Run("never-healthy via env", func(t *testing.T) {
		n := newNode(t, "127.0.0.55", "4.2.2", cfg, dir)
		n.env.Getenv = func(k string) string {
			if k == "OMSSIM_FAULT_NEVER_HEALTHY" {
				return "1"
			}
			return ""
		}
		n.start()
		time.Sleep(2500 * time.Millisecond)
		h, err := n.health()
		if err != nil || h.Healthy || h.Status != "starting" {
			t.Errorf("never-healthy: %+v %v", h, err)
		}
		if strings.Contains(n.out.String(), StartedLine) {
			t.Error("never-healthy logged the start-up line")
		}
		n.stop(3 * time.Second)
	})
	t.Run("heartbeat-stops", func(t *testing.T) {
		defer clear()
		setFault(FaultHeartbeatStops, "1")
		n := newNode(t, "127.0.0.55", "4.2.2", cfg, dir)
		n.start()
		n.waitHealth(5*time.Second, "healthy", healthy)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(n.out.String(), "heartbeats stop") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a beat already in flight lands
		c1 := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip='127.0.0.55'")
		time.Sleep(2 * time.Second)
		c2 := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip='127.0.0.55'")
		if c2 != c1 {
			t.Errorf("heartbeats went on: %d -> %d", c1, c2)
		}
		if h, _ := n.health(); !h.Healthy {
			t.Errorf("health after heartbeats stopped: %+v (want still healthy)", h)
		}
		n.stop(3 * time.Second)
	})
	t.Run("exit", func(t *testing.T) {
		defer clear()
		n := newNode(t, "127.0.0.55", "4.2.2", cfg, dir)
		n.start()
		n.waitHealth(5*time.Second, "healthy", healthy)
		setFault(FaultExit, "")
		err, done := n.exited(2 * time.Second)
		if !done || !errors.Is(err, ErrFaultExit) {
			t.Errorf("exit fault: %v (returned %t)", err, done)
		}
	})
}

// TestUpgradeAndRollback410 runs the V4.1.0 path's in-container scripts in-process, over two
// regions sharing rm/cm.
func TestUpgradeAndRollback410(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := simtest.WriteConfig(t, dirA, "config.yaml", m.Config(simtest.ConfigOptions{Region: "hangzhou", Heartbeat: "hb1"}))
	cfgB := simtest.WriteConfig(t, dirB, "config.yaml", m.Config(simtest.ConfigOptions{Region: "shanghai", Heartbeat: "hb2", Location: 1}))
	rm, hb1, hb2 := m.Name("rm"), m.Name("hb1"), m.Name("hb2")
	for i, c := range []struct{ cfg, dir, ip string }{{cfgA, dirA, "127.0.0.51"}, {cfgB, dirB, "127.0.0.52"}} {
		n := newNode(t, c.ip, "4.1.0", c.cfg, c.dir)
		n.start()
		n.waitHealth(5*time.Second, fmt.Sprintf("region %d healthy", i), healthy)
		n.stop(3 * time.Second)
	}
	if got := m.String(t, "SELECT cfg_value FROM "+rm+".oms_normal_config WHERE cfg_name='ha.config'"); got != HAConfigDefault410 {
		t.Errorf("4.1.0 ha.config = %s", got)
	}
	if got := m.Count(t, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=? AND table_name='oms_version'", rm); got != 0 {
		t.Error("a V4.1.0 deployment has an oms_version table")
	}
	// docker_init.sh on a V4.1.0 MetaDB gives the guide's message.
	nA := newNode(t, "127.0.0.51", "4.2.3", cfgA, dirA)
	nA.env.Upgrade = true
	if _, err := nA.script(Init); err == nil || err.Error() != MsgVersionBefore411 {
		t.Errorf("docker_init.sh on V4.1.0: %v", err)
	}
	// A RUNNING full migration blocks the upgrade.
	m.Exec(t, "INSERT INTO "+rm+".oms_project VALUES (1, 'p1', 'MIGRATION', 'RUNNING', NOW() - INTERVAL 1 DAY)")
	m.Exec(t, "INSERT INTO "+rm+".oms_project_step VALUES (1, 'FULL_MIGRATION', 'RUNNING'), (1, 'INCR_SYNC', 'RUNNING')")
	if out, err := nA.script(Upgrade410); err == nil || !strings.Contains(err.Error(), "full migration or full verification tasks are Running (project/step 1/FULL_MIGRATION)") {
		t.Errorf("upgrade with a running full migration: %v\n%s", err, out)
	}
	m.Exec(t, "UPDATE "+rm+".oms_project_step SET status='FINISHED' WHERE step='FULL_MIGRATION'")

	nA.start()
	nA.waitHealth(3*time.Second, "upgrade pending", func(h Health) bool { return strings.HasPrefix(h.Status, "upgrade pending") })
	out, err := nA.script(Upgrade410)
	if err != nil || !hasLine(out, MsgCompleted) {
		t.Fatalf("upgrade-410 in region A: %v\n%s", err, out)
	}
	nA.waitHealth(3*time.Second, "healthy after the upgrade", healthy)
	if got := m.String(t, "SELECT cfg_value FROM "+rm+".oms_normal_config WHERE cfg_name='ha.config'"); got != HAConfigDefault {
		t.Errorf("upgraded ha.config = %s", got)
	}
	if v := m.String(t, "SELECT MAX(version) FROM "+hb2+".oms_meta_schema"); v != "4.1.0" {
		t.Errorf("region B heartbeat schema %s before its own run, want 4.1.0", v)
	}
	nB := newNode(t, "127.0.0.52", "4.2.3", cfgB, dirB)
	if out, err := nB.script(Upgrade410); err != nil || !strings.Contains(out, MsgCompleted) {
		t.Fatalf("upgrade-410 in region B: %v\n%s", err, out)
	}
	if v := m.String(t, "SELECT MAX(version) FROM "+hb2+".oms_meta_schema"); v != "4.2.3" {
		t.Errorf("region B heartbeat schema %s, want 4.2.3", v)
	}
	nA.stop(3 * time.Second)

	// Rollback, once per region; a project created on V4.2.3 would block it.
	m.Exec(t, "INSERT INTO "+rm+".oms_project VALUES (2, 'p2', 'MIGRATION', 'RUNNING', NOW() + INTERVAL 1 SECOND)")
	if _, err := nA.script(Rollback410); err == nil || !strings.Contains(err.Error(), "created on V4.2.3") {
		t.Errorf("rollback with a project created on V4.2.3: %v", err)
	}
	m.Exec(t, "DELETE FROM "+rm+".oms_project WHERE id = 2")
	for _, n := range []*testNode{nA, nB} {
		if out, err := n.script(Rollback410); err != nil || !strings.Contains(out, MsgCompleted) {
			t.Fatalf("rollback-410 on %s: %v\n%s", n.env.HostIP, err, out)
		}
	}
	for _, db := range []string{rm, hb1, hb2} {
		if v := m.String(t, "SELECT MAX(version) FROM "+db+".oms_meta_schema"); v != "4.1.0" {
			t.Errorf("%s schema after rollback %s, want 4.1.0", db, v)
		}
	}
	if got := m.String(t, "SELECT cfg_value FROM "+rm+".oms_normal_config WHERE cfg_name='ha.config'"); got != HAConfigDefault410 {
		t.Errorf("rolled back ha.config = %s", got)
	}
	// The old image runs again.
	old := newNode(t, "127.0.0.51", "4.1.0", cfgA, dirA)
	old.start()
	old.waitHealth(5*time.Second, "V4.1.0 healthy after the rollback", healthy)
}

// hasLine reports whether out has line as one whole line.
func hasLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestUpgradeTwoRegions: each region's docker_init.sh migrates its own heartbeat database, so
// a region's node stays pending until its region's init has run.
func TestUpgradeTwoRegions(t *testing.T) {
	m := simtest.NewMetaDB(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := simtest.WriteConfig(t, dirA, "config.yaml", m.Config(simtest.ConfigOptions{Region: "hangzhou", Heartbeat: "hb1"}))
	cfgB := simtest.WriteConfig(t, dirB, "config.yaml", m.Config(simtest.ConfigOptions{Region: "shanghai", Heartbeat: "hb2", Location: 1}))
	var olds []*testNode
	for _, c := range []struct{ cfg, dir, ip string }{{cfgA, dirA, "127.0.0.53"}, {cfgB, dirB, "127.0.0.54"}} {
		n := newNode(t, c.ip, "4.2.2", c.cfg, c.dir)
		n.start() // both regions start at once on empty databases
		olds = append(olds, n)
	}
	for _, n := range olds {
		n.waitHealth(5*time.Second, "healthy", healthy)
		n.stop(3 * time.Second)
	}
	a := newNode(t, "127.0.0.53", "4.2.3", cfgA, dirA)
	b := newNode(t, "127.0.0.54", "4.2.3", cfgB, dirB)
	for _, n := range []*testNode{a, b} {
		n.env.Upgrade = true
		n.start()
		n.waitHealth(5*time.Second, "upgrade pending", func(h Health) bool { return strings.HasPrefix(h.Status, "upgrade pending") })
	}
	if out, err := a.script(Init); err != nil {
		t.Fatalf("init in region A: %v\n%s", err, out)
	}
	a.waitHealth(3*time.Second, "running", upgraded)
	time.Sleep(time.Second)
	if h, _ := b.health(); upgraded(h) {
		t.Fatalf("region B running before its own init: %+v", h)
	}
	out, err := b.script(Init)
	if err != nil {
		t.Fatalf("init in region B: %v\n%s", err, out)
	}
	b.waitHealth(3*time.Second, "healthy", healthy)
	if got := m.String(t, "SELECT GROUP_CONCAT(CONCAT(region,':',from_version,'>',to_version) ORDER BY id) FROM "+m.Name("cm")+".init_record WHERE result='SUCCESS'"); got != "hangzhou:4.2.2>4.2.3,shanghai:4.2.2>4.2.3" {
		t.Errorf("init_record: %s", got)
	}
}

// rawHealth returns the HTTP status and body of a node's /oms/health.
func rawHealth(t *testing.T, ip string) (int, string, error) {
	t.Helper()
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d/oms/health", ip, DefaultHealthPort))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}

// strictNode makes a MetaDB and a 4.2.2 node with a profile, not started yet.
func strictNode(t *testing.T, ip, profile string) (m *simtest.MetaDB, n *testNode, dir, cfg string) {
	t.Helper()
	m = simtest.NewMetaDB(t)
	dir = t.TempDir()
	cfg = simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{Nodes: []string{ip}}))
	n = newNode(t, ip, "4.2.2", cfg, dir)
	setProfile(t, n, profile)
	return m, n, dir, cfg
}

func setProfile(t *testing.T, n *testNode, profile string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(n.env.RunDir, ProfileFileName), []byte(profile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hostStatus is a node's cm.host status.
func hostStatus(t *testing.T, m *simtest.MetaDB, cm, ip string) string {
	t.Helper()
	return m.String(t, "SELECT host_status FROM "+cm+".host WHERE ip=?", ip)
}

// TestServeStrict: the strict profile's console starts late (502, no start-up line), health
// says only "healthy", heart_beat has several rows per host (one stale), and SIGTERM is
// ignored for the profile's stop time. Node IPs 127.0.9.1-3 belong to the strict tests.
func TestServeStrict(t *testing.T) {
	const ip = "127.0.9.1"
	m, n, dir, _ := strictNode(t, ip, "strict startup=3s stop=2s")
	n.start()
	// The port accepts at once; the console behind it is not there yet.
	var code int
	var err error
	for i := 0; i < 50; i++ {
		if code, _, err = rawHealth(t, ip); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusBadGateway {
		t.Errorf("health while the console starts: HTTP %d, %v; want 502", code, err)
	}
	if strings.Contains(n.out.String(), StartedLine) {
		t.Errorf("start-up line before the start-up delay:\n%s", n.out.String())
	}
	n.waitHealth(15*time.Second, "healthy", healthy)
	code, body, err := rawHealth(t, ip)
	if err != nil || code != 200 || strings.TrimSpace(body) != `{"data":{"healthy":true},"success":true}` {
		t.Errorf("strict health: HTTP %d %q %v", code, body, err)
	}
	logFile, _ := os.ReadFile(filepath.Join(dir, "logs", "oms.log"))
	if !strings.Contains(n.out.String(), StartedLine) || !strings.Contains(string(logFile), StartedLine) {
		t.Errorf("stdout or oms.log lacks %q", StartedLine)
	}

	hb, cm := m.Name("hb1"), m.Name("cm")
	time.Sleep(2500 * time.Millisecond) // CONSOLE beats every other second
	rows := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heart_beat WHERE host_ip=?", ip)
	if rows != 4 {
		t.Errorf("heart_beat rows of %s: %d, want 4 (SUPERVISOR, CM, CONSOLE, stale CHECKER)", ip, rows)
	}
	for _, tc := range []struct {
		task   string
		fresh  bool
		maxAge int
	}{{"SUPERVISOR", true, 5}, {"CM", true, 5}, {"CONSOLE", true, 5}, {"CHECKER", false, 0}} {
		age := m.Count(t, "SELECT TIMESTAMPDIFF(SECOND, gmt_modified, NOW(3)) FROM "+hb+".heart_beat WHERE host_ip=? AND task_type=?", ip, tc.task)
		if tc.fresh && age > tc.maxAge || !tc.fresh && age < 1800 {
			t.Errorf("heart_beat %s is %d s old", tc.task, age)
		}
	}
	if got := hostStatus(t, m, cm, ip); got != "ONLINE" {
		t.Errorf("host_status %q, want ONLINE", got)
	}

	// SIGTERM: the service keeps running for the stop time (Docker would SIGKILL it).
	n.cancel()
	if _, done := n.exited(time.Second); done {
		t.Fatalf("strict Serve returned within 1 s of SIGTERM (stop=2s)")
	}
	if got := hostStatus(t, m, cm, ip); got != "ONLINE" {
		t.Errorf("host_status while stopping %q, want ONLINE", got)
	}
	if err, done := n.exited(10 * time.Second); !done || err != nil {
		t.Fatalf("strict Serve after its stop time: done %t, %v", done, err)
	}
	if got := hostStatus(t, m, cm, ip); got != "OFFLINE" {
		t.Errorf("host_status after the stop %q, want OFFLINE", got)
	}
}

// TestInitStrict: in strict docker_init.sh needs the console up; the console is healthy
// before init while the host goes ONLINE only after it; a second run is not refused but
// recorded as a rerun.
func TestInitStrict(t *testing.T) {
	const ip = "127.0.9.2"
	m, old, dir, cfg := strictNode(t, ip, "strict startup=0s stop=0s")
	old.start()
	old.waitHealth(10*time.Second, "healthy", healthy)
	if err := old.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	cm := m.Name("cm")

	n := newNode(t, ip, "4.2.3", cfg, dir)
	n.env.Upgrade = true
	setProfile(t, n, "strict startup=3s stop=0s")
	n.start()
	time.Sleep(300 * time.Millisecond)
	if out, err := n.script(Init); err == nil || !strings.Contains(err.Error(), "not up yet") {
		t.Errorf("init before the console is up: %v\n%s", err, out)
	}
	n.waitHealth(15*time.Second, "healthy before init", healthy)
	if !strings.Contains(n.out.String(), StartedLine) {
		t.Errorf("no start-up line before init:\n%s", n.out.String())
	}
	if got := hostStatus(t, m, cm, ip); got != "OFFLINE" {
		t.Errorf("host_status before init %q, want OFFLINE (ONLINE only after init)", got)
	}
	if out, err := n.script(Init); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.String(t, "SELECT CONCAT(host_status,' ',version) FROM "+cm+".host WHERE ip=?", ip) != "ONLINE 4.2.3" {
		if time.Now().After(deadline) {
			t.Fatalf("host not ONLINE on 4.2.3 after init:\n%s", n.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A second run is not refused: it runs again, and the record shows it.
	if out, err := n.script(Init); err != nil {
		t.Errorf("second init in strict: %v\n%s", err, out)
	}
	if got := m.Count(t, "SELECT COUNT(*) FROM "+cm+".init_record WHERE result='SUCCESS' AND to_version='4.2.3'"); got != 2 {
		t.Errorf("SUCCESS init_record rows %d, want 2", got)
	}
	if got := m.String(t, "SELECT message FROM "+cm+".init_record ORDER BY id DESC LIMIT 1"); got != MsgInitRerun {
		t.Errorf("last init_record message %q, want %q", got, MsgInitRerun)
	}
	// The old deployment's heart_beat rows had the strict schema from the start.
	if got := m.Count(t, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema=? AND table_name='heart_beat' AND column_name IN ('task_type','task_name')", m.Name("hb1")); got != 2 {
		t.Errorf("strict heart_beat columns: %d, want task_type and task_name", got)
	}
}

// TestFaultRollbackFails: the fault fails the V4.1.0 rollback script only.
func TestFaultRollbackFails(t *testing.T) {
	const ip = "127.0.9.3"
	_, n, _, _ := strictNode(t, ip, "default")
	os.MkdirAll(filepath.Join(n.env.RunDir, "omssim-faults"), 0o755)
	os.WriteFile(filepath.Join(n.env.RunDir, "omssim-faults", FaultRollbackFails), nil, 0o644)
	n.env.Version = "4.2.3"
	if out, err := n.script(Rollback410); err == nil || !strings.Contains(err.Error(), "fault rollback-fails") {
		t.Errorf("rollback with the fault: %v\n%s", err, out)
	}
	for _, fn := range []func(context.Context, Env) error{Init, Upgrade410} {
		if out, err := n.script(fn); err != nil && strings.Contains(err.Error(), "rollback-fails") {
			t.Errorf("the rollback fault failed another script: %v\n%s", err, out)
		}
	}
}
