package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab"
)

// TestUpgrade422StopsSafelyAndResumes injects the faults an operator meets, one run each:
// init fails in one region; a node never comes Online; a node's sshd is down after the old
// containers were stopped. Each run must stop with exit 2 or 4, drop no database, leave the
// backup verified, and say what to do next. Once the fault is cleared, the same upgrade runs
// again to the end, without running init twice in a region.
func TestUpgrade422StopsSafelyAndResumes(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2efault", FirstIP: "127.0.0.61", Regions: lab.DefaultRegions()})
	shanghai := l.RegionNodes("shanghai")[0].Name
	hz2 := l.RegionNodes("hangzhou")[1].Name
	databasesExist := func() {
		t.Helper()
		for _, db := range l.DB.All() {
			if got := queryString(t, l, "", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db); got != "1" {
				t.Errorf("database %s was dropped", db)
			}
		}
	}
	saysWhatNext := func(r run) {
		t.Helper()
		if !strings.Contains(r.output, "rollback-423-to-422.yml") || !strings.Contains(r.output, "--start-at-task") {
			t.Errorf("the failure does not say how to continue (--start-at-task) and how to roll back (rollback-423-to-422.yml)")
		}
	}

	// 1. docker_init.sh fails in the shanghai region. (oms-hz-2 is also set never to come
	// Online: the fault holds a container at start-up, so it is switched on before the new
	// containers start; it shows in run 2.)
	if err := l.SetFault(shanghai, "init-fails", "1"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetFault(hz2, "never-healthy", "1"); err != nil {
		t.Fatal(err)
	}
	r := omsbook(t, l, "run", upgrade422, "-e", "online_timeout_s=30")
	if r.code != 2 {
		t.Fatalf("init fault: exit %d, want 2", r.code)
	}
	saysWhatNext(r)
	databasesExist()
	verifyBackup(t, backupDir(l), l.DB.All())
	if err := l.ClearFault(shanghai, "init-fails"); err != nil {
		t.Fatal(err)
	}

	// 2. A node never comes Online: the wait names it.
	r = omsbook(t, l, "run", upgrade422, "-e", "online_timeout_s=20")
	if r.code != 2 {
		t.Fatalf("never-healthy fault: exit %d, want 2", r.code)
	}
	if !strings.Contains(r.output, hz2) {
		t.Errorf("the wait for Online does not name %s", hz2)
	}
	saysWhatNext(r)
	databasesExist()
	verifyBackup(t, backupDir(l), l.DB.All())
	if err := l.ClearFault(hz2, "never-healthy"); err != nil {
		t.Fatal(err)
	}

	// 3. A node's sshd is down (the old containers are already stopped by now).
	if err := l.StopSSH(shanghai); err != nil {
		t.Fatal(err)
	}
	r = omsbook(t, l, "run", upgrade422)
	if r.code != 2 && r.code != 4 {
		t.Fatalf("sshd down: exit %d, want 2 or 4", r.code)
	}
	if !strings.Contains(r.output, shanghai) || !strings.Contains(r.output, "unreachable") {
		t.Errorf("the failure does not say that %s is unreachable", shanghai)
	}
	databasesExist()
	verifyBackup(t, backupDir(l), l.DB.All())
	if err := l.StartSSH(t.Context(), shanghai); err != nil {
		t.Fatal(err)
	}

	// Cleared: the same upgrade finishes, and init ran once per region in all.
	r = omsbook(t, l, "run", upgrade422)
	if r.code != 0 {
		t.Fatalf("the upgrade after clearing the faults: exit %d, want 0", r.code)
	}
	waitHealthy(t, l, "4.2.3", 0)
	initOncePerRegion(t, l)
}

// TestUpgrade422MetaDBRestartedAndSSHDLost: the MetaDB (a MariaDB server of the lab's own) is
// restarted in the middle of U422-04: the dump fails verification and nothing destructive
// follows. The rerun loses a node's sshd during U422-07: exit 4 naming the node, the other
// nodes stop safely. Once sshd is back, --resume completes with init once per region.
func TestUpgrade422MetaDBRestartedAndSSHDLost(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2ecut", FirstIP: "127.0.0.71", Regions: lab.DefaultRegions(), OwnMetaDBPort: 3317})
	hz2 := l.RegionNodes("hangzhou")[1].Name
	db, err := l.OpenDB(t.Context(), l.DB.RM)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A table large enough that its dump takes a while (an operator's MetaDB holds years of rows).
	for _, q := range []string{
		"CREATE TABLE omsbook_test_bulk (id bigint PRIMARY KEY, pad varchar(255))",
		"INSERT INTO omsbook_test_bulk SELECT seq, REPEAT('x', 250) FROM seq_1_to_200000",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cutDump := func(*exec.Cmd) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var id int64
			err := db.QueryRowContext(t.Context(), "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND DB = ? AND COMMAND = 'Query' AND INFO LIKE '%omsbook_test_bulk%' LIMIT 1", l.DB.RM).Scan(&id)
			if err == nil {
				t.Logf("the dump runs on connection %d: restarting the MetaDB", id)
				if err := l.RestartMetaDB(t.Context()); err != nil {
					t.Errorf("restart the MetaDB: %v", err)
				}
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("the dump of %s never reached omsbook_test_bulk", l.DB.RM)
	}
	r, acted := omsbookAt(t, l, "TASK [U422-04 back up", 0, cutDump, "run", upgrade422)
	if !acted || r.code != 2 {
		t.Fatalf("MetaDB restarted during the backup: exit %d (restarted: %t), want 2", r.code, acted)
	}
	if strings.Contains(r.output, "TASK [U422-05") || strings.Contains(r.output, "TASK [U422-07") {
		t.Errorf("the run went on after the backup failed")
	}
	for _, n := range l.Nodes {
		if got := inspect(t.Context(), n.NewContainer); got != "" && !strings.Contains(got, "absent") {
			t.Errorf("%s: a new container exists after the failed backup: %s", n.Name, got)
		}
		if got := inspect(t.Context(), n.OldContainer); !strings.Contains(got, "exited") {
			t.Errorf("%s: the old container must be kept, stopped: %s", n.Name, got)
		}
	}

	// The rerun makes the backup; a node's sshd dies while the new containers start.
	r, acted = omsbookAt(t, l, "TASK [U422-07 start the new container", 0, func(*exec.Cmd) {
		if err := l.StopSSH(hz2); err != nil {
			t.Error(err)
		}
	}, "run", upgrade422)
	if !acted || r.code != 4 {
		t.Fatalf("sshd lost during U422-07: exit %d (stopped: %t), want 4", r.code, acted)
	}
	if !strings.Contains(r.output, hz2) || !strings.Contains(r.output, "--resume") {
		t.Errorf("the failure does not name %s or say how to resume", hz2)
	}
	verifyBackup(t, backupDir(l), l.DB.All())
	if err := l.StartSSH(t.Context(), hz2); err != nil {
		t.Fatal(err)
	}
	if r = omsbook(t, l, "run", upgrade422, "--resume", "last"); r.code != 0 {
		t.Fatalf("--resume after sshd came back: exit %d, want 0", r.code)
	}
	waitHealthy(t, l, "4.2.3", 0)
	initOncePerRegion(t, l)
}
