package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/lab"
	"github.com/omsbook/omsbook/lab/images"
)

// deployedContainers lists the containers of the V4.2.3 image that mount a node's logs
// directory: the ones the V4.1.0 path's deploy script started there, whatever it named them.
func deployedContainers(ctx context.Context, t *testing.T, n *lab.Node) []string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--format", "{{.Names}} {{.State}}",
		"--filter", "ancestor="+images.Tag(lab.NewVersion), "--filter", "volume="+filepath.Join(n.MountDir, "logs")).CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	return strings.Fields(strings.TrimSpace(string(out)))
}

// mountingContainers names every container, in any state, that mounts dir.
func mountingContainers(ctx context.Context, dir string) []string {
	out, _ := exec.CommandContext(ctx, "docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "volume="+dir).Output()
	return strings.Fields(string(out))
}

// toolPrefix is the name prefix of a node's U410-03 throw-away containers (vars/oms.yml:
// u410_tool_prefix).
func toolPrefix(n *lab.Node) string {
	sum := sha256.Sum256([]byte(n.MountDir))
	return "oms-config-tool-" + n.Name + "-" + hex.EncodeToString(sum[:])[:8] + "-"
}

func containerExists(ctx context.Context, name string) bool {
	return exec.CommandContext(ctx, "docker", "container", "inspect", name).Run() == nil
}

// scriptRuns counts the successful script runs per node that brought the MetaDB to version
// to, from the simulator's record of every script run (cm.init_record). In a lab deployed at
// V4.1.0, the runs to 4.2.3 are those of docker_oms_ce_version_upgrade.sh (docker_init.sh is
// not run on this path).
func scriptRuns(t *testing.T, l *lab.Lab, to string) map[string]int {
	t.Helper()
	return queryInts(t, l, l.DB.CM, "SELECT node_ip, COUNT(*) FROM init_record WHERE result = 'SUCCESS' AND to_version = ? GROUP BY node_ip", to)
}

// TestU410BackupThenR410OffersRestore runs the V4.1.0 path with its MetaDB backup: the upgrade
// backs the MetaDB up and verifies it before the deploy script runs, calls the script with the
// guide's options only, finds the container it started, runs the version script in every
// node's container, and removes a killed run's throw-away container (but not another
// deployment's). Then the vendor's rollback script fails (fault init-fails): the rollback
// stops, exit 2, naming the verified backup and -e r410_restore_metadb=true; the rerun with it
// restores instead, and the MetaDB ends as it was before the upgrade.
func TestU410BackupThenR410OffersRestore(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2e410fid", FirstIP: "127.0.10.1", Regions: lab.DefaultRegions(), StartVersion: "4.1.0"})
	ctx := t.Context()
	first := l.Nodes[0]

	// A killed run's throw-away container of the first node, and one of another deployment on
	// this engine whose node has the same name (its mount directory differs).
	oldImage := images.Tag(lab.Version410)
	leftover := toolPrefix(first) + "deadbeef"
	other := "oms-config-tool-" + first.Name + "-00000000-deadbeef"
	for _, name := range []string{leftover, other} {
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
		if out, err := exec.CommandContext(ctx, "docker", "create", "--name", name, oldImage).CombinedOutput(); err != nil {
			t.Fatalf("docker create %s: %v: %s", name, err, out)
		}
	}

	before := takeSnapshot(t, l)
	r := omsbook(t, l, "run", upgrade410)
	if r.code != 0 {
		t.Fatalf("V4.1.0 upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "U410-02 back up rm, cm and every region's heartbeat database", "MetaDB backup verified in "+backupDir(l))
	waitHealthy(t, l, "4.2.3", 0)
	verifyBackup(t, backupDir(l), l.DB.All())

	// The guide's options only: no -n, so the deploy script named each container itself.
	if j := journals(t, l); !strings.Contains(j, "docker_remote_deploy_410_up_423_version.sh -o ") || strings.Contains(j, "-d "+images.Tag(lab.NewVersion)+" -n") {
		t.Errorf("the deploy script was called with -n, an option the guide does not give")
	}
	for _, n := range l.Nodes {
		if got := deployedContainers(ctx, t, n); len(got) != 2 || got[1] != "running" {
			t.Errorf("%s: containers of the V4.2.3 image on its mounts: %v, want one running", n.Name, got)
		}
	}
	// The version script ran in every node's container, once.
	runs := scriptRuns(t, l, "4.2.3")
	for _, n := range l.Nodes {
		if runs[n.IP] != 1 {
			t.Errorf("docker_oms_ce_version_upgrade.sh succeeded %d times on %s (%s), want once on every node", runs[n.IP], n.Name, n.IP)
		}
	}
	// Throw-away containers: this run's are gone, and so is the killed run's; the other
	// deployment's is left alone.
	for _, n := range l.Nodes {
		out, _ := exec.CommandContext(ctx, "docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=^/"+toolPrefix(n)).Output()
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("%s: throw-away containers left: %s", n.Name, s)
		}
	}
	if !containerExists(ctx, other) {
		t.Errorf("the throw-away container of another deployment (%s) was removed", other)
	}

	// The vendor's rollback script fails on the first node.
	if err := l.SetFault(first.Name, "init-fails", "1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.ClearFault(first.Name, "init-fails") })
	rollbacksBefore := scriptRuns(t, l, "4.1.0")
	r = omsbook(t, l, "run", rollback410)
	if r.code != 2 {
		t.Fatalf("R410 with a failing vendor rollback script: exit %d, want 2", r.code)
	}
	mustContain(t, r, "docker_oms_ce_version_roll_back.sh failed",
		"The MetaDB backup made before the upgrade is verified in "+backupDir(l),
		"-e r410_restore_metadb=true", "PRE every dump of the backup matches its recorded checksum")
	// The vendor's rollback script ran in every node's container: it failed on the first node
	// only.
	rollbacks := scriptRuns(t, l, "4.1.0")
	for _, n := range l.Nodes {
		want := 1
		if n == first {
			want = 0
		}
		if got := rollbacks[n.IP] - rollbacksBefore[n.IP]; got != want {
			t.Errorf("docker_oms_ce_version_roll_back.sh succeeded %d times on %s, want %d", got, n.Name, want)
		}
		if got := deployedContainers(ctx, t, n); len(got) != 2 {
			t.Errorf("%s: the stopped rollback must leave the V4.2.3 container: %v", n.Name, got)
		}
	}

	// The rerun with the variable restores from the backup (the fault stays on: the vendor's
	// script is not run) and goes on with the container steps.
	r = omsbook(t, l, "run", rollback410, "-e", "r410_restore_metadb=true")
	if r.code != 0 {
		t.Fatalf("R410 restoring the backup: exit %d, want 0", r.code)
	}
	mustContain(t, r, "R410-01 keep the V4.2.3 MetaDB before it is dropped", "R410-01 drop, create and restore")
	waitHealthy(t, l, "4.1.0", 0)
	after := takeSnapshot(t, l)
	for table, sum := range before.tables {
		if after.tables[table] != sum {
			t.Errorf("table %s: checksum %d after the restore, %d before the upgrade", table, after.tables[table], sum)
		}
	}
	for table := range after.tables {
		if _, ok := before.tables[table]; !ok {
			t.Errorf("table %s exists after the restore but did not before the upgrade", table)
		}
	}
	retired := latestRetired(t, backupDir(l))
	verifyBackup(t, filepath.Join(retired, "before-rollback"), l.DB.All())
	for _, n := range l.Nodes {
		if got := deployedContainers(ctx, t, n); len(got) != 0 {
			t.Errorf("%s: the V4.2.3 container must be removed: %v", n.Name, got)
		}
		if got := inspect(ctx, n.OldContainer); !strings.Contains(got, "running") {
			t.Errorf("%s: the V4.1.0 container must run again: %s", n.Name, got)
		}
	}
}

// TestU410UnknownPrompt: the deploy script asks a question no prompts entry answers
// (here the SSL question, left out of the u410_prompts an operator gives with -e @FILE): the
// run stops, names the question, shows the transcript so far and says where to add the entry.
// With the entry added through u410_prompts_extra the same upgrade finishes; with
// u410_scripts_once_per_region the version script runs on each region's first node only.
func TestU410UnknownPrompt(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2e410ask", FirstIP: "127.0.10.11", Regions: lab.DefaultRegions(), StartVersion: "4.1.0"})
	raw, err := os.ReadFile(filepath.Join(repoRoot, "playbooks/vars/u410-prompts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var prompts struct {
		Prompts map[string]string `yaml:"u410_prompts"`
	}
	if err := yaml.Unmarshal(raw, &prompts); err != nil {
		t.Fatal(err)
	}
	const sslKey = `(?i)ssl certificate[^\n]*$`
	if _, ok := prompts.Prompts[sslKey]; !ok {
		t.Fatalf("playbooks/vars/u410-prompts.yml has no entry %q", sslKey)
	}
	delete(prompts.Prompts, sslKey)
	writeVars := func(name string, v any) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	without := writeVars("prompts.yml", map[string]any{"u410_prompts": prompts.Prompts})

	r := omsbook(t, l, "run", upgrade410, "-e", "@"+without)
	if r.code != 2 {
		t.Fatalf("upgrade with the SSL question unanswered: exit %d, want 2", r.code)
	}
	mustContain(t, r, "no answer for prompt: Mount an SSL certificate to the OMS container? [y/n]:",
		"add an entry for it to u410_prompts_extra", "playbooks/vars/u410-prompts.yml",
		"last output:", "Use OMS_IMAGE=")
	for _, n := range l.Nodes {
		if got := deployedContainers(t.Context(), t, n); len(got) != 0 {
			t.Errorf("%s: the stopped deploy left a container: %v", n.Name, got)
		}
	}

	extra := writeVars("extra.yml", map[string]any{"u410_prompts_extra": map[string]any{sslKey: "n"}, "u410_scripts_once_per_region": true})
	r = omsbook(t, l, "run", upgrade410, "-e", "@"+without, "-e", "@"+extra)
	if r.code != 0 {
		t.Fatalf("upgrade with the entry added in u410_prompts_extra: exit %d, want 0", r.code)
	}
	waitHealthy(t, l, "4.2.3", 0)

	// A rerun finds each node's V4.2.3 container and its marker: no second deploy, no second
	// script run.
	r = omsbook(t, l, "run", upgrade410, "-e", "@"+without, "-e", "@"+extra)
	if r.code != 0 {
		t.Fatalf("rerun of the finished upgrade: exit %d, want 0", r.code)
	}
	for _, line := range strings.Split(r.output, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "changed:") {
			t.Errorf("the rerun changed something: %s", line)
		}
	}
	runs := scriptRuns(t, l, "4.2.3")
	for _, region := range l.Regions {
		for i, n := range l.RegionNodes(region.Name) {
			if want := map[bool]int{true: 1, false: 0}[i == 0]; runs[n.IP] != want {
				t.Errorf("u410_scripts_once_per_region: docker_oms_ce_version_upgrade.sh succeeded %d times on %s, want %d", runs[n.IP], n.Name, want)
			}
		}
	}
}
