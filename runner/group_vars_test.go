package runner

import (
	"reflect"
	"sort"
	"testing"
)

// TestAnsibleInventoryAndGroupVars: an Ansible INI inventory with group_vars/ and host_vars/
// beside the playbook, merged in Ansible's order: the inventory file's group vars, then the
// playbook's group_vars/all and group_vars/GROUP, then the inventory's host vars, then the
// playbook's host_vars.
func TestAnsibleInventoryAndGroupVars(t *testing.T) {
	files := map[string]string{
		"hosts.ini": `[web]
web1 ansible_connection=local http_port=8080
web2 ansible_connection=local

[db]
db1 ansible_connection=local

[web:vars]
tier=frontend
`,
		"group_vars/all.yml": "tier: default\ngreeting: from-playbook-all\n",
		"group_vars/web.yml": "http_port: 80\n",
		"host_vars/web2.yml": "http_port: 9090\n",
	}
	e := mustLoad(t, "- hosts: web:db\n  tasks:\n    - rec: '{{ .tier }} {{ .greeting }} {{ get . \"http_port\" | default \"-\" }}'\n", Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	got := e.calls()
	sort.Strings(got)
	want := []string{"db1:default from-playbook-all -", "web1:default from-playbook-all 8080", "web2:default from-playbook-all 9090"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ran\n %q\nwant\n %q", got, want)
	}
}
