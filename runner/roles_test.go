package runner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
)

// roleFiles is a small tree of roles: web depends on common (twice, through base too), base
// allows duplicates, db has defaults, vars, handlers and a second tasks file.
var roleFiles = map[string]string{
	"roles/common/tasks/main.yml":    "- rec: 'common {{ .common_msg }}'\n",
	"roles/common/defaults/main.yml": "common_msg: from-defaults\n",
	"roles/base/meta/main.yml":       "allow_duplicates: true\ndependencies: [common]\n",
	"roles/base/tasks/main.yml":      "- rec: base\n",
	"roles/web/meta/main.yml":        "galaxy_info: {author: ops}\ndependencies:\n  - role: common\n  - base\n",
	"roles/web/tasks/main.yml": `- name: install
  rec: 'web port={{ .http_port }} color={{ .color }} role={{ .role_name }}'
- name: configure
  rec: {msg: 'web configured', change: true}
  notify: restart web
`,
	"roles/web/defaults/main.yml": "http_port: 80\ncolor: from-web-defaults\n",
	"roles/web/handlers/main.yml": "- name: restart web\n  rec: 'web restarted'\n",
	"roles/db/tasks/main.yml":     "- rec: 'db {{ .db_engine }} {{ .db_port }}'\n",
	"roles/db/tasks/backup.yml":   "- name: backup\n  rec: {msg: 'db backup', change: true}\n  notify: 'db : flush'\n",
	"roles/db/vars/main.yml":      "db_engine: mariadb\n",
	"roles/db/defaults/main.yml":  "db_port: 3306\ndb_engine: from-defaults\n",
	"roles/db/handlers/main.yml":  "- name: flush\n  rec: 'db flushed'\n",
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name string
		pb   string
		opts Options
		want []string // hz-1's recorded calls
	}{
		{
			name: "roles before tasks, dependencies first and once, defaults below the inventory",
			pb: `
- hosts: hz-1
  roles:
    - web
  tasks:
    - rec: 'task {{ .http_port }}'
`,
			// color is an inventory var: it beats the role's default; common runs once
			// although web and base both depend on it, and base itself once.
			want: []string{"common from-defaults", "base", "web port=80 color=blue role=web", "web configured", "task 80", "web restarted"},
		},
		{
			name: "role parameters, vars: and keywords of the entry",
			pb: `
- hosts: hz-1
  vars: {db_engine: from-play}
  roles:
    - role: db
      db_port: 5432
      tags: [database]
    - {role: web, vars: {http_port: 8080}, when: 'rname == "shanghai"'}
`,
			// role vars beat play vars; a parameter beats the role's default; web is skipped
			// by its when, and so are its dependencies, as in Ansible.
			want: []string{"db mariadb 5432"},
		},
		{
			name: "import_role with tasks_from, and a role handler by its qualified name",
			pb: `
- hosts: hz-1
  tasks:
    - import_role: {name: db, tasks_from: backup}
    - include_role: {name: db}
`,
			want: []string{"db backup", "db mariadb 3306", "db flushed"},
		},
		{
			name: "--tags selects a role's tasks by the entry's tags",
			opts: Options{Tags: []string{"database"}},
			pb: `
- hosts: hz-1
  roles:
    - {role: db, tags: database}
    - web
`,
			want: []string{"db mariadb 3306"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, tc.pb, tc.opts, roleFiles)
			if code := e.run(); code != ExitOK {
				t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
			}
			if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hz-1 ran\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

// TestRoleTaskNames: a role's tasks are shown as "role : task", and --start-at-task takes
// that name.
func TestRoleTaskNames(t *testing.T) {
	e := mustLoad(t, "- hosts: hz-1\n  roles: [web]\n", Options{StartAtTask: "web : configure"}, roleFiles)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var starts []string
	for _, ev := range e.sink.all() {
		if ev.Kind == events.TaskStart {
			starts = append(starts, ev.Task)
		}
	}
	if want := []string{"web : configure", "web : restart web"}; !reflect.DeepEqual(starts, want) {
		t.Fatalf("tasks %q, want %q", starts, want)
	}
}

func TestRoleLoadErrors(t *testing.T) {
	files := map[string]string{
		"roles/loop-a/meta/main.yml":  "dependencies: [loop-b]\n",
		"roles/loop-b/meta/main.yml":  "dependencies: [loop-a]\n",
		"roles/badmeta/meta/main.yml": "dependencies: []\nplatforms: [linux]\n",
		"roles/undef/tasks/main.yml":  "- rec: '{{ .nope_undefined }}'\n",
	}
	tests := []struct{ pb, want string }{
		{"- hosts: hz-1\n  roles: [missing]\n", `play.yml:2:11: role "missing" not found (looked in `},
		{"- hosts: hz-1\n  roles: [loop-a]\n", `role "loop-a" depends on itself (remove the dependency cycle from meta/main.yml)`},
		{"- hosts: hz-1\n  roles: [badmeta]\n", `meta/main.yml:2:1: unknown keyword "platforms" in a role's meta/main.yml`},
		{"- hosts: hz-1\n  roles: [{tags: x}]\n", `play.yml:2:11: a role entry needs role: with the role's name`},
		{"- hosts: hz-1\n  roles: [{role: undef, loop: [1]}]\n", `loop is not allowed on a role`},
		{"- hosts: hz-1\n  roles: [undef]\n", `task "undef : rec" on hz-1: argument "msg": undefined variable "nope_undefined"`},
		{"- hosts: hz-1\n  tasks:\n    - import_role: {name: undef, tasks_from: nope}\n", `role "undef" has no tasks file "nope"`},
	}
	for _, tc := range tests {
		_, err := loadEnv(t, tc.pb, Options{}, files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant ...%s", tc.pb, err, tc.want)
		}
	}
}

// TestExtraVarsBeatTaskVars: -e wins over every other variable, a task's and a block's vars and
// a role's parameters too, as Ansible's precedence puts extra vars last.
func TestExtraVarsBeatTaskVars(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1
  roles:
    - {role: db, db_port: 5432}
  tasks:
    - block:
        - rec: 'task {{ .db_port }}'
          vars: {db_port: 1}
      vars: {db_port: 2}
`, Options{ExtraVars: []string{"db_port=7"}}, roleFiles)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := e.msgsOf("hz-1"), []string{"db mariadb 7", "task 7"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
}
