package runner

import (
	"reflect"
	"testing"
)

// TestIncludeVars: include_vars sets a file's variables for later tasks (known before the run
// when the file is named without a template), under a name when asked, from a role's vars/.
func TestIncludeVars(t *testing.T) {
	files := map[string]string{
		"vars/site.yml":          "site: hangzhou\nports: [80, 443]\nurl: 'http://{{ .site }}'\n",
		"roles/r/vars/extra.yml": "from_role: yes-role\n",
		"roles/r/tasks/main.yml": "- include_vars: extra.yml\n- rec: '{{ .from_role }}'\n",
	}
	e := mustLoad(t, `
- hosts: hz-1
  roles: [r]
  tasks:
    - include_vars: site.yml
    - rec: '{{ .site }} {{ index .ports 1 }}'
    - include_vars: {file: vars/site.yml, name: cfg}
    - rec: '{{ .cfg.site }}'
`, Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
	}
	if got, want := e.msgsOf("hz-1"), []string{"yes-role", "hangzhou 443", "hangzhou"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
}
