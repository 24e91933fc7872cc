package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/playbook"
)

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestVariablePrecedence(t *testing.T) {
	inv := `
connection: local
vars: {a: inv, b: inv, c: inv, d: inv, e: inv, f: inv, g: inv}
regions:
  hz:
    vars: {b: region, c: region, d: region, e: region, f: region, g: region}
    nodes:
      hz-1: {vars: {c: node, d: node, e: node, f: node, g: node}}
`
	pb := `
- name: precedence
  hosts: all
  vars: {d: play, e: play, f: play, g: play, h: "{{ .a }}-{{ .d }}"}
  vars_files: [vars.yml]
  tasks:
    - set_fact: {f: fact, g: fact}
    - rec: "{{ .a }} {{ .b }} {{ .c }} {{ .d }} {{ .e }} {{ .f }} {{ .g }} {{ .h }}"
`
	e := mustLoad(t, pb, Options{ExtraVars: []string{"g=extra"}}, map[string]string{
		"vars.yml": "e: file\nf: file\ng: file\n",
		"inv.yml":  inv,
	})
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %v", code, e.sink.end().Msg)
	}
	got := e.msgsOf("hz-1")
	want := []string{"inv region node play file fact extra inv-play"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestExtraVarTemplatesAreRendered(t *testing.T) {
	e := mustLoad(t, `
- name: extra
  hosts: hz-1
  tasks:
    - rec: "{{ .path }}"
`, Options{ExtraVars: []string{"path={{ .inventory_hostname }}/{{ .rname }}.tar", "rname=x"}}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %v", code, e.sink.end().Msg)
	}
	if got := e.msgsOf("hz-1"); len(got) != 1 || got[0] != "hz-1/x.tar" {
		t.Fatalf("got %q, want the -e template rendered: hz-1/x.tar", got)
	}
}

func TestMagicVariables(t *testing.T) {
	e := mustLoad(t, `
- name: magic
  hosts: hz:sh-1
  tasks:
    - rec: '{{ .inventory_hostname }}|{{ .region }}|{{ join "," .region_nodes }}|{{ join "," .groups.canary }}|{{ len .play_hosts }}|{{ (index .hostvars "sh-1").node_ip }}|{{ .omsbook_check_mode }}|{{ .rname }}'
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	want := map[string]string{
		"hz-2": "hz-2|hz|hz-1,hz-2,hz-3|hz-1|4|10.0.1.11|false|hangzhou",
		"sh-1": "sh-1|sh|sh-1,sh-2|hz-1|4|10.0.1.11|false|shanghai",
	}
	for host, w := range want {
		if got := e.msgsOf(host); len(got) != 1 || got[0] != w {
			t.Errorf("%s: got %q, want %q", host, got, w)
		}
	}
}

// TestRunIDVariable: omsbook_run_id is one value for every host and task of a run (so that a
// name made from it in one task is found again in the next), another in the next run, and
// fit for a container or file name.
func TestRunIDVariable(t *testing.T) {
	pb := `
- name: first
  hosts: hz-1:sh-1
  tasks:
    - rec: '{{ .omsbook_run_id }}'
- name: second
  hosts: hz-2
  vars: {tool: 'tool-{{ .inventory_hostname }}-{{ .omsbook_run_id }}'}
  tasks:
    - rec: '{{ .tool }}'
`
	ids := map[string]bool{}
	for range 2 {
		e := mustLoad(t, pb, Options{}, nil)
		if code := e.run(); code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		hz1, sh1, hz2 := e.msgsOf("hz-1"), e.msgsOf("sh-1"), e.msgsOf("hz-2")
		if len(hz1) != 1 || len(sh1) != 1 || len(hz2) != 1 {
			t.Fatalf("records: %q %q %q", hz1, sh1, hz2)
		}
		id := hz1[0]
		if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(id) {
			t.Fatalf("omsbook_run_id = %q, want 8 lower-case hex digits", id)
		}
		if sh1[0] != id || hz2[0] != "tool-hz-2-"+id {
			t.Fatalf("one run saw omsbook_run_id %q, %q and %q: want one value", id, sh1[0], hz2[0])
		}
		ids[id] = true
	}
	if len(ids) != 2 {
		t.Fatalf("two runs had the same omsbook_run_id: %v", ids)
	}
}

func TestPatternsAndLimit(t *testing.T) {
	tests := []struct {
		hosts, limit string
		want         []string
	}{
		{"all", "", []string{"hz-1", "hz-2", "hz-3", "sh-1", "sh-2"}},
		{"hz", "", []string{"hz-1", "hz-2", "hz-3"}},
		{"hz-*:!hz-2", "", []string{"hz-1", "hz-3"}},
		{"all:&sh", "", []string{"sh-1", "sh-2"}},
		{"canary:sh-2", "", []string{"hz-1", "sh-2"}},
		{"all", "sh", []string{"sh-1", "sh-2"}},
		{"hz", "hz-2:sh-1", []string{"hz-2"}},
		{"hz", "sh", nil},
	}
	for _, tc := range tests {
		t.Run(tc.hosts+"/"+tc.limit, func(t *testing.T) {
			e := mustLoad(t, fmt.Sprintf("- name: p\n  hosts: %q\n  tasks:\n    - rec: x\n", tc.hosts), Options{Limit: tc.limit}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if got := sorted(e.hostsFor("x")); !reflect.DeepEqual(got, sorted(tc.want)) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("ran on %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSplitBatches(t *testing.T) {
	hosts := make([]*hostRun, 5)
	for i := range hosts {
		hosts[i] = &hostRun{name: fmt.Sprintf("h%d", i)}
	}
	tests := []struct {
		name   string
		serial []playbook.Batch
		want   []int
	}{
		{"none", nil, []int{5}},
		{"one", []playbook.Batch{{Count: 1}}, []int{1, 1, 1, 1, 1}},
		{"two", []playbook.Batch{{Count: 2}}, []int{2, 2, 1}},
		{"percent", []playbook.Batch{{Percent: 40}}, []int{2, 2, 1}},
		{"small percent", []playbook.Batch{{Percent: 1}}, []int{1, 1, 1, 1, 1}},
		{"list, last repeats", []playbook.Batch{{Count: 1}, {Percent: 50}}, []int{1, 2, 2}},
		{"more than all", []playbook.Batch{{Count: 10}}, []int{5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, b := range splitBatches(hosts, tc.serial) {
				got = append(got, len(b))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSerialRunsBatchByBatch(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  serial: [1, 2]
  tasks:
    - rec: a
    - rec: b
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// Each batch runs both tasks before the next batch starts.
	var seq []string
	for _, c := range e.calls() {
		seq = append(seq, c[strings.Index(c, ":")+1:])
	}
	want := []string{"a", "b", "a", "a", "b", "b", "a", "a", "b", "b"}
	if !reflect.DeepEqual(seq, want) {
		t.Fatalf("task order %v, want %v", seq, want)
	}
	if got := e.calls()[0]; got != "hz-1:a" {
		t.Fatalf("first batch starts with %s, want hz-1:a", got)
	}
}

func TestForksBoundHostsInFlight(t *testing.T) {
	for _, forks := range []int{1, 2, 10} {
		t.Run(fmt.Sprint(forks), func(t *testing.T) {
			e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - rec: {msg: x, sleep: 60ms}
`, Options{Forks: forks}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			want := int32(forks)
			if want > 5 {
				want = 5
			}
			if got := e.rec.maxIn.Load(); got != want {
				t.Fatalf("%d hosts in flight at most, want %d", got, want)
			}
		})
	}
}

func TestLinearStrategy(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - name: slow on one host
      rec: {msg: first, sleep: '{{ if eq .inventory_hostname "hz-2" }}150ms{{ else }}0s{{ end }}'}
    - name: second
      rec: second
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// TaskStart of "second" comes after every result of the first task.
	var firstResults int
	for _, ev := range e.sink.all() {
		if ev.Kind == events.HostResult && ev.Task == "slow on one host" {
			firstResults++
		}
		if ev.Kind == events.TaskStart && ev.Task == "second" && firstResults != 5 {
			t.Fatalf("second task started after %d of 5 results of the first", firstResults)
		}
	}
}

func TestFailedHostsDropOut(t *testing.T) {
	pb := `
- name: p
  hosts: all
  %s
  tasks:
    - name: one
      rec: {msg: one, fail: '{{ eq .inventory_hostname "hz-2" }}'}
    - name: two
      rec: two
- name: second play
  hosts: all
  tasks:
    - rec: three
`
	t.Run("others go on", func(t *testing.T) {
		e := mustLoad(t, fmt.Sprintf(pb, ""), Options{}, nil)
		if code := e.run(); code != ExitFailed {
			t.Fatalf("exit %d, want %d", code, ExitFailed)
		}
		if got := sorted(e.hostsFor("two")); !reflect.DeepEqual(got, []string{"hz-1", "hz-3", "sh-1", "sh-2"}) {
			t.Fatalf("two ran on %v", got)
		}
		if got := sorted(e.hostsFor("three")); !reflect.DeepEqual(got, []string{"hz-1", "hz-3", "sh-1", "sh-2"}) {
			t.Fatalf("the next play ran on %v", got)
		}
		if st := e.sink.recap()["hz-2"]; st.Failed != 1 || st.OK != 0 {
			t.Fatalf("hz-2 stats %+v", *st)
		}
		end := e.sink.end()
		if !strings.Contains(end.Msg, `--start-at-task one`) {
			t.Fatalf("run end message %q does not say how to resume", end.Msg)
		}
	})
	t.Run("any_errors_fatal", func(t *testing.T) {
		e := mustLoad(t, fmt.Sprintf(pb, "any_errors_fatal: true"), Options{}, nil)
		if code := e.run(); code != ExitFailed {
			t.Fatalf("exit %d, want %d", code, ExitFailed)
		}
		if got := e.hostsFor("two"); len(got) != 0 {
			t.Fatalf("two ran on %v after a fatal error", got)
		}
		if got := e.hostsFor("three"); len(got) != 0 {
			t.Fatalf("the next play ran on %v after a fatal error", got)
		}
	})
}

func TestMaxFailPercentage(t *testing.T) {
	pb := `
- name: p
  hosts: all
  max_fail_percentage: %d
  tasks:
    - rec: {msg: one, fail: '{{ or (eq .inventory_hostname "hz-1") (eq .inventory_hostname "hz-2") }}'}
    - rec: two
`
	tests := []struct {
		pct     int
		wantTwo int
	}{{30, 0}, {40, 3}, {50, 3}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.pct), func(t *testing.T) {
			e := mustLoad(t, fmt.Sprintf(pb, tc.pct), Options{}, nil)
			if code := e.run(); code != ExitFailed {
				t.Fatalf("exit %d", code)
			}
			if got := len(e.hostsFor("two")); got != tc.wantTwo {
				t.Fatalf("two ran on %d hosts, want %d", got, tc.wantTwo)
			}
		})
	}
}

func TestIgnoreErrors(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: boom
      rec: {msg: one, fail: true}
      ignore_errors: true
      register: r
    - rec: 'after {{ .r.failed }}'
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"one", "after true"}) {
		t.Fatalf("calls %v", got)
	}
	if rs := e.sink.results("boom"); len(rs) != 1 || rs[0].Status != events.Ignored {
		t.Fatalf("results %+v", rs)
	}
	if st := e.sink.recap()["hz-1"]; st.Ignored != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v", *st)
	}
}

func TestRunOnce(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - name: once
      rec: 'once from {{ .inventory_hostname }}'
      run_once: true
      register: o
    - name: per region
      rec: 'region {{ .region }}'
      run_once: region
      register: r
    - rec: 'saw {{ .o.msg_arg }} and {{ .r.msg_arg }}'
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.hostsFor("once from hz-1"); !reflect.DeepEqual(got, []string{"hz-1"}) {
		t.Fatalf("run_once true ran on %v; calls %v", got, e.calls())
	}
	if got := sorted(append(e.hostsFor("region hz"), e.hostsFor("region sh")...)); !reflect.DeepEqual(got, []string{"hz-1", "sh-1"}) {
		t.Fatalf("run_once region ran on %v", got)
	}
	if got := e.msgsOf("sh-2"); len(got) != 1 || got[0] != "saw once from hz-1 and region sh" {
		t.Fatalf("sh-2 saw %v", got)
	}
}

func TestDelegateTo(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - name: delegated
      rec: 'for {{ .inventory_hostname }}'
      delegate_to: sh-1
    - name: to the controller
      rec: 'local {{ .node_ip }}'
      delegate_to: localhost
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, c := range e.rec.all() {
		switch {
		case strings.HasPrefix(c.Msg, "for "):
			if c.Msg != "for "+c.Host || c.Conn != "&{sh-1}" {
				t.Errorf("delegated call %+v: want target vars and sh-1's connection", c)
			}
		case strings.HasPrefix(c.Msg, "local "):
			if c.Conn != "&{localhost}" || !strings.HasPrefix(c.Msg, "local 10.0.0.1") {
				t.Errorf("localhost call %+v", c)
			}
		}
	}
	for _, ev := range e.sink.results("delegated") {
		if ev.Delegate != "sh-1" {
			t.Errorf("event %+v has no delegate", ev)
		}
	}
	if n, _ := e.dials.Load("sh-1"); n == nil {
		t.Fatal("sh-1 was never dialed")
	}
}

func TestOneConnectionPerHost(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - rec: a
    - rec: b
    - rec: c
      delegate_to: hz-1
- name: again
  hosts: all
  tasks:
    - rec: d
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	e.dials.Range(func(k, v any) bool {
		if n := v.(interface{ Load() int32 }).Load(); n != 1 {
			t.Errorf("%v dialed %d times, want once", k, n)
		}
		return true
	})
}

func TestLoopRegister(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  vars: {names: [x, y]}
  tasks:
    - name: loop
      rec: 'item {{ .item }}'
      loop: [a, b, c]
      register: r
    - name: loop var
      rec: 'n {{ .n }}'
      loop: '{{ .names }}'
      loop_control: {loop_var: n}
      register: r2
    - rec: '{{ len .r.results }} {{ (index .r.results 1).msg_arg }} {{ (index .r.results 2).item }} {{ (index .r2.results 0).n }}'
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
	want := []string{"item a", "item b", "item c", "n x", "n y", "3 item b c x"}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	items := 0
	for _, ev := range e.sink.results("loop") {
		if ev.Item != nil {
			items++
		}
	}
	if items != 3 {
		t.Fatalf("%d per-item events, want 3", items)
	}
}

func TestWhen(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1:sh-1
  tasks:
    - name: only hz
      rec: hz
      when: region == "hz"
      register: w
    - rec: 'skipped={{ .w.skipped }} changed={{ .w.changed }}'
    - name: loop when
      rec: 'i{{ .item }}'
      loop: [1, 2, 3]
      when: item > 1
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("sh-1"); !reflect.DeepEqual(got, []string{"skipped=true changed=false", "i2", "i3"}) {
		t.Fatalf("sh-1 calls %v", got)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"hz", "skipped=false changed=false", "i2", "i3"}) {
		t.Fatalf("hz-1 calls %v", got)
	}
	if st := e.sink.recap()["sh-1"]; st.Skipped != 1 {
		t.Fatalf("sh-1 stats %+v", *st)
	}
}

func TestUntilRetries(t *testing.T) {
	tests := []struct {
		name      string
		succeedAt int
		retries   string // the retries line, "" for none
		wantCalls int
		wantCode  int
	}{
		{"succeeds on the third try", 3, "retries: 5", 3, ExitOK},
		{"gives up", 10, "retries: 2", 3, ExitFailed},
		// As Ansible: retries N is N+1 attempts at most, retries 0 exactly one, and
		// without retries the default of 3 gives 4.
		{"retries 0 makes one attempt", 10, "retries: 0", 1, ExitFailed},
		{"default retries make four attempts", 10, "", 4, ExitFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, fmt.Sprintf(`
- name: p
  hosts: hz-1
  tasks:
    - name: wait
      flaky: {succeed_at: %d}
      register: f
      until: result.rc == 0 && f.rc == 0
      %s
      delay: 1ms
    - rec: 'attempts {{ .f.attempts }}'
`, tc.succeedAt, tc.retries), Options{}, nil)
			if code := e.run(); code != tc.wantCode {
				t.Fatalf("exit %d, want %d", code, tc.wantCode)
			}
			if got := e.rec.attempts["hz-1"]; got != tc.wantCalls {
				t.Fatalf("%d calls, want %d", got, tc.wantCalls)
			}
			if tc.wantCode == ExitOK {
				if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"attempts 3"}) {
					t.Fatalf("calls %v", got)
				}
			}
			retries := 0
			for _, ev := range e.sink.all() {
				if ev.Kind == events.HostOutput && ev.Stream == "retry" {
					retries++
				}
			}
			if retries != tc.wantCalls-1 {
				t.Fatalf("%d retry notices, want %d", retries, tc.wantCalls-1)
			}
		})
	}
}

func TestFailedWhenChangedWhen(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: not really failed
      rec: {msg: a, fail: true, rc: 3}
      failed_when: result.rc > 5
      changed_when: false
    - name: really failed
      rec: {msg: b, rc: 7, change: true}
      register: b
      failed_when: b.rc > 5
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	if rs := e.sink.results("not really failed"); len(rs) != 1 || rs[0].Status != events.OK {
		t.Fatalf("results %+v", rs)
	}
	if rs := e.sink.results("really failed"); len(rs) != 1 || rs[0].Status != events.Failed {
		t.Fatalf("results %+v", rs)
	}
}

func TestBlockRescueAlways(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - name: guarded
      block:
        - rec: {msg: b1, fail: '{{ eq .inventory_hostname "hz-1" }}'}
        - rec: b2
      rescue:
        - rec: r1
      always:
        - rec: a1
    - name: unguarded
      block:
        - rec: {msg: c1, fail: '{{ eq .inventory_hostname "hz-2" }}'}
      always:
        - rec: a2
    - rec: end
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	want := map[string][]string{
		"hz-1": {"b1", "r1", "a1", "c1", "a2", "end"},
		"hz-2": {"b1", "b2", "a1", "c1", "a2"},
		"hz-3": {"b1", "b2", "a1", "c1", "a2", "end"},
	}
	for host, w := range want {
		if got := e.msgsOf(host); !reflect.DeepEqual(got, w) {
			t.Errorf("%s ran %v, want %v", host, got, w)
		}
	}
	st := e.sink.recap()
	if st["hz-1"].Rescued != 1 || st["hz-1"].Failed != 0 {
		t.Errorf("hz-1 stats %+v", *st["hz-1"])
	}
	if st["hz-2"].Failed != 1 {
		t.Errorf("hz-2 stats %+v", *st["hz-2"])
	}
}

func TestTagSelection(t *testing.T) {
	tests := []struct {
		tags, only, skip []string
		want             bool
	}{
		{nil, nil, nil, true},
		{[]string{"never"}, nil, nil, false},
		{[]string{"a"}, []string{"a"}, nil, true},
		{[]string{"b"}, []string{"a"}, nil, false},
		{nil, []string{"a"}, nil, false},
		{[]string{"always"}, []string{"a"}, nil, true},
		{[]string{"always"}, nil, []string{"always"}, false},
		{[]string{"never", "debug"}, []string{"debug"}, nil, true},
		{[]string{"never", "debug"}, []string{"all"}, nil, false},
		{[]string{"a"}, nil, []string{"a"}, false},
		{[]string{"a"}, []string{"all"}, nil, true},
		{[]string{"a"}, []string{"tagged"}, nil, true},
		{nil, []string{"untagged"}, nil, true},
		{[]string{"a", "b"}, []string{"a"}, []string{"b"}, false},
	}
	for _, tc := range tests {
		if got := tagSelected(tc.tags, tc.only, tc.skip); got != tc.want {
			t.Errorf("tags %v --tags %v --skip-tags %v: %v, want %v", tc.tags, tc.only, tc.skip, got, tc.want)
		}
	}
}

func TestTagsOnTasksAndBlocks(t *testing.T) {
	pb := `
- name: p
  hosts: hz-1
  tasks:
    - {rec: a, tags: [a]}
    - {rec: b, tags: [b]}
    - {rec: always, tags: [always]}
    - {rec: never, tags: [never]}
    - block:
        - rec: inblock
      tags: [blk]
`
	tests := []struct {
		only, skip []string
		want       []string
	}{
		{nil, nil, []string{"a", "b", "always", "inblock"}},
		{[]string{"a"}, nil, []string{"a", "always"}},
		{[]string{"blk"}, nil, []string{"always", "inblock"}},
		{nil, []string{"b", "always"}, []string{"a", "inblock"}},
		{[]string{"never"}, nil, []string{"always", "never"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.only, tc.skip), func(t *testing.T) {
			e := mustLoad(t, pb, Options{Tags: tc.only, SkipTags: tc.skip}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ran %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckModeCallsOnlyCheck(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: probe
      rec: {msg: a, change: true}
      register: a
    - name: cannot tell
      rec: {msg: b, unknown: true}
    - name: forced
      rec: forced
      check_mode: false
    - rec: 'saw {{ .a.changed }} {{ .a.host }} {{ .omsbook_check_mode }}'
`, Options{Check: true}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, c := range e.rec.all() {
		if c.Check != (c.Msg != "forced") {
			t.Errorf("call %q ran with check=%v", c.Msg, c.Check)
		}
	}
	if got := e.msgsOf("hz-1"); got[len(got)-1] != "saw true hz-1 true" {
		t.Errorf("registered probe: %v", got)
	}
	rs := e.sink.results("cannot tell")
	if len(rs) != 1 || !rs[0].Unknown || rs[0].Status == events.Failed || !rs[0].Check {
		t.Fatalf("unknown result %+v", rs)
	}
	if rs := e.sink.results("probe"); rs[0].Status != events.Changed {
		t.Fatalf("probe result %+v", rs)
	}
}

func TestNoLog(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: quiet
      rec: {msg: topsecretvalue}
      no_log: true
      register: q
    - name: loud
      rec: 'len {{ len .q.msg_arg }}'
`, Options{Verbosity: 1}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(e.sink.jsonText(t), "topsecretvalue") {
		t.Fatal("no_log output leaked into the events")
	}
	rs := e.sink.results("quiet")
	if len(rs) != 1 || rs[0].Msg != noLogMsg || rs[0].Result["censored"] != noLogMsg {
		t.Fatalf("quiet result %+v", rs)
	}
	if got := e.msgsOf("hz-1"); got[1] != "len 14" {
		t.Fatalf("registered value lost: %v", got)
	}
}

func TestTimeoutKillsTheTask(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: slow
      rec: {msg: slow, sleep: 10s}
      timeout: 200ms
`, Options{}, nil)
	start := time.Now()
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	rs := e.sink.results("slow")
	if len(rs) != 1 || rs[0].Status != events.Failed || !strings.Contains(rs[0].Msg, "timed out after 200ms") {
		t.Fatalf("result %+v", rs)
	}
}

func TestSecretsMaskedInEvents(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  vars: {token: "tok-{{ .inventory_hostname }}-play-secret"}
  secrets: [token]
  tasks:
    - name: uses secrets
      rec: 'db {{ .db.password }} token {{ .token }}'
    - name: secret arg
      rec: {msg: hi, password: "argument-secret-value"}
    - name: fails with secret
      rec: {msg: 'bad {{ .db.password }}', fail: true}
`, Options{Verbosity: 1}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	text := e.sink.jsonText(t)
	for _, s := range []string{"hunter2secret", "tok-hz-1-play-secret", "argument-secret-value"} {
		if strings.Contains(text, s) {
			t.Errorf("secret %q appears in the events", s)
		}
	}
	if !strings.Contains(text, "********") {
		t.Error("no masked value in the events")
	}
	// The module itself saw the real values.
	if got := e.msgsOf("hz-1"); got[0] != "db hunter2secret token tok-hz-1-play-secret" {
		t.Errorf("module saw %q", got[0])
	}
	sawOutput := false
	for _, ev := range e.sink.all() {
		if ev.Kind == events.HostOutput && strings.Contains(ev.Line, "the password is ********") {
			sawOutput = true
		}
	}
	if !sawOutput {
		t.Error("no masked live output line at -v")
	}
}

func TestUnreachableHostExit4(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - rec: a
    - rec: b
`, Options{}, nil)
	e.unreachable["sh-2"] = true
	if code := e.run(); code != ExitUnreachable {
		t.Fatalf("exit %d, want %d", code, ExitUnreachable)
	}
	if got := sorted(e.hostsFor("b")); !reflect.DeepEqual(got, []string{"hz-1", "hz-2", "hz-3", "sh-1"}) {
		t.Fatalf("b ran on %v", got)
	}
	st := e.sink.recap()["sh-2"]
	if st.Unreachable != 1 {
		t.Fatalf("sh-2 stats %+v", *st)
	}
	if n, _ := e.dials.Load("sh-2"); n.(interface{ Load() int32 }).Load() != 1 {
		t.Fatal("an unreachable host was dialed again")
	}
}

func TestStopLetsRunningTasksFinish(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - rec: {msg: a, sleep: 200ms}
    - rec: b
`, Options{}, nil)
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.plan.stop()
	}()
	if code := e.run(); code != ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, ExitInterrupted)
	}
	if n := len(e.sink.results("")); n != 3 {
		t.Fatalf("%d results, want the 3 of the running task", n)
	}
	if e.hostsFor("b") != nil {
		t.Fatal("a task started after Stop")
	}
	if e.sink.recap() == nil {
		t.Fatal("no recap after Stop")
	}
	if end := e.sink.end(); end.ExitCode != ExitInterrupted || !strings.Contains(end.Msg, "--start-at-task") {
		t.Fatalf("run end %+v does not say how to go on", end)
	}
}

func TestStopResumesAtTheNextTask(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - name: first
      rec: {msg: a, sleep: 200ms}
    - block:
        - name: second
          rec: b
`, Options{}, nil)
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.plan.stop()
	}()
	if code := e.run(); code != ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, ExitInterrupted)
	}
	if end := e.sink.end(); !strings.Contains(end.Msg, "--start-at-task second") {
		t.Fatalf("the resume hint %q does not start at the task that did not run (second)", end.Msg)
	}
}

func TestStopMidTaskResumesAtThatTask(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - name: slow
      rec: {msg: a, sleep: 200ms}
    - name: after
      rec: b
`, Options{Forks: 2}, nil)
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.plan.stop()
	}()
	if code := e.run(); code != ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, ExitInterrupted)
	}
	if end := e.sink.end(); !strings.Contains(end.Msg, "--start-at-task slow") {
		t.Fatalf("the resume hint %q does not start at the task some hosts never started (slow)", end.Msg)
	}
}

func TestStopStartsNoMoreHosts(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - rec: {msg: a, sleep: 200ms}
`, Options{Forks: 2}, nil)
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.plan.stop()
	}()
	if code := e.run(); code != ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, ExitInterrupted)
	}
	if got := len(e.hostsFor("a")); got != 2 {
		t.Fatalf("%d hosts ran the task, want the 2 that had started", got)
	}
}

func TestCancelClosesAtOnce(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - shell: sleep 30
`, Options{}, nil)
	if _, ok := e.lookup("shell"); !ok {
		t.Skip("the shell module is not in the registry yet")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	code := e.plan.run(ctx, e.sink)
	if code != ExitInterrupted {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	if e.sink.recap() == nil {
		t.Fatal("no recap after cancel")
	}
}

func TestStartAtTask(t *testing.T) {
	e := mustLoad(t, `
- name: p1
  hosts: hz-1
  tasks:
    - rec: a
    - {name: second, rec: b}
- name: p2
  hosts: hz-1
  tasks:
    - rec: c
`, Options{StartAtTask: "second"}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Fatalf("ran %v", got)
	}
	if _, err := loadEnv(t, "- name: p\n  hosts: hz-1\n  tasks:\n    - rec: a\n", Options{StartAtTask: "nope"}, nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("an unknown --start-at-task gave %v", err)
	}
}

func TestEnvironmentAndBecome(t *testing.T) {
	t.Setenv("H3_TEST_BECOME_PW", "sudo-pass-from-env")
	inv := `
connection: local
become_password: '{{ env "H3_TEST_BECOME_PW" }}'
regions:
  hz:
    nodes:
      hz-1: {}
`
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  environment: {A: "play-{{ .region }}"}
  become: true
  tasks:
    - rec: 'x {{ env "H3_TEST_BECOME_PW" }}'
      environment: {B: "task"}
      become_user: oms
    - rec: y
      become: false
`, Options{}, map[string]string{"inv.yml": inv})
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	calls := e.rec.all()
	c := calls[0]
	if c.Env["A"] != "play-hz" || c.Env["B"] != "task" {
		t.Fatalf("environment %v", c.Env)
	}
	if !c.Become || c.BecomeUser != "oms" || c.BecomePassword != "sudo-pass-from-env" {
		t.Fatalf("become settings %+v", c)
	}
	if calls[1].Become {
		t.Fatal("become: false on the task did not win over the play")
	}
	if strings.Contains(e.sink.jsonText(t), "sudo-pass-from-env") {
		t.Fatal("the become password appears in the events")
	}
}

func TestRollbackHint(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  vars: {rollback_hint: "omsbook run rollback.yml -i inv.yml"}
  tasks:
    - name: breaks
      rec: {msg: x, fail: true}
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	msg := e.sink.end().Msg
	if !strings.Contains(msg, `--start-at-task breaks`) || !strings.Contains(msg, "omsbook run rollback.yml -i inv.yml") {
		t.Fatalf("run end message %q", msg)
	}
}

func TestShellModuleOnLocalConnection(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: echo
      shell: 'echo hello {{ .inventory_hostname }}; echo err >&2'
      register: out
    - rec: '{{ .out.stdout }}|{{ .out.rc }}'
    - name: killed
      shell: sleep 20
      timeout: 300ms
`, Options{}, nil)
	if _, ok := e.lookup("shell"); !ok {
		t.Skip("the shell module is not in the registry yet")
	}
	start := time.Now()
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("hz-1"); len(got) != 1 || got[0] != "hello hz-1|0" {
		t.Fatalf("registered shell result: %v", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout did not kill the command: %s", d)
	}
	rs := e.sink.results("killed")
	if len(rs) != 1 || !strings.Contains(rs[0].Msg, "timed out") {
		t.Fatalf("killed result %+v", rs)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		pb    string
		files map[string]string
		want  string // substring of the error
		line  int
	}{
		{"undefined variable", `
- name: p
  hosts: all
  tasks:
    - name: bad
      rec: 'x {{ .nope }}'
`, nil, `task "bad" on hz-1: argument "msg": undefined variable "nope"`, 5},
		{"undefined nested key", `
- name: p
  hosts: all
  tasks:
    - name: bad
      rec: {msg: '{{ .db.nokey }}'}
`, nil, `map has no entry for key "nokey"`, 5},
		{"template does not parse", `
- name: p
  hosts: all
  tasks:
    - rec: '{{ .x'
`, nil, `argument "msg"`, 4},
		{"unknown module", `
- name: p
  hosts: all
  tasks:
    - nosuchmodule: x
`, nil, `nosuchmodule`, 4},
		{"wrong argument type", `
- name: p
  hosts: all
  tasks:
    - rec: {msg: x, sleep: forever}
`, nil, `argument "sleep"`, 4},
		{"bad choice", `
- name: p
  hosts: all
  tasks:
    - rec: {msg: x, kind: c}
`, nil, `must be one of`, 4},
		{"validator", `
- name: p
  hosts: all
  tasks:
    - name: both
      one_of: {a: x, b: y}
`, nil, `give exactly one of a and b`, 5},
		{"condition does not compile", `
- name: p
  hosts: all
  tasks:
    - rec: x
      when: region ==
`, nil, `condition`, 5},
		{"condition names an unknown variable", `
- name: p
  hosts: all
  tasks:
    - rec: x
      when: nosuch == 1
`, nil, `unknown name nosuch`, 5},
		{"delegate_to unknown host", `
- name: p
  hosts: all
  tasks:
    - rec: x
      delegate_to: nowhere-1
`, nil, `delegate_to "nowhere-1": no such host`, 5},
		{"pattern matches no host", `
- name: p
  hosts: nosuchgroup
  tasks:
    - rec: x
`, nil, `nosuchgroup`, 1},
		{"unreadable vars_files", `
- name: p
  hosts: all
  vars_files: [missing.yml]
  tasks:
    - rec: x
`, nil, `vars_files: cannot read`, 3},
		{"key missing on the second host only", `
- name: p
  hosts: all
  tasks:
    - name: per host
      rec: 'port {{ .cfg.port }}'
`, map[string]string{"inv.yml": `
connection: local
regions:
  hz:
    nodes:
      hz-1: {vars: {cfg: {port: 1}}}
      hz-2: {vars: {cfg: {host: x}}}
`}, `task "per host" on hz-2: argument "msg": template: map has no entry for key "port"`, 5},
		{"loop var outside a loop", `
- name: p
  hosts: all
  tasks:
    - rec: '{{ .item }}'
`, nil, `undefined variable "item"`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadEnv(t, tc.pb, Options{}, tc.files)
			if err == nil {
				t.Fatal("load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			var pe *playbook.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
			}
			if pe.Pos.Line != tc.line || !strings.HasSuffix(pe.Pos.File, "play.yml") {
				t.Fatalf("error at %s, want line %d: %v", pe.Pos, tc.line, err)
			}
		})
	}
}

func TestDeferredTemplatesPassLoad(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - rec: first
      register: r
    - set_fact: {later: 42}
    - rec: '{{ .r.msg_arg }} {{ .later }}'
      when: r.changed == false && later == 42
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"first", "first 42"}) {
		t.Fatalf("ran %v", got)
	}
}

func TestExtraVarsParsing(t *testing.T) {
	got, err := parseExtraVars([]string{"a=1", "b=true", "c=hello world", "d=[1, 2]", "e=", "f={x: 1}", `{"g": "h"}`})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1, "b": true, "c": "hello world", "d": []any{1, 2}, "e": "", "f": map[string]any{"x": 1}, "g": "h"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if _, err := parseExtraVars([]string{"novalue"}); err == nil {
		t.Fatal("a -e without = was accepted")
	}
}

func TestHostsAndTasksListing(t *testing.T) {
	e := mustLoad(t, `
- name: first
  hosts: hz
  tags: [p]
  tasks:
    - {name: one, rec: a, tags: [t1]}
    - block:
        - {name: two, rec: b}
- name: second
  hosts: sh-1
  tasks:
    - {name: three, rec: c}
`, Options{}, nil)
	hosts := e.plan.hosts()
	if len(hosts["first"]) != 3 || len(hosts["second"]) != 1 || hosts["second"][0].Region != "sh" {
		t.Fatalf("hosts %+v", hosts)
	}
	if pw, _ := inventory.PathValue(hosts["first"][0].Vars, "db.password"); pw != "********" {
		t.Fatalf("secret shown in host vars: %v", pw)
	}
	var names []string
	for _, ti := range e.plan.tasks() {
		names = append(names, ti.Play+"/"+ti.Name+"/"+strings.Join(ti.Tags, ","))
	}
	want := []string{"first/one/p,t1", "first/two/p", "second/three/"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tasks %v, want %v", names, want)
	}
}

func TestVarsThatUseRunTimeNames(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1:hz-2
  vars:
    greeting: 'hello {{ .r.msg_arg }}'
    shout: '{{ upper .greeting }}'
  tasks:
    - rec: first
      register: r
      run_once: true
    - rec: '{{ .shout }} {{ (index .hostvars "hz-1").r.msg_arg }} {{ .tv }}'
      vars: {tv: 'tv-{{ .r.host }}'}
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
	if got := e.msgsOf("hz-2"); !reflect.DeepEqual(got, []string{"HELLO FIRST first tv-hz-1"}) {
		t.Fatalf("hz-2 ran %v", got)
	}
}

func TestBlockKeywordsApplyToItsTasks(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1:sh-1
  tasks:
    - name: hz only
      when: region == "hz"
      environment: {FROM: block}
      ignore_errors: true
      block:
        - rec: {msg: a, fail: true}
        - rec: b
          when: inventory_hostname == "hz-1"
          environment: {OWN: task}
    - rec: end
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.msgsOf("sh-1"); !reflect.DeepEqual(got, []string{"end"}) {
		t.Fatalf("sh-1 ran %v", got)
	}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, []string{"a", "b", "end"}) {
		t.Fatalf("hz-1 ran %v", got)
	}
	b := e.rec.all()[1]
	if b.Env["FROM"] != "block" || b.Env["OWN"] != "task" {
		t.Fatalf("environment of b: %v", b.Env)
	}
}

func TestLoadErrorsMaskSecrets(t *testing.T) {
	_, err := loadEnv(t, `
- name: p
  hosts: hz-1
  tasks:
    - rec: {msg: x, password: [not-a-string-secret-value]}
`, Options{}, nil)
	if err == nil {
		t.Fatal("a list for a string argument was accepted")
	}
	if strings.Contains(err.Error(), "not-a-string-secret-value") {
		t.Fatalf("the error shows a secret argument: %v", err)
	}
}

func TestGenericModulesForReal(t *testing.T) {
	if _, ok := registry.Lookup("copy"); !ok {
		t.Skip("the copy module is not in the registry yet")
	}
	out := t.TempDir()
	pb := `
- name: real modules
  hosts: hz-1:hz-2
  tasks:
    - name: write
      copy: {content: "node {{ .inventory_hostname }}\n", dest: "{{ .out }}/{{ .inventory_hostname }}.txt"}
      register: w
    - name: look
      stat: {path: "{{ .out }}/{{ .inventory_hostname }}.txt"}
      register: st
    - name: read
      command: {argv: [cat, "{{ .out }}/{{ .inventory_hostname }}.txt"]}
      register: c
    - name: verify
      assert:
        that: ['c.stdout == "node " + inventory_hostname', 'c.rc == 0', 'st.stat.exists']
      when: '!omsbook_check_mode'
`
	runOnce := func(check bool) *env {
		e := mustLoad(t, pb, Options{Check: check, ExtraVars: []string{"out=" + out}}, nil)
		if code := e.run(); code != ExitOK {
			for _, ev := range e.sink.results("") {
				t.Logf("%s %s %s: %s", ev.Task, ev.Host, ev.Status, ev.Msg)
			}
			t.Fatalf("check=%v: exit %d", check, code)
		}
		return e
	}
	status := func(e *env, task string) []events.Status {
		var out []events.Status
		for _, ev := range e.sink.results(task) {
			out = append(out, ev.Status)
		}
		return out
	}

	e := runOnce(true)
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("--check wrote %d files", len(entries))
	}
	if got := status(e, "write"); !reflect.DeepEqual(got, []events.Status{events.Changed, events.Changed}) {
		t.Fatalf("check: write %v", got)
	}
	for _, ev := range e.sink.results("read") {
		if !ev.Unknown {
			t.Fatalf("check: command result %+v is not unknown", ev)
		}
	}

	e = runOnce(false)
	if got := status(e, "write"); !reflect.DeepEqual(got, []events.Status{events.Changed, events.Changed}) {
		t.Fatalf("first run: write %v", got)
	}
	e = runOnce(false)
	if got := status(e, "write"); !reflect.DeepEqual(got, []events.Status{events.OK, events.OK}) {
		t.Fatalf("second run: write %v, want ok (idempotent)", got)
	}
	e = runOnce(true)
	if got := status(e, "write"); !reflect.DeepEqual(got, []events.Status{events.OK, events.OK}) {
		t.Fatalf("check after apply: write %v", got)
	}
}

func TestModulePanicFailsOnlyThatHost(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz
  tasks:
    - name: may panic
      rec: {msg: a, panic: '{{ eq .inventory_hostname "hz-2" }}'}
    - rec: b
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	if got := sorted(e.hostsFor("b")); !reflect.DeepEqual(got, []string{"hz-1", "hz-3"}) {
		t.Fatalf("b ran on %v", got)
	}
	for _, ev := range e.sink.results("may panic") {
		if ev.Host == "hz-2" && (ev.Status != events.Failed || !strings.Contains(ev.Msg, "crashed")) {
			t.Fatalf("hz-2 result %+v", ev)
		}
	}
}

func TestConfirm(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		want     []bool
		wantErr  bool
		wantText string
	}{
		{"--yes answers", Options{Yes: true}, []bool{true, true}, false, ""},
		{"no terminal", Options{}, nil, true, ""},
		{"answers from the terminal in turn", Options{Terminal: true, Stdin: strings.NewReader("y\nno\n")}, []bool{true, false}, false, "go on? [y/N]: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prompt strings.Builder
			tc.opts.Prompt = &prompt
			e := mustLoad(t, "- name: p\n  hosts: hz-1\n  tasks:\n    - rec: a\n", tc.opts, nil)
			r := &run{p: e.plan}
			var got []bool
			for range 2 {
				ok, err := r.confirm(context.Background(), "go on?")
				if err != nil {
					if !tc.wantErr || !strings.Contains(err.Error(), "--yes") {
						t.Fatalf("confirm: %v", err)
					}
					return
				}
				got = append(got, ok)
			}
			if tc.wantErr {
				t.Fatal("confirm without a terminal did not fail")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("answers %v, want %v", got, tc.want)
			}
			if tc.wantText != "" && !strings.Contains(prompt.String(), tc.wantText) {
				t.Fatalf("prompt %q", prompt.String())
			}
		})
	}
}

func TestUntilInCheckModeDoesNotWait(t *testing.T) {
	e := mustLoad(t, `
- name: p
  hosts: hz-1
  tasks:
    - name: probe says not yet
      rec: {msg: a, rc: 1}
      until: result.rc == 0
      retries: 50
      delay: 1s
    - name: probe cannot tell
      flaky: {succeed_at: 1}
      until: result.rc == 0
      retries: 50
      delay: 1s
`, Options{Check: true}, nil)
	start := time.Now()
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("check mode waited %s", d)
	}
	for _, task := range []string{"probe says not yet", "probe cannot tell"} {
		rs := e.sink.results(task)
		if len(rs) != 1 || !rs[0].Unknown || rs[0].Status == events.Failed {
			t.Fatalf("%s: %+v", task, rs)
		}
	}
}

func TestDownHostIsUnreachableThroughTheRealTransport(t *testing.T) {
	// Nothing listens on port 1 of this loopback address: a dial is refused at once.
	inv := `
connection: ssh
port: 1
known_hosts: /dev/null
regions:
  hz:
    nodes:
      down-1: {address: 127.0.0.250}
      up-1: {connection: local}
`
	e := mustLoad(t, `
- name: p
  hosts: all
  tasks:
    - rec: a
    - rec: b
`, Options{}, map[string]string{"inv.yml": inv})
	e.plan.dial = defaultDial // the real transport
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := e.plan.run(ctx, e.sink); code != ExitUnreachable {
		t.Fatalf("exit %d, want %d", code, ExitUnreachable)
	}
	if got := e.msgsOf("up-1"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("the reachable host ran %v", got)
	}
	var msg string
	for _, ev := range e.sink.results("") {
		if ev.Host == "down-1" {
			if ev.Status != events.Unreachable {
				t.Fatalf("down-1: %+v", ev)
			}
			msg = ev.Msg
		}
	}
	if !strings.Contains(msg, "down-1") {
		t.Fatalf("unreachable message %q does not name the host", msg)
	}
}
