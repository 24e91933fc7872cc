package report

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
)

// The journals of `make demo`'s upgrade and rollback on the lab (real sshd nodes, MariaDB, the
// OMS containers), as omsbook wrote them: the OMS records are read from the results the real
// modules gave.
func labReport(t *testing.T, name string) (*Report, string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	r, err := Build(readJournal(t, path), Options{Journal: path})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return r, strings.ReplaceAll(textOf(b.String()), r.Dir, "$REPO")
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestLabUpgradeJournal(t *testing.T) {
	r, text := labReport(t, "lab-upgrade-422-to-423.jsonl")
	testutil.Golden(t, filepath.Join("testdata", "lab-upgrade.golden"), []byte(text))
	marks := map[string]string{}
	for _, m := range r.Times {
		if m.Value != "" {
			marks[m.Name+" "+m.Step] = m.Value
		}
	}
	if marks["T1 U422-01"] == "" || marks["T2 U422-11"] == "" {
		t.Errorf("T1 (U422-01) and T2 (U422-11) not found: %+v", r.Times)
	}
	if n := len(r.HAChanges); n < 2 || !strings.Contains(r.HAChanges[0].After, `"enable": false`) || !strings.Contains(r.HAChanges[n-1].After, `"enable": true`) {
		t.Errorf("ha.config: want HA disabled first and enabled last: %+v", r.HAChanges)
	}
	var dumps int
	for _, bk := range r.Backups {
		for _, d := range bk.Dumps {
			dumps++
			if !sha256Hex.MatchString(d.SHA256) || d.Size == "" || d.DB == "" {
				t.Errorf("dump without its checksum or size: %+v", d)
			}
		}
	}
	if dumps < 4 || r.Outcome != "completed (exit 0)" || len(r.Failures) != 0 {
		t.Errorf("%d dumps (want rm, cm and a heartbeat database per region), outcome %q, failures %+v", dumps, r.Outcome, r.Failures)
	}
}

func TestLabRollbackJournal(t *testing.T) {
	r, text := labReport(t, "lab-rollback-423-to-422.jsonl")
	testutil.Golden(t, filepath.Join("testdata", "lab-rollback.golden"), []byte(text))
	names := map[string]bool{}
	for _, m := range r.Times {
		names[m.Name+" "+m.Step] = true
		if m.Name == "T1" && m.Step == "R422-01" {
			t.Errorf("the rollback's disabling of HA is taken for T1: %+v", m)
		}
	}
	if !names["T3 R422-02"] || !names["T1 R422-06"] || !names["T2 R422-06"] {
		t.Errorf("want T3 (R422-02), T1 read back and T2 (R422-06): %+v", r.Times)
	}
}
