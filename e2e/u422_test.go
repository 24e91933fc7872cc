package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/lab"
)

const (
	upgrade422  = "playbooks/upgrade-422-to-423.yml"
	rollback422 = "playbooks/rollback-423-to-422.yml"
)

// manifest is the part of the mysqldump module's MANIFEST.json the tests read.
type manifest struct {
	Dumps []struct {
		Database string `json:"db"`
		File     string `json:"file"`
		Size     int64  `json:"size"`
		SHA256   string `json:"sha256"`
	} `json:"dumps"`
}

// verifyBackup checks that backupDir holds one verified dump per database: the file exists,
// ends with the client's completion trailer, and its sha256 is the one recorded.
func verifyBackup(t *testing.T, backupDir string, databases []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(backupDir, "MANIFEST.json"))
	if err != nil {
		t.Fatalf("backup manifest: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("backup manifest: %v\n%s", err, raw)
	}
	recorded := map[string]string{}
	for _, d := range m.Dumps {
		recorded[d.Database] = d.SHA256
	}
	for _, db := range databases {
		path := filepath.Join(backupDir, db+".sql")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("dump of %s: %v", db, err)
			continue
		}
		if !strings.Contains(string(b[max(0, len(b)-200):]), "-- Dump completed") {
			t.Errorf("dump of %s lacks the completion trailer", db)
		}
		hashes := map[string]string{}
		hashTree(t, path, hashes)
		if got := strings.Fields(hashes[path])[1]; got != recorded[db] {
			t.Errorf("dump of %s: sha256 %s, manifest says %q", db, got, recorded[db])
		}
	}
}

func backupDir(l *lab.Lab) string {
	return filepath.Join(l.BackupRoot, "upgrade-"+l.Version+"-to-"+l.NewVersion)
}

// TestUpgrade422ThenRollback runs, on 2 regions / 3 nodes: --check of the upgrade (nothing
// changes), the upgrade, --check of the rollback, the rollback; and watches every process's
// argv and every output for the MetaDB password throughout.
func TestUpgrade422ThenRollback(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2e422", FirstIP: "127.0.0.41", Regions: lab.DefaultRegions()})
	// The operator runs with HA on (perceiveStoreClientCheckpoint false, the default): the
	// upgrade disables it and, at the end, puts back exactly what the operator had.
	setHAConfig(t, l, map[string]any{"enable": true})
	before := takeSnapshot(t, l)
	haBefore := haConfig(t, l)
	password := l.MetaDB.Password
	watch := watchArgv(password)
	var outputs []string
	defer func() {
		for _, out := range outputs {
			if strings.Contains(out, password) {
				t.Errorf("the MetaDB password appeared in omsbook's output")
			}
		}
	}()

	// --check reports what would change and changes nothing.
	r := omsbook(t, l, "run", upgrade422, "--check")
	outputs = append(outputs, r.output)
	if r.code != 0 {
		t.Fatalf("--check of the upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "U422-02 stop the old container", "U422-07 start the new container", "PLAY RECAP")
	if d := diffSnapshots(before, takeSnapshot(t, l)); len(d) > 0 {
		t.Fatalf("--check changed the lab:\n%s", strings.Join(d, "\n"))
	}

	// The upgrade.
	r = omsbook(t, l, "run", upgrade422)
	outputs = append(outputs, r.output)
	if r.code != 0 {
		t.Fatalf("upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "Clear the browser cache", backupDir(l))
	waitHealthy(t, l, "4.2.3", 0)
	for _, n := range l.Nodes {
		if got := inspect(t.Context(), n.NewContainer); !strings.Contains(got, "running") || !strings.Contains(got, "oms:feature_4.2.3-ce") {
			t.Errorf("%s: new container %s: %s", n.Name, n.NewContainer, got)
		}
		if got := inspect(t.Context(), n.OldContainer); !strings.Contains(got, "exited") {
			t.Errorf("%s: the old container %s must be kept, stopped: %s", n.Name, n.OldContainer, got)
		}
	}
	// refetchStoreIntervalMin (30) is already greater than the outage: the guide asks no change.
	if ha := haConfig(t, l); !reflect.DeepEqual(ha, haBefore) {
		t.Errorf("ha.config after the upgrade:\n%v\nwant what the operator had:\n%v", ha, haBefore)
	}
	mustContain(t, r, "every key as before the upgrade (HA enabled)")
	initOncePerRegion(t, l)
	afterUpgrade := takeSnapshot(t, l)
	for path, sum := range before.files {
		if strings.Contains(path, "/store/") && afterUpgrade.files[path] != sum {
			t.Errorf("store data %s did not survive the upgrade: %q -> %q", path, sum, afterUpgrade.files[path])
		}
	}
	verifyBackup(t, backupDir(l), l.DB.All())
	if got := len(l.DB.All()); got != 4 {
		t.Errorf("the lab has %d MetaDB databases, want 4 dumps (rm, cm, two heartbeat databases)", got)
	}

	// --check of the rollback against the upgraded lab.
	r = omsbook(t, l, "run", rollback422, "--check")
	outputs = append(outputs, r.output)
	if r.code != 0 {
		t.Fatalf("--check of the rollback: exit %d, want 0", r.code)
	}
	if d := diffSnapshots(afterUpgrade, takeSnapshot(t, l)); len(d) > 0 {
		t.Fatalf("--check of the rollback changed the lab:\n%s", strings.Join(d, "\n"))
	}

	// The rollback.
	r = omsbook(t, l, "run", rollback422)
	outputs = append(outputs, r.output)
	if r.code != 0 {
		t.Fatalf("rollback: exit %d, want 0", r.code)
	}
	mustContain(t, r, "manual recovery")
	waitHealthy(t, l, "4.2.2", 0)
	for _, n := range l.Nodes {
		if got := inspect(t.Context(), n.OldContainer); !strings.Contains(got, "running") || !strings.Contains(got, "oms:feature_4.2.2-ce") {
			t.Errorf("%s: old container after the rollback: %s", n.Name, got)
		}
	}
	after := takeSnapshot(t, l)
	for table, sum := range before.tables {
		if strings.HasSuffix(table, ".oms_normal_config") {
			continue // its row's gmt_modified moves; ha.config is compared key by key below
		}
		if after.tables[table] != sum {
			t.Errorf("table %s: checksum %d after the rollback, %d before the upgrade", table, after.tables[table], sum)
		}
	}
	for table := range after.tables {
		if _, ok := before.tables[table]; !ok {
			t.Errorf("table %s exists after the rollback but did not before the upgrade", table)
		}
	}
	if ha := haConfig(t, l); !reflect.DeepEqual(ha, haBefore) {
		t.Errorf("ha.config after the rollback:\n%v\nwant what the operator had before the upgrade:\n%v", ha, haBefore)
	}

	// Secrets: never in any argv, output or journal.
	leaks, samples := watch.finish()
	if samples < 10 {
		t.Errorf("the argv watch took only %d samples", samples)
	}
	for _, leak := range leaks {
		t.Errorf("the MetaDB password was in a process's argv: %s", leak)
	}
	if j := journals(t, l); j == "" || strings.Contains(j, password) {
		t.Errorf("journal empty (%d bytes) or holds the MetaDB password", len(j))
	}
}

// TestUpgrade422WithoutOMSVersionTable is the guide's "Version before 4.1.1 is not allowed to
// upgrade." case: the playbook records the old version in rm.oms_version and runs init again.
func TestUpgrade422WithoutOMSVersionTable(t *testing.T) {
	l := upLab(t, lab.Config{Name: "e2enover", FirstIP: "127.0.0.44", Regions: lab.DefaultRegions(), WithoutOMSVersionTable: true})
	// This run also takes the other U422-11 branch: HA was off, is asked on at the end
	// (ha_enable_after), perceiveStoreClientCheckpoint stays false, and refetchStoreIntervalMin,
	// 1 before, is not greater than the outage, so it becomes the outage plus the buffer.
	setHAConfig(t, l, map[string]any{"refetchStoreIntervalMin": 1})
	r := omsbook(t, l, "run", upgrade422, "-e", "ha_enable_after=true", "-e", "perceive_store_client_checkpoint=false", "-e", "refetch_buffer_min=45")
	if r.code != 0 {
		t.Fatalf("upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "U422-09 record the old version", "U422-09 run bash /root/docker_init.sh again", "enable: false -> true", "refetchStoreIntervalMin: 1 -> 4")
	ha := haConfig(t, l)
	refetch, _ := ha["refetchStoreIntervalMin"].(float64)
	if ha["enable"] != true || ha["perceiveStoreClientCheckpoint"] != false || refetch < 46 || refetch > 48 {
		t.Errorf("ha.config after the upgrade: %v; want enable true, perceiveStoreClientCheckpoint false, refetchStoreIntervalMin 45 + the outage in whole minutes rounded up", ha)
	}
	if got := queryString(t, l, l.DB.RM, "SELECT version FROM oms_version WHERE version = '4.2.2-CE'"); got != "4.2.2-CE" {
		t.Errorf("oms_version holds %q", got)
	}
	waitHealthy(t, l, "4.2.3", 0)
}

// TestUpgrade422PerNodeConfig: when each node has its own config file (shared_config: false),
// docker_init.sh runs on every node, not once per region.
func TestUpgrade422PerNodeConfig(t *testing.T) {
	// The old containers also mount the console's SSL certificate and key: the new ones carry them.
	l := upLab(t, lab.Config{Name: "e2epernode", FirstIP: "127.0.0.81", Regions: lab.DefaultRegions(), PerNodeConfig: true, SSLMounts: true})
	haBefore := haConfig(t, l) // HA off, the V4.2.2 default: it stays off
	r := omsbook(t, l, "run", upgrade422, "--check", "--diff")
	if r.code != 0 {
		t.Fatalf("--check --diff: exit %d, want 0", r.code)
	}
	for _, n := range l.Nodes {
		mustContain(t, r, n.MountDir+"/https_crt:/etc/pki/nginx/oms_server.crt", n.MountDir+"/https_key -> /etc/pki/nginx/oms_server.key")
	}
	// This run also copies the installation package to each node first (package_src).
	r = omsbook(t, l, "run", upgrade422, "-e", "package_src="+l.PackagePath("4.2.3"), "-e", "package_path={{ .mount_dir }}/oms-package.tar")
	if r.code != 0 {
		t.Fatalf("upgrade: exit %d, want 0", r.code)
	}
	mustContain(t, r, "PRE copy the installation package to the node", "HA was off before the upgrade", "every key as before the upgrade (HA disabled)")
	for _, n := range l.Nodes {
		copied := map[string]string{}
		hashTree(t, filepath.Join(n.MountDir, "oms-package.tar"), copied)
		original := map[string]string{}
		hashTree(t, l.PackagePath("4.2.3"), original)
		if len(copied) != 1 || strings.Fields(copied[filepath.Join(n.MountDir, "oms-package.tar")])[1] != strings.Fields(original[l.PackagePath("4.2.3")])[1] {
			t.Errorf("%s: the package was not copied whole to %s", n.Name, n.MountDir)
		}
	}
	if ha := haConfig(t, l); !reflect.DeepEqual(ha, haBefore) {
		t.Errorf("ha.config after the upgrade:\n%v\nwant it as it was (HA off):\n%v", ha, haBefore)
	}
	argv, err := l.DockerArgv()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes {
		for _, target := range []string{"/etc/pki/nginx/oms_server.crt", "/etc/pki/nginx/oms_server.key", "/home/ds/store"} {
			if got := inspect(t.Context(), n.NewContainer); !strings.Contains(got, ":"+target) {
				t.Errorf("%s: the new container lacks the old one's mount at %s: %s", n.Name, target, got)
			}
		}
		// The engine here refuses privileged containers; the recorder saw what omsbook asked for.
		var run []string
		for _, a := range argv {
			if len(a) > 1 && a[1] == "run" && slices.Contains(a, n.NewContainer) {
				run = a
			}
		}
		for _, want := range []string{"--privileged=true", "IS_UPGRADE=***", "--net"} {
			if !slices.Contains(run, want) {
				t.Errorf("%s: the recorded docker run of %s lacks %s: %q", n.Name, n.NewContainer, want, run)
			}
		}
	}
	waitHealthy(t, l, "4.2.3", 0)
	inits := queryInts(t, l, l.DB.CM, "SELECT node_ip, COUNT(*) FROM init_record WHERE result = 'SUCCESS' GROUP BY node_ip")
	for _, n := range l.Nodes {
		if inits[n.IP] != 1 {
			t.Errorf("docker_init.sh succeeded %d times on %s (%s), want once on every node", inits[n.IP], n.Name, n.IP)
		}
	}
}
