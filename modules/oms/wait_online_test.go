package oms

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/modules"
)

// healthServer serves /oms/health on 127.0.0.31 (a random port); healthy decides each answer.
func healthServer(t *testing.T, healthy func(n int64) bool) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.31:0")
	if err != nil {
		testutil.SkipOrFail(t, "cannot listen on 127.0.0.31: %v", err)
	}
	var count atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oms/health" {
			http.NotFound(w, r)
			return
		}
		ok := healthy(count.Add(1))
		status := "RUNNING"
		if !ok {
			status = "STARTING"
		}
		// success as a string, as the OpenAPI envelope may give it.
		fmt.Fprintf(w, `{"success":"true","data":{"healthy":%v,"version":"4.2.3","status":%q}}`, ok, status)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort is a port on 127.0.0.31 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.31:0")
	if err != nil {
		testutil.SkipOrFail(t, "cannot listen on 127.0.0.31: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestWaitOnlineHTTP(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := WaitOnline{}
	healthy := healthServer(t, func(int64) bool { return true })
	late := healthServer(t, func(n int64) bool { return n > 2 })
	never := healthServer(t, func(int64) bool { return false })
	closed := closedPort(t)
	node := func(name string, port int) map[string]any {
		return map[string]any{"name": name, "ip": "127.0.0.31", "port": port}
	}
	tests := []struct {
		name     string
		nodes    []any
		check    bool
		failed   bool
		msg      []string
		progress bool
	}{
		{name: "all healthy", nodes: []any{node("oms-hz-1", healthy)}, msg: []string{"all 1 node(s) Online"}},
		{name: "healthy after a few probes", nodes: []any{node("oms-hz-1", healthy), node("oms-hz-2", late)}, msg: []string{"all 2 node(s) Online"}, progress: true},
		{name: "never healthy", nodes: []any{node("oms-hz-1", healthy), node("oms-sh-1", never)}, failed: true,
			msg: []string{"timed out after 1.5s: 1 of 2 node(s) not Online: oms-sh-1 (127.0.0.31): health: healthy=false (status STARTING)"}},
		{name: "nothing listening", nodes: []any{node("oms-hz-2", closed)}, failed: true, msg: []string{"oms-hz-2 (127.0.0.31): health: connection refused"}},
		{name: "check reports without waiting", nodes: []any{node("oms-hz-1", healthy), node("oms-sh-1", never)}, check: true,
			msg: []string{"not Online now (1/2): oms-sh-1 (127.0.0.31): health: healthy=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oh := newTestHost(t)
			args := coerceArgs(t, m, map[string]any{"nodes": tt.nodes, "timeout": "1.5s", "interval": "100ms"})
			start := time.Now()
			var r modules.Result
			var err error
			if tt.check {
				r, err = m.Check(ctx, oh.Host, args)
				if time.Since(start) > time.Second {
					t.Errorf("check waited %s", time.Since(start))
				}
			} else {
				r, err = m.Apply(ctx, oh.Host, args)
			}
			if err != nil || r.Failed != tt.failed || r.Changed {
				t.Fatalf("result = %+v, %v; want failed %v", r, err, tt.failed)
			}
			for _, want := range tt.msg {
				if !strings.Contains(r.Msg, want) {
					t.Errorf("msg %q lacks %q", r.Msg, want)
				}
			}
			if tt.failed && time.Since(start) > 5*time.Second {
				t.Errorf("took %s to time out after 1.5s", time.Since(start))
			}
			nodes := r.Data["nodes"].([]any)
			if len(nodes) != len(tt.nodes) {
				t.Fatalf("nodes = %v", nodes)
			}
			if tt.progress && !strings.Contains(strings.Join(oh.output(), "\n"), "wait_online") {
				t.Errorf("no progress line: %v", oh.output())
			}
		})
	}
}

func TestWaitOnlineDefaultNodes(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := WaitOnline{}
	port := healthServer(t, func(int64) bool { return true })
	oh := newTestHost(t)
	oh.Vars["play_hosts"] = []any{"oms-hz-1"}
	oh.Vars["hostvars"] = map[string]any{"oms-hz-1": map[string]any{"oms_host_ip": "127.0.0.31"}}
	r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"port": port, "timeout": 5}))
	if err != nil || r.Failed || r.Data["nodes"].([]any)[0].(map[string]any)["name"] != "oms-hz-1" || r.Data["online"] != true {
		t.Fatalf("default nodes = %+v, %v", r, err)
	}
	oh.Vars["hostvars"] = map[string]any{"oms-hz-1": map[string]any{}}
	if r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"port": port})); !r.Failed || !strings.Contains(r.Msg, "host oms-hz-1 has no oms_host_ip") {
		t.Fatalf("missing oms_host_ip = %+v", r)
	}
}

func TestWaitOnlineMetaDB(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, time.Minute)
	m := WaitOnline{}
	port := healthServer(t, func(int64) bool { return true })
	cm := testDB(t, db, "cm")
	hb1 := testDB(t, db, "hb1")
	hb2 := testDB(t, db, "hb2")
	for _, s := range []string{
		"CREATE TABLE " + quoteIdent(cm) + ".host(ip varchar(64) primary key, region varchar(64), host_status varchar(16), version varchar(32), gmt_modified datetime(3))",
		"CREATE TABLE " + quoteIdent(hb1) + ".heart_beat(host_ip varchar(64) primary key, gmt_modified datetime(3))",
		// The real table has several rows per host, one per task_type and task_name.
		"CREATE TABLE " + quoteIdent(hb2) + ".heart_beat(id bigint auto_increment primary key, host_ip varchar(64), task_type varchar(32), task_name varchar(64), gmt_modified datetime(3), UNIQUE KEY (host_ip, task_type, task_name))",
		"INSERT INTO " + quoteIdent(cm) + ".host VALUES ('127.0.0.31','hangzhou','ONLINE','4.2.3',NOW(3))",
		"INSERT INTO " + quoteIdent(hb2) + ".heart_beat(host_ip, task_type, task_name, gmt_modified) VALUES ('127.0.0.31', 'STORE', 'store-1', NOW(3) - INTERVAL 300 SECOND), ('127.0.0.31', 'SUPERVISOR', 'supervisor', NOW(3) - INTERVAL 100 SECOND)",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	oh := newTestHost(t)
	args := coerceArgs(t, m, map[string]any{"metadb": metadb, "cm_db": cm, "heartbeat_dbs": []any{hb1, hb2},
		"nodes": []any{map[string]any{"name": "oms-hz-1", "ip": "127.0.0.31", "port": port}}, "timeout": "1s", "interval": "200ms"})
	r, err := m.Apply(ctx, oh.Host, args)
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "oms-hz-1 (127.0.0.31): heartbeat 10") || !strings.Contains(r.Msg, "s old (max 30s)") {
		t.Fatalf("stale heartbeat = %+v, %v", r, err)
	}
	// The supervisor beats again; a component's row stays old (the host's newest row counts).
	if _, err := db.Exec("UPDATE " + quoteIdent(hb2) + ".heart_beat SET gmt_modified = NOW(3) WHERE task_type = 'SUPERVISOR'"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE " + quoteIdent(cm) + ".host SET host_status = 'OFFLINE'"); err != nil {
		t.Fatal(err)
	}
	if r, _ = m.Check(ctx, oh.Host, args); r.Failed || !strings.Contains(r.Msg, "host_status OFFLINE") {
		t.Fatalf("offline host = %+v", r)
	}
	if _, err := db.Exec("UPDATE " + quoteIdent(cm) + ".host SET host_status = 'ONLINE'"); err != nil {
		t.Fatal(err)
	}
	r, err = m.Apply(ctx, oh.Host, args)
	if err != nil || r.Failed || r.Data["online"] != true {
		t.Fatalf("online = %+v, %v", r, err)
	}
	n := r.Data["nodes"].([]any)[0].(map[string]any)
	if n["host_status"] != "ONLINE" || n["heartbeat_age"].(float64) > 30 || n["healthy"] != true {
		t.Fatalf("node facts = %v", n)
	}
}
