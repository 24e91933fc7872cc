package runner

import (
	"reflect"
	"strings"
	"testing"
)

var includeFiles = map[string]string{
	"tasks/a.yml":     "- rec: 'a item={{ .item }} on {{ .inventory_hostname }}'\n",
	"tasks/b.yml":     "- rec: 'b item={{ .item }}'\n- rec: 'b again {{ .item }}'\n",
	"tasks/plain.yml": "- name: first\n  set_fact: {gate: false}\n- rec: second\n",
	"tasks/tagged.yml": `- rec: untagged
- rec: own tag
  tags: x
`,
	"tasks/region-hz.yml": "- rec: hz file\n",
	"tasks/region-sh.yml": "- rec: sh file\n",
}

func TestIncludeTasks(t *testing.T) {
	tests := []struct {
		name  string
		pb    string
		opts  Options
		hosts string
		want  []string // calls as host:msg
	}{
		{
			name: "a loop runs the file per item; the name is a template per item",
			pb: `
- hosts: hz-1
  tasks:
    - include_tasks: 'tasks/{{ .item }}.yml'
      loop: [a, b]
    - rec: after
`,
			want: []string{"hz-1:a item=a on hz-1", "hz-1:b item=b", "hz-1:b again b", "hz-1:after"},
		},
		{
			name: "a file per host, chosen by a variable",
			pb: `
- hosts: hz-1:sh-1
  tasks:
    - include_tasks: 'tasks/region-{{ if eq .rname "hangzhou" }}hz{{ else }}sh{{ end }}.yml'
`,
			want: []string{"hz-1:hz file", "sh-1:sh file"},
		},
		{
			name: "include_tasks evaluates its when once; import_tasks for every task",
			pb: `
- hosts: hz-1
  vars: {gate: true}
  tasks:
    - include_tasks: tasks/plain.yml
      when: gate
    - set_fact: {gate: true}
    - import_tasks: tasks/plain.yml
      when: gate
`,
			// set_fact is not recorded; after the import's first task sets gate false, its
			// second is skipped.
			want: []string{"hz-1:second"},
		},
		{
			name: "--tags: an include's tags select the include, not its tasks",
			opts: Options{Tags: []string{"x"}},
			pb: `
- hosts: hz-1
  tasks:
    - include_tasks: tasks/tagged.yml
      tags: x
    - include_tasks: {file: tasks/tagged.yml, apply: {tags: [x]}}
      tags: x
    - import_tasks: tasks/tagged.yml
      tags: x
`,
			want: []string{"hz-1:own tag", "hz-1:untagged", "hz-1:own tag", "hz-1:untagged", "hz-1:own tag"},
		},
		{
			name: "a file named by a registered value is read when the task runs",
			pb: `
- hosts: hz-1
  tasks:
    - rec: {msg: b}
      register: which
    - include_tasks: 'tasks/{{ .which.msg_arg }}.yml'
      vars: {item: from-vars}
`,
			want: []string{"hz-1:b", "hz-1:b item=from-vars", "hz-1:b again from-vars"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, tc.pb, tc.opts, includeFiles)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
			}
			if got := e.calls(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ran\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

// TestIncludeChecks: what an include will run is checked before the first connection,
// wherever its file can be known then.
func TestIncludeChecks(t *testing.T) {
	files := map[string]string{
		"tasks/ok.yml":    "- rec: 'fine {{ .item }}'\n",
		"tasks/undef.yml": "- rec: '{{ .nope_undefined }}'\n",
	}
	tests := []struct{ pb, want string }{
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/undef.yml\n", `undef.yml:1:8: task "rec" on hz-1: argument "msg": undefined variable "nope_undefined"`},
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: 'tasks/{{ .rname }}.yml'\n", `include_tasks: cannot read`},
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: 'tasks/{{ .nope_undefined }}.yml'\n", `include_tasks: undefined variable "nope_undefined"`},
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/ok.yml\n      loop: '{{ .nope_undefined }}'\n", `loop: undefined variable "nope_undefined"`},
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/ok.yml\n      when: nope_undefined\n", `unknown name nope_undefined`},
		{"- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/ok.yml\n      register: x\n", `register is not allowed on include_tasks`},
	}
	for _, tc := range tests {
		_, err := loadEnv(t, tc.pb, Options{}, files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant ...%s", tc.pb, err, tc.want)
		}
	}
	// The loop variable of a looped include is known at run time only: no error for it.
	if _, err := loadEnv(t, "- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/ok.yml\n      loop: [1, 2]\n", Options{}, files); err != nil {
		t.Fatalf("looped include: %v", err)
	}
}

// TestAnsibleMagicVarsAndIncludedNames: group_names, ansible_check_mode, ansible_play_hosts and
// inventory_hostname_short are there as Ansible sets them; a task name in an included file is
// shown rendered with the include's loop variable.
func TestAnsibleMagicVarsAndIncludedNames(t *testing.T) {
	files := map[string]string{"tasks/named.yml": "- name: 'deploy {{ .item }}'\n  rec: 'groups {{ .group_names }} check {{ .ansible_check_mode }} play {{ .ansible_play_hosts }} short {{ .inventory_hostname_short }}'\n"}
	e := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - include_tasks: tasks/named.yml\n      loop: [api]\n", Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := e.msgsOf("hz-1"), []string{"groups [canary hz] check false play [hz-1] short hz-1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if len(e.sink.results("deploy api")) != 1 {
		t.Fatalf("the included task was not shown as 'deploy api':\n%s", e.sink.jsonText(t))
	}
}
