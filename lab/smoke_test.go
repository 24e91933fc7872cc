package lab

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/transport"
)

// smokeConfig is the smoke test's lab: instance "smoke" on 127.0.0.21..23 only, 2 regions and
// 3 nodes, so that it never meets the default lab (127.0.0.11..) or other tests.
func smokeConfig() Config {
	return Config{Name: "smoke", FirstIP: "127.0.0.21", Regions: DefaultRegions()}
}

// TestLabSmoke brings a real lab up and checks every part of it, then tears it down and
// checks that nothing of it is left.
func TestLabSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: brings up sshd, MariaDB and Docker containers (run without -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := Prerequisites(ctx, ""); err != nil {
		testutil.SkipOrFail(t, "lab prerequisites missing: %v", err)
	}

	start := time.Now()
	l, err := Up(ctx, smokeConfig())
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	upTook := time.Since(start)
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			if err := l.Down(context.Background()); err != nil {
				t.Errorf("cleanup Down: %v", err)
			}
		}
	})
	// Speed is measured in benchmarks, never asserted here; the log keeps the figure.
	t.Logf("lab up took %s", upTook)
	if len(l.Nodes) != 3 || len(l.Regions) != 2 {
		t.Fatalf("lab has %d nodes in %d regions, want 3 in 2", len(l.Nodes), len(l.Regions))
	}
	for _, n := range l.Nodes {
		if !strings.HasPrefix(n.IP, "127.0.0.2") {
			t.Fatalf("node %s on %s, outside the smoke test's 127.0.0.21..23", n.Name, n.IP)
		}
	}

	t.Run("ssh with verified host keys", func(t *testing.T) {
		for _, n := range l.Nodes {
			spec := transport.Spec{Name: n.Name, Address: n.IP, Port: l.SSHPort, User: "root",
				KnownHosts: l.KnownHosts, SSHKey: l.ClientKey, ConnectTimeout: 10 * time.Second}
			conn, err := transport.Dial(ctx, spec)
			if err != nil {
				t.Errorf("%s: dial: %v", n.Name, err)
				continue
			}
			res, err := conn.Exec(ctx, &transport.Cmd{Argv: []string{"docker", "inspect", "--format", "{{.State.Status}}", n.OldContainer}})
			conn.Close()
			if err != nil || res.RC != 0 || strings.TrimSpace(string(res.Stdout)) != "running" {
				t.Errorf("%s: docker inspect over ssh: err %v, result %+v", n.Name, err, res)
			}
			// The same node with a known_hosts that does not list it must be refused.
			empty := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(empty, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			spec.KnownHosts = empty
			if conn, err := transport.Dial(ctx, spec); err == nil {
				conn.Close()
				t.Errorf("%s: connected although known_hosts does not list its host key", n.Name)
			}
		}
	})

	t.Run("metadb answers with seeded content", func(t *testing.T) {
		db, err := l.OpenDB(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		plan := planSeed(l.Config.SeedRows, len(l.Regions))
		var projects, steps int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+l.DB.RM+"`.oms_project").Scan(&projects); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+l.DB.RM+"`.oms_project_step").Scan(&steps); err != nil {
			t.Fatal(err)
		}
		if projects != plan.Projects || steps != 3*plan.Projects {
			t.Errorf("seeded %d projects and %d steps, want %d and %d", projects, steps, plan.Projects, 3*plan.Projects)
		}
		for _, hb := range l.DB.Heartbeat {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+hb+"`.heatbeat_sequence").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n < plan.HeartbeatPerHBDB {
				t.Errorf("%s.heatbeat_sequence has %d rows, want at least %d", hb, n, plan.HeartbeatPerHBDB)
			}
		}
		sums, err := l.TableChecksums(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sums[l.DB.RM+".oms_project"] == 0 || sums[l.DB.RM+".oms_normal_config"] == 0 {
			t.Errorf("checksums lack the rm tables: %v", sums)
		}
	})

	t.Run("containers run and are healthy", func(t *testing.T) {
		for _, n := range l.Nodes {
			if st := containerState(ctx, n.OldContainer); st != "running" {
				t.Errorf("%s: container %s is %q", n.Name, n.OldContainer, st)
			}
			h, err := l.Health(ctx, n.Name)
			if err != nil || !h.Healthy || h.Version != l.Version {
				t.Errorf("%s: health %+v, %v; want healthy %s", n.Name, h, err, l.Version)
			}
		}
	})

	t.Run("hosts online and heartbeats advance", func(t *testing.T) {
		db, err := l.OpenDB(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, n := range l.Nodes {
			var status string
			if err := db.QueryRowContext(ctx, "SELECT host_status FROM `"+l.DB.CM+"`.host WHERE ip = ?", n.IP).Scan(&status); err != nil || status != "ONLINE" {
				t.Errorf("%s: cm host status %q, %v; want ONLINE", n.Name, status, err)
			}
		}
		beat := func(n *Node) time.Time {
			var at time.Time
			var raw string
			hb := l.Region(n.Region).HeartbeatDB
			if err := db.QueryRowContext(ctx, "SELECT CAST(gmt_modified AS CHAR) FROM `"+hb+"`.heart_beat WHERE host_ip = ?", n.IP).Scan(&raw); err != nil {
				t.Errorf("%s: no heartbeat row in %s: %v", n.Name, hb, err)
				return at
			}
			at, _ = time.Parse("2006-01-02 15:04:05.000", raw)
			return at
		}
		first := map[string]time.Time{}
		for _, n := range l.Nodes {
			first[n.Name] = beat(n)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, n := range l.Nodes {
			for !beat(n).After(first[n.Name]) {
				if time.Now().After(deadline) {
					t.Errorf("%s: heartbeat stuck at %s", n.Name, first[n.Name])
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	})

	t.Run("faults and ssh stop", func(t *testing.T) {
		n := l.Nodes[1]
		if err := l.SetFault(n.Name, "slow-start", "5"); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(n.MountDir, "run", "omssim-faults", "slow-start")); err != nil || string(b) != "5" {
			t.Errorf("fault file: %q, %v", b, err)
		}
		if err := l.ClearFault(n.Name, "slow-start"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(n.FaultPath("slow-start")); !os.IsNotExist(err) {
			t.Errorf("fault file still there after ClearFault: %v", err)
		}
		if err := l.StopSSH(n.Name); err != nil {
			t.Fatal(err)
		}
		addr := n.IP + ":2222"
		if listening(ctx, addr) {
			t.Errorf("%s still listening after StopSSH", addr)
		}
		if err := l.StartSSH(ctx, n.Name); err != nil {
			t.Fatal(err)
		}
		if !listening(ctx, addr) {
			t.Errorf("%s not listening after StartSSH", addr)
		}
	})

	t.Run("up again reuses the lab", func(t *testing.T) {
		again, err := Up(ctx, smokeConfig())
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range again.Nodes {
			if n.ContainerID != l.Nodes[i].ContainerID {
				t.Errorf("%s: container %s replaced by %s", n.Name, l.Nodes[i].ContainerID, n.ContainerID)
			}
		}
	})

	// Down from the state file, as `omslab down` in another process does.
	loaded, err := Load(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	downDone = true

	if ids, err := labContainers(ctx, l.Name); err != nil || len(ids) != 0 {
		t.Errorf("containers of the lab left: %v (%v)", ids, err)
	}
	for _, n := range l.Nodes {
		if st := containerState(ctx, n.OldContainer); st != "" {
			t.Errorf("container %s left, %s", n.OldContainer, st)
		}
		if n.SSHPid != 0 && pidRuns(n.SSHPid, n.SSHConfig) {
			t.Errorf("sshd of %s (pid %d) still runs", n.Name, n.SSHPid)
		}
	}
	if open := l.OpenPorts(ctx); len(open) != 0 {
		t.Errorf("still listening: %v", open)
	}
	db, err := l.OpenDB(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'smoke\\_%'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d databases of the smoke lab left", left)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("state directory %s left: %v", l.Dir, err)
	}
}

// TestLabUpFailureCleansUp makes one node's container fail (its health port is taken) and
// checks that Up says which and leaves nothing of the lab behind.
func TestLabUpFailureCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: brings up sshd, MariaDB and Docker containers (run without -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := Prerequisites(ctx, ""); err != nil {
		testutil.SkipOrFail(t, "lab prerequisites missing: %v", err)
	}
	cfg := smokeConfig()
	planned, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	victim := planned.Nodes[len(planned.Nodes)-1]
	// Taken: the simulator of the last node cannot serve /oms/health and exits.
	taken, err := net.Listen("tcp", net.JoinHostPort(victim.IP, "8089"))
	if err != nil {
		t.Fatalf("take %s:8089: %v", victim.IP, err)
	}
	defer taken.Close()

	l, err := Up(ctx, cfg)
	if err == nil {
		l.Down(ctx)
		t.Fatal("Up succeeded although a node's health port was taken")
	}
	if !strings.Contains(err.Error(), victim.OldContainer) {
		t.Errorf("Up's error does not name the failing container %s: %v", victim.OldContainer, err)
	}
	if ids, err := labContainers(ctx, cfg.Name); err != nil || len(ids) != 0 {
		t.Errorf("containers left after a failed Up: %v (%v)", ids, err)
	}
	taken.Close()
	if open := planned.OpenPorts(ctx); len(open) != 0 {
		t.Errorf("still listening after a failed Up: %v", open)
	}
	db, err := planned.OpenDB(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'smoke\\_%'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d databases of the failed lab left", left)
	}
	if _, err := os.Stat(planned.Dir); !os.IsNotExist(err) {
		t.Errorf("state directory %s left after a failed Up: %v", planned.Dir, err)
	}
}

// TestLabVariants brings up the other layouts the playbooks are proved on: a 4.1.0 lab with a
// config file per node, and a 4.2.2 lab without the oms_version table.
func TestLabVariants(t *testing.T) {
	t.Run("4.1.0 with per-node config", func(t *testing.T) {
		l := ForTest(t, Config{Name: "smokeold", FirstIP: "127.0.0.21", StartVersion: Version410, PerNodeConfig: true})
		ctx := context.Background()
		db, err := l.OpenDB(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if l.DB.RM != "smokeold_rm_410" {
			t.Errorf("rm database %s, want smokeold_rm_410", l.DB.RM)
		}
		if tables, err := tablesOf(ctx, db, l.DB.RM); err != nil || len(missingFrom([]string{"oms_version"}, tables)) == 0 {
			t.Errorf("4.1.0 rm tables %v (%v): want no oms_version", tables, err)
		}
		seen := map[string]bool{}
		for _, n := range l.Nodes {
			h, err := l.Health(ctx, n.Name)
			if err != nil || !h.Healthy || h.Version != Version410 {
				t.Errorf("%s: health %+v, %v; want healthy 4.1.0", n.Name, h, err)
			}
			binds, err := docker(ctx, "inspect", "--format", "{{json .HostConfig.Binds}}", n.OldContainer)
			if err != nil || !strings.Contains(binds, n.ConfigFile+":/home/admin/conf/config.yaml") {
				t.Errorf("%s: binds %s (%v) lack its own config %s", n.Name, binds, err, n.ConfigFile)
			}
			if seen[n.ConfigFile] {
				t.Errorf("%s shares config file %s with another node", n.Name, n.ConfigFile)
			}
			seen[n.ConfigFile] = true
		}
		inv, err := os.ReadFile(l.InventoryPath)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(inv), "shared_config: false") || strings.Count(string(inv), "          config_file: ") != len(l.Nodes) {
			t.Errorf("inventory does not give each node its config file:\n%s", inv)
		}
	})
	t.Run("4.2.2 without oms_version", func(t *testing.T) {
		l := ForTest(t, Config{Name: "smokenover", FirstIP: "127.0.0.21", WithoutOMSVersionTable: true,
			Regions: []Region{{Name: "hangzhou", Nodes: 1}}})
		ctx := context.Background()
		db, err := l.OpenDB(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The running simulator must not bring the table back.
		time.Sleep(2 * time.Second)
		if tables, err := tablesOf(ctx, db, l.DB.RM); err != nil || len(missingFrom([]string{"oms_version"}, tables)) == 0 {
			t.Errorf("rm tables %v (%v): want no oms_version", tables, err)
		}
		if h, err := l.Health(ctx, l.Nodes[0].Name); err != nil || !h.Healthy {
			t.Errorf("health %+v, %v; want healthy", h, err)
		}
	})
}
