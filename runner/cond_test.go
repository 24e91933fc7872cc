package runner

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/playbook"
)

// TestConditionsAsAnsibleWritesThem: Ansible's spellings in when: pass the check before the run
// and mean at run time what they mean in Ansible. A name tested with is defined or given a
// default need not be defined anywhere.
func TestConditionsAsAnsibleWritesThem(t *testing.T) {
	pb := `
- hosts: hz-1
  vars: {app_version: "4.2.10", port: "8080"}
  tasks:
    - rec: hi
      register: r
    - {name: substring, rec: substring, when: "'hi' in r.stdout"}
    - {name: guarded, rec: guarded, when: "maybe_flag is defined and maybe_flag | bool"}
    - {name: default, rec: default, when: "maybe_flag | default('yes') | bool"}
    - {name: result tests, rec: result tests, when: "r is succeeded and r is not changed and r is not skipped"}
    - {name: version, rec: version, when: "app_version is version('4.2.3', '>=')"}
    - {name: match, rec: match, when: "node_ip is match('10\\.0\\.0\\.')"}
    - {name: converted, rec: converted, when: "port | int > 80 and not port == '80'"}
    - {name: missing key, rec: missing key, when: "r.nope is not defined and r.nope | default(0) == 0"}
    - {name: false, rec: never, when: "'bye' in r.stdout or maybe_flag is defined"}
`
	e := mustLoad(t, pb, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
	want := []string{"hi", "substring", "default", "result tests", "version", "match", "converted", "missing key"}
	var got []string
	for _, c := range e.rec.all() {
		got = append(got, c.Msg)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
}

// TestConditionErrorsAtLoad: a condition that would fail on every host is bad input, found
// before the first connection, at its line, with what to write instead.
func TestConditionErrorsAtLoad(t *testing.T) {
	tests := []struct {
		name, task string
		want, fix  string // substrings of the message and the fix
	}{
		{"a Python method", "rec: x\n      register: r\n    - rec: y\n      when: r.stdout.find('hi') != -1",
			"r.stdout.find(...) is a method call, and conditions have no Python methods: write 'hi' in r.stdout", ""},
		{"a string compared with a number", "rec: x\n      when: port > 80",
			`condition "port > 80": port > 80: port ('8080') is a string and 80 a number, which do not compare (col 6)`, "convert the string first: port | int > 80"},
		{"in on a number", `rec: x` + "\n      when: \"'x' in 42\"",
			"in: 42 is a number, which has no members", "in looks for a substring in a string"},
		{"a key of a string", "rec: x\n      when: color.shade == 'dark'",
			"color.shade is undefined: color is a string, which has no key shade", "color.shade is defined"},
		{"a key a map lacks", "rec: x\n      when: db.port > 1",
			"db.port is undefined: db has no key port", "db.port | default(...)"},
		{"length of a number", "rec: x\n      when: count_n | length > 1",
			"count_n | length: count_n is a number, which has no length", "count_n | string | length"},
		{"a result test on a string", `assert: {that: "color is succeeded"}`,
			"color is a string: the succeeded test expects a registered result", "register: r"},
		{"an unknown test", "rec: x\n      when: color is odd", "unknown test odd", ""},
		{"a name defined nowhere", "rec: x\n      when: nosuch == 1", "unknown name nosuch", ""},
		{"a default that names nothing", "rec: x\n      when: maybe | default(nosuch) == 1", "unknown name nosuch", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pb := "- hosts: hz-1\n  vars: {port: \"8080\", count_n: 3}\n  tasks:\n    - " + tc.task + "\n"
			_, err := loadEnv(t, pb, Options{}, nil)
			var pe *playbook.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *playbook.Error: %v", err, err)
			}
			if !strings.Contains(pe.Msg, tc.want) || !strings.Contains(pe.Fix, tc.fix) || pe.Pos.Line < 4 || pe.Pos.Col == 0 {
				t.Fatalf("error %q (fix %q at %d:%d), want one below line 4 that says %q (fix %q)", pe.Msg, pe.Fix, pe.Pos.Line, pe.Pos.Col, tc.want, tc.fix)
			}
		})
	}
}

// TestConditionTypesOfRunTimeNames: a variable a task may set at run time has no type before
// the run, and hostvars gains facts then: their conditions are left to run time.
func TestConditionTypesOfRunTimeNames(t *testing.T) {
	pb := `
- hosts: hz-1
  vars: {port: "8080"}
  tasks:
    - set_fact: {port: 8080}
    - {rec: typed, when: "port > 80"}
    - rec: x
      register: later
    - {rec: hostvars, when: "hostvars['hz-1'].later is defined"}
`
	e := mustLoad(t, pb, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.sink.end().Msg)
	}
}
