package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/lab"
)

const (
	upgrade410  = "playbooks/upgrade-410-to-423.yml"
	rollback410 = "playbooks/rollback-423-to-410.yml"
)

// TestUpgrade410ThenRollback runs the V4.1.0 path: --check, the upgrade (the interactive deploy
// script answered through expect), --check of the rollback, the rollback; afterwards every
// node is back on V4.1.0 and config.yaml equals the config_copy.yaml the deploy script kept.
func TestUpgrade410ThenRollback(t *testing.T) {
	t.Run("default profile", func(t *testing.T) {
		upgrade410ThenRollback(t, lab.Config{Name: "e2e410", FirstIP: "127.0.0.47", Regions: lab.DefaultRegions(), StartVersion: "4.1.0"})
	})
	// The strict profile serves only confirmed behaviour: the deploy script refuses -n and
	// names its container itself, health says only healthy, the console takes its time.
	t.Run("strict profile", func(t *testing.T) {
		upgrade410ThenRollback(t, lab.Config{Name: "e2e410s", FirstIP: "127.0.10.21", Regions: lab.DefaultRegions(), StartVersion: "4.1.0", Profile: "strict"})
	})
}

func upgrade410ThenRollback(t *testing.T, cfg lab.Config) {
	l := upLab(t, cfg)
	before := takeSnapshot(t, l)

	r := omsbook(t, l, "run", upgrade410, "--check")
	if r.code != 0 {
		t.Fatalf("--check of the V4.1.0 upgrade: exit %d, want 0", r.code)
	}
	if d := diffSnapshots(before, takeSnapshot(t, l)); len(d) > 0 {
		t.Fatalf("--check changed the lab:\n%s", strings.Join(d, "\n"))
	}

	r = omsbook(t, l, "run", upgrade410)
	if r.code != 0 {
		t.Fatalf("V4.1.0 upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "U410-04 run the deploy script", "U410-05 run docker_oms_ce_version_upgrade.sh")
	waitHealthy(t, l, "4.2.3", 0)

	upgraded := takeSnapshot(t, l)
	r = omsbook(t, l, "run", rollback410, "--check")
	if r.code != 0 {
		t.Fatalf("--check of the V4.1.0 rollback: exit %d, want 0", r.code)
	}
	if d := diffSnapshots(upgraded, takeSnapshot(t, l)); len(d) > 0 {
		t.Fatalf("--check of the rollback changed the lab:\n%s", strings.Join(d, "\n"))
	}

	r = omsbook(t, l, "run", rollback410)
	if r.code != 0 {
		t.Fatalf("V4.1.0 rollback: exit %d, want 0", r.code)
	}
	waitHealthy(t, l, "4.1.0", 0)
	// The version scripts ran in every node's container, once each way.
	upgrades, rollbacks := scriptRuns(t, l, "4.2.3"), scriptRuns(t, l, "4.1.0")
	for _, n := range l.Nodes {
		if upgrades[n.IP] != 1 || rollbacks[n.IP] != 1 {
			t.Errorf("%s: the upgrade script succeeded %d times and the rollback script %d times, want once each on every node", n.Name, upgrades[n.IP], rollbacks[n.IP])
		}
	}
	for _, n := range l.Nodes {
		if got := deployedContainers(t.Context(), t, n); len(got) != 0 {
			t.Errorf("%s: the V4.2.3 container must be removed: %v", n.Name, got)
		}
		work := latestRetired(t, n.MountDir+"-410-to-423")
		copyYAML, err := os.ReadFile(filepath.Join(work, "config_copy.yaml"))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		config, err := os.ReadFile(n.ConfigFile)
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if !bytes.Equal(copyYAML, config) {
			t.Errorf("%s: config.yaml differs from config_copy.yaml", n.Name)
		}
	}
}

// latestRetired finds the working directory the rollback retired (dir.rolled-back-<time>).
func latestRetired(t *testing.T, dir string) string {
	t.Helper()
	matches, _ := filepath.Glob(dir + ".rolled-back-*")
	if len(matches) == 0 {
		t.Fatalf("the rollback did not retire %s", dir)
	}
	return matches[len(matches)-1]
}
