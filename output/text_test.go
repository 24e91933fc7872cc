package output

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/internal/testutil"
)

// t0 is the scripted run's start; events carry times relative to it so that the slow-task line
// is deterministic.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// scripts are the scripted event streams the golden files show.
var scripts = map[string]struct {
	opts   TextOptions
	events []events.Event
}{
	"run": {
		events: []events.Event{
			{Kind: events.RunStart, Time: at(0), Playbook: "site.yml", Hosts: []string{"web-1", "db-long-name"}},
			{Kind: events.PlayStart, Time: at(0), Play: "Prepare the nodes", Hosts: []string{"web-1", "db-long-name"}},
			{Kind: events.TaskStart, Time: at(0), Task: "write the motd", Pos: "site.yml:5:7"},
			{Kind: events.HostResult, Time: at(0.1), Host: "web-1", Status: events.Changed},
			{Kind: events.HostResult, Time: at(0.1), Host: "db-long-name", Status: events.OK},
			{Kind: events.TaskStart, Time: at(0.2), Task: "say hello"},
			{Kind: events.HostResult, Time: at(0.2), Host: "web-1", Status: events.OK, Msg: "hello from web-1"},
			{Kind: events.HostResult, Time: at(0.2), Host: "db-long-name", Status: events.Skipped, Msg: "when: region == \"hz\" was false"},
			{Kind: events.TaskStart, Time: at(0.3), Task: "install packages"},
			{Kind: events.HostResult, Time: at(0.4), Host: "web-1", Status: events.Changed, Item: "nginx"},
			{Kind: events.HostResult, Time: at(0.5), Host: "web-1", Status: events.OK, Item: map[string]any{"name": "curl", "version": 8}},
			{Kind: events.HostResult, Time: at(0.6), Host: "db-long-name", Status: events.Changed, Delegate: "localhost", Item: "nginx"},
			{Kind: events.TaskStart, Time: at(1), Task: "wait for the service"},
			{Kind: events.Warning, Time: at(1), Msg: "retrying: port 8089 closed"},
			{Kind: events.HostResult, Time: at(4.5), Host: "web-1", Status: events.OK, Duration: 3500 * time.Millisecond},
			{Kind: events.HostResult, Time: at(4.6), Host: "db-long-name", Status: events.Unreachable, Msg: "host db-long-name unreachable: dial tcp 127.0.0.12:22: connection refused"},
			{Kind: events.TaskStart, Time: at(5), Task: "run the migration"},
			{Kind: events.HostResult, Time: at(5.5), Host: "web-1", Status: events.Failed, Msg: "non-zero return code",
				Result: map[string]any{"rc": 3, "stdout": "step 1\n", "stderr": "error: table rm_db.t1 is locked\nhint: wait\n", "stdin": "hunter22"}},
			{Kind: events.TaskStart, Time: at(6), Task: "tolerate a failure"},
			{Kind: events.HostResult, Time: at(6.1), Host: "web-1", Status: events.Ignored, Msg: "non-zero return code", Result: map[string]any{"rc": 1, "stdout": "only stdout"}},
			{Kind: events.Recap, Time: at(7), Stats: map[string]*events.Stats{
				"web-1":        {OK: 3, Changed: 2, Failed: 1, Ignored: 1},
				"db-long-name": {OK: 1, Changed: 1, Unreachable: 1, Skipped: 12},
			}},
			{Kind: events.RunEnd, Time: at(7), ExitCode: 2, Msg: "a task failed on web-1: fix it and continue with\n  omsbook run site.yml -i inv.yml --start-at-task \"run the migration\"", Journal: "/srv/.omsbook/runs/20261126T120000Z-site.jsonl"},
		},
	},
	"check_diff": {
		opts: TextOptions{Diff: true},
		events: []events.Event{
			{Kind: events.RunStart, Time: at(0), Playbook: "site.yml", Check: true},
			{Kind: events.PlayStart, Time: at(0), Play: "Configure", Hosts: []string{"web-1", "web-2"}},
			{Kind: events.TaskStart, Time: at(0), Task: "template the config"},
			{Kind: events.HostResult, Time: at(0.1), Host: "web-1", Status: events.Changed, Check: true, Diff: &events.Diff{
				BeforeLabel: "/etc/app.conf", AfterLabel: "/etc/app.conf",
				Before: "a=1\nb=2\nc=3\nd=4\ne=5\nf=6\ng=7\nh=8\ni=9\nj=10\n",
				After:  "a=1\nb=20\nc=3\nd=4\ne=5\nf=6\ng=7\nh=8\ni=9\nj=10\nk=11\n",
			}},
			{Kind: events.HostResult, Time: at(0.1), Host: "web-2", Status: events.OK, Check: true},
			{Kind: events.TaskStart, Time: at(0.2), Task: "restart the service"},
			{Kind: events.HostResult, Time: at(0.2), Host: "web-1", Status: events.OK, Check: true, Unknown: true, Msg: "command not run in check mode"},
			{Kind: events.HostResult, Time: at(0.2), Host: "web-2", Status: events.OK, Check: true, Unknown: true},
			{Kind: events.Recap, Time: at(1), Stats: map[string]*events.Stats{"web-1": {OK: 1, Changed: 1}, "web-2": {OK: 2}}},
			{Kind: events.RunEnd, Time: at(1), Journal: "/tmp/j.jsonl"},
		},
	},
	"verbose": {
		opts: TextOptions{Verbosity: 2},
		events: []events.Event{
			{Kind: events.PlayStart, Play: "a play whose name is so long that the header has no room left for stars at all", Hosts: []string{"web-1", "web-2"}},
			{Kind: events.TaskStart, Task: "long command"},
			{Kind: events.HostOutput, Host: "web-1", Stream: "stdout", Line: "loading image 1/2"},
			{Kind: events.HostOutput, Host: "web-1", Stream: "stdout", Line: "loading image 2/2"},
			{Kind: events.HostResult, Host: "web-1", Status: events.Changed, Result: map[string]any{"rc": 0, "stdout": "done"}},
			{Kind: events.HostResult, Host: "web-2", Status: events.Skipped, Msg: "creates: /data exists"},
			{Kind: events.RunEnd, ExitCode: 99, Msg: "interrupted: running tasks finished, nothing new started"},
		},
	},
}

func TestTextGolden(t *testing.T) {
	for name, sc := range scripts {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			sink := NewText(&buf, sc.opts)
			for _, e := range sc.events {
				sink.Emit(e)
			}
			testutil.Golden(t, filepath.Join("testdata", name+".golden"), buf.Bytes())
		})
	}
}

func TestTextColor(t *testing.T) {
	var buf bytes.Buffer
	sink := NewText(&buf, TextOptions{Color: true})
	for _, e := range scripts["run"].events {
		sink.Emit(e)
	}
	out := buf.String()
	for _, want := range []string{"\x1b[33mchanged: [web-1]\x1b[0m", "\x1b[31mfailed: [web-1]: non-zero return code\x1b[0m", "\x1b[32mok: [db-long-name]\x1b[0m"} {
		if !strings.Contains(out, want) {
			t.Errorf("coloured output lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	plain := NewText(&buf, TextOptions{})
	for _, e := range scripts["run"].events {
		plain.Emit(e)
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("output without Color has escape codes:\n%s", buf.String())
	}
}

func TestUseColor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("NO_COLOR", "")
	if UseColor(f) {
		t.Error("UseColor is true with NO_COLOR set")
	}
	os.Unsetenv("NO_COLOR")
	if UseColor(f) {
		t.Error("UseColor is true for a regular file")
	}
	if UseColor(nil) {
		t.Error("UseColor is true for nil")
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{1234567 * time.Microsecond, "1.2s"},
		{3500 * time.Millisecond, "3.5s"},
		{64*time.Second + 400*time.Millisecond, "1m4s"},
		{12345 * time.Microsecond, "12ms"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestTextLiveOutputNeedsVerbose(t *testing.T) {
	for _, tc := range []struct {
		verbosity int
		want      string
	}{
		{0, ""},
		{1, "web-1 | loading\n"},
	} {
		var buf bytes.Buffer
		NewText(&buf, TextOptions{Verbosity: tc.verbosity}).Emit(events.Event{Kind: events.HostOutput, Host: "web-1", Stream: "stdout", Line: "loading"})
		if buf.String() != tc.want {
			t.Errorf("verbosity %d: got %q, want %q", tc.verbosity, buf.String(), tc.want)
		}
	}
}

// TestTextPlayWithoutHosts: a play that --limit (or earlier failures) left without hosts says
// so, as ansible-playbook does, instead of a bare header.
func TestTextPlayWithoutHosts(t *testing.T) {
	tests := []struct {
		hosts []string
		want  string
	}{
		{nil, "skipping: no hosts matched\n"},
		{[]string{}, "skipping: no hosts matched\n"},
		{[]string{"web-1"}, ""},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		NewText(&buf, TextOptions{}).Emit(events.Event{Kind: events.PlayStart, Play: "web", Hosts: tc.hosts})
		_, after, _ := strings.Cut(buf.String(), "*\n")
		if after != tc.want {
			t.Errorf("hosts %q: after the header %q, want %q", tc.hosts, after, tc.want)
		}
	}
}
