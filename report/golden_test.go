package report

import (
	"context"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/journal"
	"github.com/omsbook/omsbook/runner"
)

// The fixture: a small playbook in the OMS playbooks' shape (step ids, a T1 file in a backup
// directory read back later, a loop, a skip, a failure on one host, a secret), run for real on
// two local-connection nodes.
const fixtureInventory = `
connection: local
vars:
  token: s3cr3t-t0ken-value
regions:
  hangzhou:
    nodes:
      node-1: {}
  shanghai:
    nodes:
      node-2: {}
secrets: [token]
`

const fixturePlaybook = `
- name: T01 prepare the nodes
  hosts: all
  gather_facts: false
  tasks:
    - name: T01-01 create the work and backup directories
      command:
        argv: [mkdir, -p, "{{ .work }}/{{ .inventory_hostname }}", "{{ .work }}/backup"]
    - name: T01-02 keep T1 in the backup directory
      copy:
        dest: "{{ .work }}/backup/T1"
        content: "2026-12-01T10:00:00Z"
      delegate_to: localhost
      run_once: true
    - name: T01-03 write one file per item
      copy:
        dest: "{{ .work }}/{{ .inventory_hostname }}/{{ .item }}"
        content: "{{ .item }}"
      loop: [a, b]
    - name: T01-04 only in hangzhou
      command: "true"
      when: region == "hangzhou"
    - name: T01-05 say the token (masked)
      debug:
        msg: "token is {{ .token }}"

- name: T02 the step that fails on one node
  hosts: all
  gather_facts: false
  tasks:
    - name: T02-01 read T1 back
      command: "cat {{ .work }}/backup/T1"
      run_once: true
    - name: T02-02 check the node <b>escaped</b>
      shell: "if [ {{ .inventory_hostname }} = node-2 ]; then echo 'disk <full>' >&2; exit 3; fi"
    - name: T02-03 runs where T02-02 passed
      command: "true"
`

// runFixture runs the fixture for real and returns its journal's events and path.
func runFixture(t *testing.T) ([]events.Event, string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"inv.yml": fixtureInventory, "site.yml": fixturePlaybook} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.TrimLeft(content, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(dir, "work")
	opts := runner.Options{
		Playbook: filepath.Join(dir, "site.yml"), Inventories: []string{filepath.Join(dir, "inv.yml")},
		ExtraVars: []string{"work=" + work}, Forks: 1, JournalDir: filepath.Join(dir, "runs"),
		Command: []string{"omsbook", "run", "site.yml", "-i", "inv.yml", "-e", "work=" + work},
	}
	plan, err := runner.Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if code := plan.Run(context.Background(), nil); code != runner.ExitFailed {
		t.Fatalf("fixture run: exit %d, want %d (a task fails on node-2)", code, runner.ExitFailed)
	}
	path, err := journal.Find(opts.JournalDir, "", "last")
	if err != nil {
		t.Fatal(err)
	}
	return readJournal(t, path), path, dir
}

// readJournal reads a journal's events.
func readJournal(t *testing.T, path string) []events.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := journal.ReadEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// normalise makes a real run's events repeatable: each event one second after the last, each
// result taking half a second, who and where fixed.
func normalise(evs []events.Event) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i].Time = t0.Add(time.Duration(i) * time.Second)
		if evs[i].Kind == events.HostResult {
			evs[i].Duration = 500 * time.Millisecond
		}
		if evs[i].Kind == events.RunStart {
			evs[i].User, evs[i].Controller, evs[i].Dir = "operator", "controller-1", "/srv/ops"
		}
	}
}

var (
	dropBlocks = regexp.MustCompile(`(?s)<(style|script)[^>]*>.*?</(style|script)>`)
	tags       = regexp.MustCompile(`<[^>]*>`)
)

// textOf is the page's text as a reader sees it: no style, script or tags, entities decoded,
// one non-empty trimmed line per line.
func textOf(page string) string {
	page = dropBlocks.ReplaceAllString(page, "")
	page = tags.ReplaceAllString(page, " ")
	var out []string
	for _, l := range strings.Split(html.UnescapeString(page), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestReportGolden: the text of the report of a real run, against testdata/run.golden.
func TestReportGolden(t *testing.T) {
	evs, path, dir := runFixture(t)
	normalise(evs)
	r, err := Build(evs, Options{Journal: path, ReadTimeFile: func(p string) (string, error) {
		b, err := os.ReadFile(p)
		return string(b), err
	}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "s3cr3t-t0ken-value") {
		t.Fatal("the report shows the secret")
	}
	text := strings.ReplaceAll(textOf(page), dir, "$WORK")
	text = strings.ReplaceAll(text, strings.TrimSuffix(filepath.Base(path), ".jsonl"), "$RUN")
	text = regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(text, "<sha256>")
	testutil.Golden(t, filepath.Join("testdata", "run.golden"), []byte(text))
}
