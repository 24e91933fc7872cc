package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/playbook"
)

// The tests in this file hold omsbook to the user contract of design.md section 2 where an
// audit found it deviating.

// TestRegisteredFailedSurvivesIgnoreErrors: ignore_errors lets the play go on, but the
// registered value still says the task failed, for a single task and for a loop alike.
func TestRegisteredFailedSurvivesIgnoreErrors(t *testing.T) {
	tests := []struct {
		name string
		task string
		want string
	}{
		{"single task", `
    - rec: {msg: one, fail: true}
      ignore_errors: true
      register: r
    - rec: 'failed={{ .r.failed }}'
`, "failed=true"},
		{"loop with a failed item", `
    - rec: {msg: '{{ .item }}', fail: '{{ eq .item "b" }}'}
      loop: [a, b]
      ignore_errors: true
      register: r
    - rec: 'failed={{ .r.failed }} item0={{ (index .r.results 0).failed }} item1={{ (index .r.results 1).failed }}'
`, "failed=true item0=false item1=true"},
		{"loop whose failures failed_when clears", `
    - rec: {msg: '{{ .item }}', fail: true}
      loop: [a]
      failed_when: false
      register: r
    - rec: 'failed={{ .r.failed }}'
`, "failed=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustLoad(t, "- name: p\n  hosts: hz-1\n  tasks:"+tt.task, Options{}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
			}
			got := e.msgsOf("hz-1")
			if len(got) == 0 || !reflect.DeepEqual(got[len(got)-1], tt.want) {
				t.Fatalf("last message %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadErrorHints: a load error points at the place that is wrong and gives the fix that
// fits its cause; "define it" only when a variable is missing.
func TestLoadErrorHints(t *testing.T) {
	tests := []struct {
		name      string
		pb        string
		line, col int
		fix       string
	}{
		{"unknown template function", `
- name: p
  hosts: hz-1
  tasks:
    - rec: '{{ .color | nofunc }}'
`, 4, 12, templateSyntaxFix},
		{"unclosed action", `
- name: p
  hosts: hz-1
  tasks:
    - rec: {msg: '{{ .color '}
`, 4, 18, templateSyntaxFix},
		{"template that fails on its values", `
- name: p
  hosts: hz-1
  tasks:
    - rec: '{{ index .color 30 }}'
`, 4, 12, templateValueFix},
		{"undefined variable", `
- name: p
  hosts: hz-1
  tasks:
    - rec: '{{ .nope }}'
`, 4, 12, undefinedFix},
		{"play variable that does not parse", `
- name: p
  hosts: hz-1
  vars:
    ok: 1
    bad: 'x {{ not rendered'
  tasks:
    - rec: '{{ .bad }}'
`, 5, 10, templateSyntaxFix},
		{"play variable naming an undefined one", `
- name: p
  hosts: hz-1
  vars:
    bad: 'x {{ .nope }}'
  tasks:
    - rec: '{{ .bad }}'
`, 4, 10, "define the variable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadEnv(t, tc.pb, Options{}, nil)
			var pe *playbook.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
			}
			if pe.Pos.Line != tc.line || pe.Pos.Col != tc.col {
				t.Errorf("error at %d:%d, want %d:%d: %v", pe.Pos.Line, pe.Pos.Col, tc.line, tc.col, err)
			}
			if !strings.Contains(pe.Fix, tc.fix) {
				t.Errorf("fix %q, want %q: %v", pe.Fix, tc.fix, err)
			}
		})
	}
}

// TestPlayTitle: a play without a name is shown by its hosts pattern, as "PLAY [all]" in
// ansible-playbook, never as an empty "PLAY []".
func TestPlayTitle(t *testing.T) {
	tests := []struct {
		name, play, want string
	}{
		{"named play", "- name: stop the old containers\n  hosts: hz-1\n", "stop the old containers"},
		{"unnamed play", "- hosts: 'hz:&canary'\n", "hz:&canary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, tc.play+"  gather_facts: false\n  tasks:\n    - rec: x\n", Options{}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
			}
			var got []string
			for _, ev := range e.sink.all() {
				if ev.Kind == events.PlayStart || ev.Kind == events.TaskStart || ev.Kind == events.HostResult {
					got = append(got, ev.Play)
				}
			}
			if len(got) != 3 {
				t.Fatalf("%d play, task and result events, want 3", len(got))
			}
			for _, g := range got {
				if g != tc.want {
					t.Fatalf("play titles %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestVarsFileErrorsPointIntoTheFile: a vars file (-e @file or vars_files) whose YAML is wrong
// is reported at its own file:line:column, as every bad input is.
func TestVarsFileErrorsPointIntoTheFile(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		line, col int
		msg       string
	}{
		{"syntax error", "a: 1\nb: [1,\n", 2, 1, "malformed YAML"},
		{"a list, not a map", "- a\n- b\n", 1, 1, "must be a mapping"},
	}
	for _, tc := range tests {
		t.Run("extra vars "+tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "extra.yml")
			if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadEnv(t, "- hosts: hz-1\n  tasks:\n    - rec: x\n", Options{ExtraVars: []string{"@" + file}}, nil)
			wantErrorAt(t, err, file, tc.line, tc.col, tc.msg)
		})
		t.Run("vars_files "+tc.name, func(t *testing.T) {
			e, err := loadEnv(t, "- hosts: hz-1\n  vars_files: [vars.yml]\n  tasks:\n    - rec: x\n", Options{}, map[string]string{"vars.yml": tc.content})
			wantErrorAt(t, err, filepath.Join(e.dir, "vars.yml"), tc.line, tc.col, tc.msg)
		})
	}
}

func wantErrorAt(t *testing.T, err error, file string, line, col int, msg string) {
	t.Helper()
	var pe *playbook.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
	}
	if pe.Pos.File != file || pe.Pos.Line != line || pe.Pos.Col != col {
		t.Errorf("error at %s, want %s:%d:%d: %v", pe.Pos, file, line, col, err)
	}
	if !strings.Contains(pe.Msg, msg) {
		t.Errorf("message %q does not say %q", pe.Msg, msg)
	}
}

// TestPlayHostsIsTheBatch: play_hosts is the hosts of the current batch, as Ansible's
// play_hosts (ansible_play_batch) is; without serial it is every host of the play.
func TestPlayHostsIsTheBatch(t *testing.T) {
	tests := []struct {
		name, serial string
		want         map[string]string
	}{
		{"no serial", "", map[string]string{"hz-1": "hz-1,hz-2,sh-1", "hz-2": "hz-1,hz-2,sh-1", "sh-1": "hz-1,hz-2,sh-1"}},
		{"serial 2", "  serial: 2\n", map[string]string{"hz-1": "hz-1,hz-2", "hz-2": "hz-1,hz-2", "sh-1": "sh-1"}},
		{"serial list", "  serial: [1, 2]\n", map[string]string{"hz-1": "hz-1", "hz-2": "hz-2,sh-1", "sh-1": "hz-2,sh-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, "- hosts: hz-1:hz-2:sh-1\n"+tc.serial+"  tasks:\n    - rec: '{{ join \",\" .play_hosts }}'\n", Options{}, nil)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
			}
			for host, want := range tc.want {
				if got := e.msgsOf(host); len(got) != 1 || got[0] != want {
					t.Errorf("%s: play_hosts %q, want %q", host, got, want)
				}
			}
		})
	}
}

// TestAssertConditionsCheckedAtLoad: assert's that is a condition like when: one that does not
// compile or names an undefined variable is bad input found before the first connection.
func TestAssertConditionsCheckedAtLoad(t *testing.T) {
	tests := []struct {
		name, task string
		want       string // substring of the error; "" for none
	}{
		{"does not compile", `assert: {that: "color ==="}`, `argument "that": condition "color ===": unexpected token`},
		{"undefined variable in a list", `assert: {that: ["color == 'blue'", "nope == 1"]}`, "unknown name nope"},
		{"defined variables", `assert: {that: ["color == 'blue'", "len(region_nodes) == 3"]}`, ""},
		{"a register name of an earlier task", "rec: x\n      register: r\n    - assert: {that: \"r.changed == false\"}", ""},
		{"the loop variable", "assert: {that: \"item > 0\"}\n      loop: [1, 2]", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := loadEnv(t, "- hosts: hz-1\n  tasks:\n    - "+tc.task+"\n", Options{}, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				if code := e.run(); code != ExitOK {
					t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
				}
				return
			}
			var pe *playbook.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || pe.Pos.Line != 3 {
				t.Fatalf("error %q, want one at line 3 that says %q", err, tc.want)
			}
		})
	}
}

// TestRunStopsWhenAWholeBatchFails: as in ansible-playbook, when every host of a batch fails
// (or is unreachable), the run stops: no later batch and no later play starts. A batch with a
// survivor goes on, and so does a batch whose failures were rescued or ignored.
func TestRunStopsWhenAWholeBatchFails(t *testing.T) {
	const pb = `
- name: rolling
  hosts: hz-1:hz-2:sh-1
  %s
  tasks:
    - name: change
      rec: {msg: change, fail: '{{ has .inventory_hostname (list %s) }}'}
      %s
    - name: after
      rec: after
- name: next play
  hosts: hz-1:hz-2:sh-1
  tasks:
    - name: next
      rec: next
`
	tests := []struct {
		name                     string
		serial, failing, keyword string
		code                     int
		after, next              []string
	}{
		{"first batch of one fails", "serial: 1", `"hz-1"`, "", ExitFailed, nil, nil},
		{"second batch fails whole", "serial: [1, 2]", `"hz-2" "sh-1"`, "", ExitFailed, []string{"hz-1"}, nil},
		{"a batch with a survivor goes on", "serial: 2", `"hz-1"`, "", ExitFailed, []string{"hz-2", "sh-1"}, []string{"hz-2", "sh-1"}},
		{"every host of a play without serial", "", `"hz-1" "hz-2" "sh-1"`, "", ExitFailed, nil, nil},
		{"ignored failures do not count", "serial: 1", `"hz-1"`, "ignore_errors: true", ExitOK, []string{"hz-1", "hz-2", "sh-1"}, []string{"hz-1", "hz-2", "sh-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, fmt.Sprintf(pb, tc.serial, tc.failing, tc.keyword), Options{}, nil)
			if code := e.run(); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, e.sink.end().Msg)
			}
			if got := sorted(e.hostsFor("after")); !reflect.DeepEqual(got, sorted(tc.after)) && (len(got)+len(tc.after) > 0) {
				t.Errorf("after ran on %v, want %v", got, tc.after)
			}
			if got := sorted(e.hostsFor("next")); !reflect.DeepEqual(got, sorted(tc.next)) && (len(got)+len(tc.next) > 0) {
				t.Errorf("the next play ran on %v, want %v", got, tc.next)
			}
		})
	}
}

// TestTemplateFilesCheckedAtLoad: template's src is a template like any argument: validate and
// run read and render it for every host before the first connection, so that a missing file
// or an undefined variable in it is bad input at the file's own line and column.
func TestTemplateFilesCheckedAtLoad(t *testing.T) {
	tests := []struct {
		name      string
		tmplText  string
		src       string
		pre       string // tasks before the template task
		wantErr   string // "" for none
		line, col int
	}{
		{"defined variables", "ip={{ .node_ip }} {{ .color }}\n", "app.conf.tmpl", "", "", 0, 0},
		{"missing file", "", "nope.tmpl", "", "nope.tmpl not found on the controller", 0, 0},
		{"undefined variable", "a\nip={{ .nope }}\n", "app.conf.tmpl", "", `map has no entry for key "nope"`, 2, 7},
		{"undefined in a branch not taken", "{{ if false }}{{ .nope }}{{ end }}\n", "app.conf.tmpl", "", `undefined variable "nope"`, 1, 18},
		{"does not parse", "a\n{{ .color | nofn }}\n", "app.conf.tmpl", "", `function "nofn" not defined`, 2, 1},
		{"a register name is rendered at run time", "{{ .r.msg_arg }}\n", "app.conf.tmpl", "    - rec: hello\n      register: r\n", "", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "out-{{ .inventory_hostname }}")
			pb := "- hosts: hz-1:sh-1\n  tasks:\n" + tc.pre + "    - template: {src: " + tc.src + ", dest: '" + dest + "'}\n"
			e, err := loadEnv(t, pb, Options{}, map[string]string{"templates/app.conf.tmpl": tc.tmplText})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				if code := e.run(); code != ExitOK {
					t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
				}
				return
			}
			var pe *playbook.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not say %q", err, tc.wantErr)
			}
			if tc.line > 0 && (pe.Pos.File != filepath.Join(e.dir, "templates", "app.conf.tmpl") || pe.Pos.Line != tc.line || pe.Pos.Col != tc.col) {
				t.Fatalf("error at %s, want the template file at %d:%d: %v", pe.Pos, tc.line, tc.col, err)
			}
		})
	}
}

// TestTemplatedNamesAreShownRendered: a play or task name holding a template is shown
// rendered, as ansible-playbook shows "TASK [stop oms_hz-1_422]"; a name that cannot be
// rendered yet stays as written, and the resume hint keeps the name as written.
func TestTemplatedNamesAreShownRendered(t *testing.T) {
	e := mustLoad(t, `
- name: 'upgrade to {{ .version }}'
  hosts: hz-1
  vars: {version: 4.2.3}
  tasks:
    - name: 'stop on {{ .inventory_hostname }} in {{ .rname }}'
      rec: x
    - name: 'item {{ .item }}'
      rec: '{{ .item }}'
      loop: [a]
    - set_fact: {step: two}
    - name: 'step {{ .step }}'
      rec: {msg: boom, fail: true}
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d, want %d", code, ExitFailed)
	}
	var plays, tasks []string
	for _, ev := range e.sink.all() {
		switch ev.Kind {
		case events.PlayStart:
			plays = append(plays, ev.Play)
		case events.TaskStart:
			tasks = append(tasks, ev.Task)
		}
	}
	if want := []string{"upgrade to 4.2.3"}; !reflect.DeepEqual(plays, want) {
		t.Errorf("plays %q, want %q", plays, want)
	}
	if want := []string{"stop on hz-1 in hangzhou", "item {{ .item }}", "set_fact", "step two"}; !reflect.DeepEqual(tasks, want) {
		t.Errorf("tasks %q, want %q", tasks, want)
	}
	if rs := e.sink.results("step two"); len(rs) != 1 || rs[0].Status != events.Failed {
		t.Errorf("results of the rendered task name: %+v", rs)
	}
	if end := e.sink.end(); !strings.Contains(end.Msg, `--start-at-task 'step {{ .step }}'`) {
		t.Errorf("resume hint %q does not name the task as written", end.Msg)
	}
}
