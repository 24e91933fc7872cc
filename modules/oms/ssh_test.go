package oms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/sshd"
	"github.com/omsbook/omsbook/transport"
)

// TestOMSModulesOverSSH runs the docker and mysqldump modules on a real sshd node (127.0.0.32,
// this package's address), so every command goes through the ssh transport's quoting, sftp
// puts and gets, and one reused connection.
func TestOMSModulesOverSSH(t *testing.T) {
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "no sshd test nodes: %v", err)
	}
	needDocker(t)
	db, metadb := openDB(t)
	ctx := testCtx(t, 3*time.Minute)
	cluster, err := sshd.Start(ctx, sshd.Config{Dir: t.TempDir(), Addrs: []string{"127.0.0.32"}, Port: 2232, NamePrefix: "oms-mod-"})
	if err != nil {
		testutil.SkipOrFail(t, "start an sshd node on 127.0.0.32:2232: %v", err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	conn, err := transport.DialSSH(ctx, transport.Spec{Name: "oms-mod-1", Address: "127.0.0.32", Port: 2232, User: "root",
		KnownHosts: cluster.KnownHosts, SSHKey: cluster.ClientKey, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial the node: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	oh := newTestHost(t)
	oh.Name, oh.Conn = "oms-mod-1", conn

	// docker_container: run, probe again (ok), exec with live output, copy in, stop.
	dc := DockerContainer{}
	name := testContainerName(t, "ssh")
	run := coerceArgs(t, dc, map[string]any{"name": name, "state": "started", "image": testImage, "command": "sleep 3600",
		"env": map[string]any{"OMS_HOST_IP": "127.0.0.32", "NOTE": "it's a \"quoted\" $value", "OMS_META_PASSWORD": "ssh-env-secret-32"}})
	for i, want := range []bool{true, false} {
		r, err := dc.Apply(ctx, oh.Host, run)
		if err != nil || r.Failed || r.Changed != want {
			t.Fatalf("run %d over ssh = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	r, err := dc.Apply(ctx, oh.Host, coerceArgs(t, dc, map[string]any{"name": name, "exec": `echo "$NOTE"; echo to-stderr >&2`}))
	if err != nil || r.Failed || r.Data["stdout"] != `it's a "quoted" $value` || r.Data["stderr"] != "to-stderr" {
		t.Fatalf("exec over ssh = %+v, %v", r, err)
	}
	// The secret env values came through a pipe over the SSH channel, for run and for exec.
	r, err = dc.Apply(ctx, oh.Host, coerceArgs(t, dc, map[string]any{"name": name, "exec": `echo "$OMS_META_PASSWORD $EXEC_TOKEN"`,
		"env": map[string]any{"EXEC_TOKEN": "ssh-exec-secret"}}))
	if err != nil || r.Failed || r.Data["stdout"] != "ssh-env-secret-32 ssh-exec-secret" {
		t.Fatalf("exec with a secret env over ssh = %+v, %v", r, err)
	}
	src := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(src, []byte("cm_nodes: [127.0.0.32]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cp := coerceArgs(t, dc, map[string]any{"name": name, "copy_to": "/home/admin/conf/config.yaml", "src": src})
	for i, want := range []bool{true, false} {
		if r, err = dc.Apply(ctx, oh.Host, cp); err != nil || r.Failed || r.Changed != want {
			t.Fatalf("copy_to %d over ssh = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	if r, err = dc.Apply(ctx, oh.Host, coerceArgs(t, dc, map[string]any{"name": name, "state": "stopped", "stop_timeout": 1})); err != nil || !r.Changed {
		t.Fatalf("stop over ssh = %+v, %v", r, err)
	}

	// mysqldump executing on the node: options through a pipe over the SSH channel, dump streamed
	// to the node's disk, then restored from it there.
	rm := testDB(t, db, "rm")
	seedDumpDB(t, db, rm, 6)
	dir := filepath.Join(t.TempDir(), "backup")
	md := MySQLDump{}
	dump := coerceArgs(t, md, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir})
	for i, want := range []bool{true, false} {
		if r, err = md.Apply(ctx, oh.Host, dump); err != nil || r.Failed || r.Changed != want {
			t.Fatalf("dump %d over ssh = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	if e := r.Data["dumps"].([]any)[0].(map[string]any); e["sha256"] != fileSHA(t, filepath.Join(dir, rm+".sql")) {
		t.Fatalf("dump over ssh: manifest %v does not match the file", e)
	}
	restore := coerceArgs(t, md, map[string]any{"metadb": metadb, "databases": []any{rm}, "dest_dir": dir, "state": "restored"})
	if r, err = md.Apply(ctx, oh.Host, restore); err != nil || r.Failed || !r.Changed {
		t.Fatalf("restore over ssh = %+v, %v", r, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cnf") {
			t.Fatalf("option file left on the node: %s", e.Name())
		}
	}
	if n := cluster.Connections(0); n != 1 {
		t.Errorf("the node serves %d connections; every probe should reuse one", n)
	}
}
