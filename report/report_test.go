package report

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
)

func TestStepID(t *testing.T) {
	for name, want := range map[string]string{
		"U422-07 start the new container":       "U422-07",
		"U422-02..05 stop every old container":  "U422-02..05",
		"R422-03 R422-04 drop, create, restore": "R422-03",
		"PRE the backup directory has room":     "PRE",
		"U410-03":                               "U410-03",
		"Gathering Facts":                       "",
		"PREFLIGHT checks":                      "",
		"u422-01 lower case":                    "",
		"U422- no number":                       "",
	} {
		if got := StepID(name); got != want {
			t.Errorf("StepID(%q) = %q, want %q", name, got, want)
		}
	}
}

// omsRun is an upgrade and a rollback in the shape the OMS modules' results take.
func omsRun() []events.Event {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	res := func(task string, s int, st events.Status, r map[string]any) events.Event {
		return events.Event{Kind: events.HostResult, Time: at(s), Task: task, Host: "oms-hz-1", Status: st, Duration: time.Second, Result: r}
	}
	ha := func(before, after bool, at string) map[string]any {
		return map[string]any{"before": map[string]any{"enable": before, "refetchStoreIntervalMin": float64(30)},
			"after": map[string]any{"enable": after, "refetchStoreIntervalMin": float64(30)}, "changed_at": at, "changed_keys": []any{"enable"}}
	}
	return []events.Event{
		{Kind: events.RunStart, Time: at(0), Playbook: "playbooks/upgrade-422-to-423.yml", Hosts: []string{"oms-hz-1", "oms-sh-1"},
			Command: "omsbook run playbooks/upgrade-422-to-423.yml -i inventories/lab.yml", User: "ops", Controller: "bastion", Dir: "/srv/oms",
			Inputs: map[string]string{"/srv/oms/playbooks/upgrade-422-to-423.yml": "aa", "/srv/oms/inventories/lab.yml": "bb", "/srv/oms/playbooks/vars/oms.yml": "cc", "-e": "dd"}},
		{Kind: events.TaskStart, Time: at(1), Task: "U422-01 set ha.config enable=false"},
		res("U422-01 set ha.config enable=false", 2, events.Changed, ha(true, false, "2026-12-01T10:00:02Z")),
		{Kind: events.TaskStart, Time: at(2), Task: "U422-01 keep T1"},
		res("U422-01 keep T1", 3, events.Changed, map[string]any{"dest": "/backup/T1", "checksum": "x"}),
		{Kind: events.TaskStart, Time: at(3), Task: "U422-04 back up"},
		res("U422-04 back up", 9, events.Changed, map[string]any{"manifest": "/backup/MANIFEST.json", "dumps": []any{
			map[string]any{"db": "rm_422", "file": "rm_422.sql", "size": float64(2 << 20), "sha256": strings.Repeat("ab", 32), "dumped_at": "2026-12-01T10:00:08Z", "reused": false},
			map[string]any{"db": "cm_422", "file": "cm_422.sql", "size": float64(512), "sha256": strings.Repeat("cd", 32), "dumped_at": "2026-12-01T09:00:00Z", "reused": true},
		}}),
		{Kind: events.TaskStart, Time: at(9), Task: "U422-11 enable HA"},
		res("U422-11 enable HA", 10, events.Changed, ha(false, true, "2026-12-01T10:00:10Z")),
		{Kind: events.TaskStart, Time: at(10), Task: "R422-02 record T3"},
		res("R422-02 record T3", 11, events.Changed, map[string]any{"dest": "/backup/T3"}),
		{Kind: events.TaskStart, Time: at(11), Task: "R422-06 read T1"},
		res("R422-06 read T1", 12, events.OK, map[string]any{"cmd": []any{"cat", "/backup/T1"}, "stdout": "2026-12-01T10:00:02Z\n", "rc": float64(0)}),
		{Kind: events.TaskStart, Time: at(12), Task: "U422-10 wait <online>"},
		{Kind: events.HostResult, Time: at(20), Task: "U422-10 wait <online>", Host: "oms-sh-1", Status: events.Failed, Duration: 8 * time.Second,
			Msg: "timed out after 8s: <script>alert(1)</script>", Result: map[string]any{"rc": float64(1), "stderr": "no"}},
		{Kind: events.Recap, Time: at(20), Stats: map[string]*events.Stats{"oms-hz-1": {Changed: 5, OK: 1}, "oms-sh-1": {Failed: 1}}},
		{Kind: events.RunEnd, Time: at(20), ExitCode: 2, Msg: "a task failed"},
	}
}

func TestOMSRecords(t *testing.T) {
	read := func(p string) (string, error) {
		if p == "/backup/T3" {
			return "2026-12-01T10:00:11Z", nil
		}
		return "", errors.New("no such file")
	}
	r, err := Build(omsRun(), Options{Journal: "/runs/20261201T100000Z-upgrade-422-to-423.jsonl", ReadTimeFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var marks []string
	for _, m := range r.Times {
		marks = append(marks, m.Name+"="+m.Value+" <"+m.Step+">")
	}
	want := []string{"T1=2026-12-01T10:00:02Z <U422-01>", "T1= <U422-01>", "T2=2026-12-01T10:00:10Z <U422-11>", "T3=2026-12-01T10:00:11Z <R422-02>", "T1=2026-12-01T10:00:02Z <R422-06>"}
	if strings.Join(marks, "\n") != strings.Join(want, "\n") {
		t.Errorf("times:\n%s\nwant:\n%s", strings.Join(marks, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.Times[1].Source, "not readable here: no such file") {
		t.Errorf("an unreadable time file is not said: %q", r.Times[1].Source)
	}
	if len(r.HAChanges) != 2 || !strings.Contains(r.HAChanges[0].Before, `"enable": true`) || !strings.Contains(r.HAChanges[0].After, `"enable": false`) || r.HAChanges[0].Keys != "enable" {
		t.Errorf("ha.config changes: %+v", r.HAChanges)
	}
	if len(r.Backups) != 1 || len(r.Backups[0].Dumps) != 2 || r.Backups[0].Dumps[0].Size != "2.0 MiB (2097152 bytes)" || !r.Backups[0].Dumps[1].Reused || r.Backups[0].Manifest != "/backup/MANIFEST.json" {
		t.Errorf("backups: %+v", r.Backups)
	}
	if r.RunID != "20261201T100000Z-upgrade-422-to-423" || r.Outcome != "a task failed (exit 2)" || r.Duration != "20s" {
		t.Errorf("run: id %q, outcome %q, duration %q", r.RunID, r.Outcome, r.Duration)
	}
	if len(r.Failures) != 1 || r.Failures[0].Host != "oms-sh-1" || r.Failures[0].Detail != "rc: 1\nstderr:\nno" {
		t.Errorf("failures: %+v", r.Failures)
	}
	var kinds []string
	for _, in := range r.Inputs {
		kinds = append(kinds, in.Kind)
	}
	if got := strings.Join(kinds, ","); got != "playbook,inventory,file,extra vars (-e, secrets masked)" {
		t.Errorf("input kinds %s", got)
	}
	// The timeline: each bar where its result ran, of the run's 20 seconds.
	h := r.Hosts[1]
	if h.Name != "oms-sh-1" || len(h.Bars) != 1 || h.Bars[0].Left != 60 || h.Bars[0].Width != 40 || h.Bars[0].Class != "failed" || h.Class != "failed" {
		t.Errorf("oms-sh-1's lane: %+v", h)
	}

	var page strings.Builder
	if err := Write(&page, r); err != nil {
		t.Fatal(err)
	}
	p := page.String()
	for _, want := range []string{strings.Repeat("ab", 32), "/backup/MANIFEST.json", "ha.config before / after", "T1 / T2 / T3",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "U422-10 wait &lt;online&gt;", `style="left: 60.000%; width: 40.000%"`} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(p, "<script>alert(1)") {
		t.Error("a message from the journal reaches the page unescaped")
	}
}

// TestSelfContained: the page names no other file and no address: it opens anywhere, offline.
func TestSelfContained(t *testing.T) {
	r, err := Build(omsRun(), Options{Journal: "j.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	if err := Write(&page, r); err != nil {
		t.Fatal(err)
	}
	external := regexp.MustCompile(`(?i)(\bsrc\s*=|\bhref\s*=|url\(|@import|https?://|<link|<iframe|<img|fetch\(|XMLHttpRequest)`)
	if m := external.FindString(page.String()); m != "" {
		t.Errorf("the page refers to something outside it: %q", m)
	}
	if strings.Count(page.String(), "<script>") != 1 || strings.Count(page.String(), "<style>") != 1 {
		t.Error("the page should carry exactly one inline script and one inline style")
	}
}

func TestBuildEdges(t *testing.T) {
	if _, err := Build(nil, Options{Journal: "x.jsonl"}); err == nil || !strings.Contains(err.Error(), "not a run journal") {
		t.Errorf("empty journal: %v", err)
	}
	evs := omsRun()
	cut := evs[:len(evs)-2] // killed before the recap
	r, err := Build(cut, Options{Journal: "x.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Finished || !strings.HasPrefix(r.Outcome, "unfinished") || !r.End.Equal(cut[len(cut)-1].Time) {
		t.Errorf("a cut journal: finished %v, outcome %q, end %v", r.Finished, r.Outcome, r.End)
	}
	// A loop's summary line is not drawn over its items' bars.
	loop := []events.Event{
		{Kind: events.RunStart, Time: time.Unix(0, 0)},
		{Kind: events.TaskStart, Task: "L-01 loop"},
		{Kind: events.HostResult, Time: time.Unix(1, 0), Task: "L-01 loop", Host: "h", Status: events.OK, Item: "a", Duration: time.Second},
		{Kind: events.HostResult, Time: time.Unix(2, 0), Task: "L-01 loop", Host: "h", Status: events.Failed, Item: "b", Duration: time.Second},
		{Kind: events.HostResult, Time: time.Unix(2, 0), Task: "L-01 loop", Host: "h", Status: events.Failed, Duration: 2 * time.Second},
		{Kind: events.RunEnd, Time: time.Unix(2, 0), ExitCode: 2},
	}
	r, err = Build(loop, Options{Journal: "x.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hosts) != 1 || len(r.Hosts[0].Bars) != 2 || len(r.Tasks[0].Results) != 3 || r.Steps[0].Status != "failed" {
		t.Errorf("loop: bars %+v, results %+v, steps %+v", r.Hosts, r.Tasks, r.Steps)
	}
}

// TestTimeFileMoved: a time file the run moved afterwards (the rollback renames its backup
// directory) is read where it is now.
func TestTimeFileMoved(t *testing.T) {
	files := map[string]string{"/b.rolled-back-1/T3": "2026-12-01T10:00:05Z"}
	read := func(p string) (string, error) {
		if v, ok := files[p]; ok {
			return v, nil
		}
		return "", errors.New("no such file")
	}
	evs := []events.Event{
		{Kind: events.RunStart, Time: time.Unix(0, 0)},
		{Kind: events.TaskStart, Task: "R422-02 record T3"},
		{Kind: events.HostResult, Time: time.Unix(1, 0), Task: "R422-02 record T3", Host: "h", Status: events.Changed, Result: map[string]any{"dest": "/b/T3"}},
		{Kind: events.TaskStart, Task: "R422-06 keep the backup"},
		{Kind: events.HostResult, Time: time.Unix(2, 0), Task: "R422-06 keep the backup", Host: "h", Status: events.Changed, Result: map[string]any{"cmd": []any{"mv", "/b", "/b.rolled-back-1"}}},
		{Kind: events.RunEnd, Time: time.Unix(2, 0)},
	}
	r, err := Build(evs, Options{Journal: "x.jsonl", ReadTimeFile: read})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Times) != 1 || r.Times[0].Value != "2026-12-01T10:00:05Z" || !strings.Contains(r.Times[0].Source, "read from /b.rolled-back-1/T3 where the run moved it") {
		t.Errorf("moved T3: %+v", r.Times)
	}
}
