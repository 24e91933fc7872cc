package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab"
	"github.com/omsbook/omsbook/lab/omssim"
)

// TestUpgrade422KilledAtEveryStep runs the upgrade on the strict simulator profile and kills
// the controller (SIGKILL) at every step of U422 in turn, each time going on with a plain rerun
// or with --resume. docker_init.sh must never run twice: when the controller died while init
// ran, the rerun stops and asks, and goes on once the operator recorded the outcome as the
// message says. A second upgrade started meanwhile is refused before it touches anything. The
// rollback is then killed during its restore and run again: the MetaDB ends as it was before
// the upgrade, restored from the verified backup.
func TestUpgrade422KilledAtEveryStep(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2ekill", FirstIP: "127.0.0.91", Regions: lab.DefaultRegions(), Profile: "strict"})
	setHAConfig(t, l, map[string]any{"enable": true})
	// docker_init.sh takes a few seconds, as a real one takes minutes: the kill lands while it runs.
	for _, r := range l.Regions {
		if err := l.SetFault(l.RegionNodes(r.Name)[0].Name, "slow-init", "3"); err != nil {
			t.Fatal(err)
		}
	}
	before := takeSnapshot(t, l)
	haBefore := haConfig(t, l)
	initSuccesses := func() map[string]int {
		return queryInts(t, l, l.DB.CM, "SELECT region, COUNT(*) FROM init_record WHERE result = 'SUCCESS' GROUP BY region")
	}
	steps := []struct {
		marker string
		delay  time.Duration
	}{
		{"TASK [U422-01 set ha.config enable=false", 0},
		{"TASK [U422-02 stop the old container", 2 * time.Second}, // mid docker stop (the strict profile takes Docker's 10 s)
		{"TASK [U422-03 purge", 0},
		{"TASK [U422-04 back up", 100 * time.Millisecond},
		{"TASK [U422-05 load the V4.2.3 image", 0},
		{"TASK [U422-07 start the new container", 100 * time.Millisecond},
		{"TASK [U422-08 wait until the new container is ready", 500 * time.Millisecond},
		{"TASK [U422-08 run bash /root/docker_init.sh in the new container", time.Second}, // init is running (slow-init)
		{"TASK [U422-10 wait until every server is Online", 100 * time.Millisecond},
		{"TASK [U422-11", 0},
		{"TASK [U422-12 remind", 0},
	}
	secondRefused := false
	questions, kills := 0, 0
	finished := false
	for i, attempts := 0, 0; i < len(steps) && !finished; attempts++ {
		step := steps[i]
		if attempts > 2*len(steps) {
			t.Fatalf("step %q: too many attempts", step.marker)
		}
		args := []string{"run", upgrade422}
		if attempts%2 == 1 {
			args = append(args, "--resume", "last")
		}
		act := sigkill
		if !secondRefused && strings.Contains(step.marker, "U422-03") {
			act = func(cmd *exec.Cmd) {
				r := omsbook(t, l, "run", upgrade422)
				if r.code == 0 || !strings.Contains(r.output, "lock") {
					t.Errorf("a second upgrade while one runs: exit %d; want it refused, naming the lock's holder", r.code)
				}
				secondRefused = true
				sigkill(cmd)
			}
		}
		r, killed := omsbookAt(t, l, step.marker, step.delay, act, args...)
		switch {
		case killed:
			kills++
			i++
		case strings.Contains(r.output, "may already have run"):
			// The controller died while init ran: the rerun stops and asks. The operator reads
			// the outcome (here: init_record) and records it as the message says.
			questions++
			answerInitQuestion(t, l, initSuccesses)
		case r.code == 0:
			// The kill before came later than its step (a fast step ran on), and the resumed run
			// had no task left at this marker: the upgrade is through.
			t.Logf("step %q: the run finished before it reached it", step.marker)
			finished = true
		default:
			t.Fatalf("step %q: exit %d without being killed", step.marker, r.code)
		}
	}
	if kills < len(steps)-3 {
		t.Errorf("the controller was killed only %d times over %d steps", kills, len(steps))
	}
	if questions == 0 {
		t.Errorf("no rerun asked about docker_init.sh, though the controller was killed while it ran")
	}
	if !secondRefused {
		t.Errorf("the second concurrent upgrade was never tried")
	}
	r := omsbook(t, l, "run", upgrade422, "--resume", "last")
	for tries := 0; r.code != 0 && strings.Contains(r.output, "may already have run") && tries < 2; tries++ {
		answerInitQuestion(t, l, initSuccesses)
		r = omsbook(t, l, "run", upgrade422)
	}
	if r.code != 0 {
		t.Fatalf("the upgrade after the kills: exit %d, want 0", r.code)
	}
	for _, region := range l.Regions {
		if got := initSuccesses()[region.Name]; got != 1 {
			t.Errorf("docker_init.sh succeeded %d times in region %s, want exactly once", got, region.Name)
		}
	}
	verifyBackup(t, backupDir(l), l.DB.All())

	// The rollback, killed while it restores, then run again.
	if _, killed := omsbookAt(t, l, "TASK [R422-03 R422-04 drop, create and restore", 300*time.Millisecond, sigkill, "run", rollback422); !killed {
		t.Fatalf("the rollback ended before the restore")
	}
	if r := omsbook(t, l, "run", rollback422); r.code != 0 {
		t.Fatalf("the rollback after a kill during the restore: exit %d, want 0", r.code)
	}
	after := takeSnapshot(t, l)
	for table, sum := range before.tables {
		if !strings.HasSuffix(table, ".oms_normal_config") && after.tables[table] != sum {
			t.Errorf("table %s: checksum %d after the rollback, %d before the upgrade", table, after.tables[table], sum)
		}
	}
	if ha := haConfig(t, l); !reflect.DeepEqual(ha, haBefore) {
		t.Errorf("ha.config after the rollback: %v, want %v", ha, haBefore)
	}
}

// answerInitQuestion does what the stopped run asks of the operator: for every node whose
// init started but was not recorded, wait until init is over, then touch .done when it
// succeeded in the node's region, or remove .started when it did not run.
func answerInitQuestion(t *testing.T, l *lab.Lab, successes func() map[string]int) {
	t.Helper()
	dir := backupDir(l)
	started, _ := filepath.Glob(filepath.Join(dir, "docker_init.*.started"))
	deadline := time.Now().Add(2 * time.Minute)
	for _, s := range started {
		host := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "docker_init."), ".started")
		done := strings.TrimSuffix(s, ".started") + ".done"
		if _, err := os.Stat(done); err == nil {
			continue
		}
		var node *lab.Node
		for _, n := range l.Nodes {
			if n.Name == host {
				node = n
			}
		}
		region := node.Region
		// Did init start? Its docker_init log under the node's logs mount says so [guide].
		startedAt := time.Time{}
		if fi, err := os.Stat(s); err == nil {
			startedAt = fi.ModTime()
		}
		ran := func() bool {
			logs, _ := omssim.InitLogs(filepath.Join(node.MountDir, "logs"))
			for _, lg := range logs {
				if fi, err := os.Stat(lg); err == nil && !fi.ModTime().Before(startedAt.Truncate(time.Second)) {
					return true
				}
			}
			return false
		}
		for i := 0; i < 10 && !ran(); i++ {
			time.Sleep(500 * time.Millisecond)
		}
		if ran() {
			for successes()[region] == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Second)
			}
		}
		if successes()[region] > 0 {
			if err := os.WriteFile(done, []byte("recorded by the operator after reading the docker_init log\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Remove(s); err != nil {
			t.Fatal(err)
		}
	}
}
