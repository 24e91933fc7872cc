package oms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/images"
	"github.com/omsbook/omsbook/lab/omssim/simtest"
	"github.com/omsbook/omsbook/modules"
)

// TestOMSModulesWithSimulator drives the lab's OMS simulator image with the modules: load its
// package, start two nodes as U422-07 does (127.0.0.33 healthy, 127.0.0.34 with the
// never-healthy fault), wait for them, read ha.config, and stop one node.
func TestOMSModulesWithSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds the simulator image (not in -short mode)")
	}
	needDocker(t)
	meta := simtest.NewMetaDB(t)
	ctx := testCtx(t, 5*time.Minute)
	built, err := images.Build(ctx, images.Options{StateDir: t.TempDir(), Versions: []string{"4.2.2"}})
	if err != nil {
		testutil.SkipOrFail(t, "build the simulator image: %v", err)
	}
	img := built.Image("4.2.2")
	for _, db := range []string{"rm", "cm", "hb1"} {
		meta.Exec(t, "CREATE DATABASE "+quoteIdent(meta.Name(db)))
	}
	oh := newTestHost(t)
	metadb := map[string]any{"host": meta.Server.Host, "port": meta.Server.Port, "user": meta.Server.User, "password": meta.Server.Password}

	// U422-05: the image is loaded already (Build loaded it), so loading its package is ok.
	di := DockerImage{}
	r, err := di.Apply(ctx, oh.Host, coerceArgs(t, di, map[string]any{"load": img.Package}))
	if err != nil || r.Failed || r.Changed {
		t.Fatalf("load the package of a present image = %+v, %v; want ok", r, err)
	}

	dc := DockerContainer{}
	start := func(ip, suffix string, env map[string]any) string {
		dir := t.TempDir()
		for _, d := range []string{"logs", "store", "run"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cfg := simtest.WriteConfig(t, dir, "config.yaml", meta.Config(simtest.ConfigOptions{Nodes: []string{"127.0.0.33", "127.0.0.34"}}))
		name := testContainerName(t, suffix)
		env["OMS_HOST_IP"] = ip
		args := coerceArgs(t, dc, map[string]any{"name": name, "state": "started", "image": img.Tag, "network_mode": "host",
			"binds": []any{cfg + ":/home/admin/conf/config.yaml", dir + "/logs:/home/admin/logs", dir + "/store:/home/ds/store", dir + "/run:/home/ds/run"},
			"env":   env, "pids_limit": -1, "ulimits": []any{"nproc=65535:65535"}, "tty": true, "interactive": true})
		for i, want := range []bool{true, false} {
			r, err := dc.Apply(ctx, oh.Host, args)
			if err != nil || r.Failed || r.Changed != want {
				t.Fatalf("start %s (run %d) = %+v, %v; want changed %v", name, i+1, r, err, want)
			}
		}
		return name
	}
	healthy := start("127.0.0.33", "sim-1", map[string]any{})

	wo := WaitOnline{}
	nodes := []any{map[string]any{"name": "oms-hz-1", "ip": "127.0.0.33"}}
	waitArgs := func(nodes []any, timeout string) modules.Args {
		return coerceArgs(t, wo, map[string]any{"nodes": nodes, "metadb": metadb, "cm_db": meta.Name("cm"),
			"heartbeat_dbs": []any{meta.Name("hb1")}, "timeout": timeout, "interval": "250ms"})
	}
	r, err = wo.Apply(ctx, oh.Host, waitArgs(nodes, "90s"))
	if err != nil || r.Failed {
		t.Fatalf("wait for the healthy node = %+v, %v", r, err)
	}
	if n := r.Data["nodes"].([]any)[0].(map[string]any); n["host_status"] != "ONLINE" || n["status"] != "running" {
		t.Fatalf("node facts = %v", n)
	}

	// The never-healthy fault: wait_online fails within its timeout and names the node.
	start("127.0.0.34", "sim-2", map[string]any{"OMSSIM_FAULT_NEVER_HEALTHY": "1"})
	nodes = append(nodes, map[string]any{"name": "oms-hz-2", "ip": "127.0.0.34"})
	began := time.Now()
	r, err = wo.Apply(ctx, oh.Host, waitArgs(nodes, "4s"))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "1 of 2 node(s) not Online: oms-hz-2 (127.0.0.34): health: healthy=false (status starting)") {
		t.Fatalf("never-healthy node = %+v, %v", r, err)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Fatalf("a 4s timeout took %s", took)
	}

	// ha.config as the simulator installed it.
	op := OMSParam{}
	r, err = op.Apply(ctx, oh.Host, coerceArgs(t, op, map[string]any{"metadb": metadb, "rm_db": meta.Name("rm")}))
	if err != nil || r.Failed || r.Data["value"].(map[string]any)["refetchStoreIntervalMin"] != 30 {
		t.Fatalf("read ha.config = %+v, %v", r, err)
	}

	// U422-02: stopping marks the host OFFLINE, which a check of wait_online reports.
	if r, err = dc.Apply(ctx, oh.Host, coerceArgs(t, dc, map[string]any{"name": healthy, "state": "stopped"})); err != nil || !r.Changed {
		t.Fatalf("stop = %+v, %v", r, err)
	}
	r, err = wo.Check(ctx, oh.Host, waitArgs(nodes[:1], "1s"))
	if err != nil || r.Failed || !strings.Contains(r.Msg, "host_status OFFLINE") {
		t.Fatalf("check after stop = %+v, %v", r, err)
	}
}
