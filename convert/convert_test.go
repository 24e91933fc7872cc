package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestCorpusGolden converts testdata/corpus and holds every file it writes to
// testdata/converted (go test ./convert -update rewrites them), and the notes it gives.
func TestCorpusGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Tree(context.Background(), "testdata/corpus", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, filepath.Join("testdata", "converted", f), got)
	}
	var lines []string
	for _, p := range rep.Problems {
		lines = append(lines, p.String())
	}
	want := []string{
		"roles/base/tasks/main.yml:15: note: with_dict over a variable: omsbook goes through the mapping by key (Ansible: in the order written)",
		"roles/shop/templates/vhosts.j2:2: note: {% for name, port in vhosts.items() %} goes through the mapping by key (a Go map keeps no order; Ansible keeps the order written)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

var yamlCases = []struct {
	name, file, in, want string
	problems             []string
}{
	{
		name: "k=v arguments become a mapping, comments stay",
		file: "play.yml",
		in: `- hosts: all
  tasks:
    # a comment
    - name: copy it
      copy: src=a.conf dest=/etc/{{ app }}.conf mode=0644 backup=yes  # trailing
`,
		want: `- hosts: all
  tasks:
    # a comment
    - name: copy it
      copy: # trailing
        src: a.conf
        dest: /etc/{{ str .app }}.conf
        mode: "0644"
        backup: yes
`,
	},
	{
		name: "free-form modules keep their command line",
		file: "tasks/main.yml",
		in: `- command: ls -l {{ dir }} chdir=/tmp
`,
		want: `- command: ls -l {{ str .dir }} chdir=/tmp
`,
	},
	{
		name: "with_list and literal with_items become loop, with_dict a list of key/value",
		file: "tasks/main.yml",
		in: `- debug: msg={{ item }}
  with_list: [1, 2]
- debug: msg={{ item }}
  with_items: [a, b]
- debug: msg={{ item }}
  with_items: ["{{ x }}", c]
- debug: msg={{ item.key }}
  with_dict:
    b: 1
    a: [2]
`,
		want: `- debug:
    msg: '{{ .item }}'
  loop: [1, 2]
- debug:
    msg: '{{ .item }}'
  loop: [a, b]
- debug:
    msg: '{{ .item }}'
  with_items: ["{{ .x }}", c]
- debug:
    msg: '{{ .item.key }}'
  loop:
    - {key: b, value: 1}
    - key: a
      value: [2]
`,
	},
	{
		name: "conditions stay as Ansible writes them, without braces",
		file: "tasks/main.yml",
		in: `- debug: msg=hi
  when: "{{ x is defined }}"
- debug: msg=hi
  when:
    - x is defined
    - x | int > 2 or not y
  failed_when: false
- assert:
    that: "'a' in x"
`,
		want: `- debug:
    msg: hi
  when: "x is defined"
- debug:
    msg: hi
  when:
    - x is defined
    - x | int > 2 or not y
  failed_when: false
- assert:
    that: "'a' in x"
`,
	},
	{
		name: "unknown keywords and lookups are kept and reported",
		file: "tasks/main.yml",
		in: `- debug: msg=hi
  async: 10
- debug: msg={{ item }}
  with_together: [[1], [2]]
- nosuchmodule: a=b
`,
		want: `- debug:
    msg: hi
  async: 10
- debug:
    msg: '{{ .item }}'
  with_together: [[1], [2]]
- nosuchmodule: a=b
`,
		problems: []string{
			"tasks/main.yml:2: untranslated: the task keyword or module async is not one omsbook reads (kept as it is: validate stops at it)",
			"tasks/main.yml:4: untranslated: the lookup with_together is not one omsbook reads (kept as it is: validate stops at it)",
			"tasks/main.yml:5: untranslated: the task keyword or module nosuchmodule is not one omsbook reads (kept as it is: validate stops at it)",
		},
	},
	{
		name: "a template where omsbook renders none is marked",
		file: "site.yml",
		in: `- hosts: "{{ target }}"
  become_user: "{{ app_user }}"
  tasks: []
`,
		want: `- omsbook_convert_untranslated_hosts: "{{ .target }}"
  omsbook_convert_untranslated_become_user: "{{ .app_user }}"
  tasks: []
`,
		problems: []string{
			"site.yml:1: untranslated: hosts holds a template, which omsbook does not render in hosts (write the value itself): the key is renamed omsbook_convert_untranslated_hosts, so that validate stops at it",
			"site.yml:2: untranslated: become_user holds a template, which omsbook does not render in become_user (write the value itself): the key is renamed omsbook_convert_untranslated_become_user, so that validate stops at it",
		},
	},
	{
		name: "a block scalar's problem is at its own line",
		file: "vars/main.yml",
		in: `motd: |
  line one
  {{ x | frobnicate }}
`,
		want: `motd: |
  line one
  {{ omsbook_convert_untranslated "untranslated Jinja: {{ x | frobnicate }}: the filter frobnicate with these arguments" }}
`,
		problems: []string{"vars/main.yml:3: untranslated: {{ x | frobnicate }}: the filter frobnicate with these arguments"},
	},
}

func TestYAMLConversions(t *testing.T) {
	for _, c := range yamlCases {
		t.Run(c.name, func(t *testing.T) {
			rep := &Report{}
			fc := &fileConv{file: c.file, rep: rep, role: roleFile(c.file)}
			got, err := fc.convertYAML([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
			var ps []string
			for _, p := range rep.Problems {
				ps = append(ps, p.String())
			}
			if strings.Join(ps, "\n") != strings.Join(c.problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(ps, "\n"), strings.Join(c.problems, "\n"))
			}
		})
	}
}

func TestRoleFile(t *testing.T) {
	for in, want := range map[string]string{
		"roles/web/tasks/main.yml":         "tasks",
		"roles/web/handlers/main.yml":      "handlers",
		"roles/web/defaults/main.yml":      "defaults",
		"roles/web/meta/main.yml":          "meta",
		"site.yml":                         "",
		"tasks/extra.yml":                  "tasks",
		"group_vars/all.yml":               "",
		"deploy/roles/db/vars/main.yml":    "vars",
		"roles/web/tasks/sub/install.yml":  "tasks",
		"playbooks/roles/x/templates/a.j2": "templates",
	} {
		if got := roleFile(in); got != want {
			t.Errorf("roleFile(%s) = %q, want %q", in, got, want)
		}
	}
}
