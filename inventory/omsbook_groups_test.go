package inventory

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOmsbookGroupVars(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"inv.yml": `vars: {level: top, only_top: 1}
regions:
  hz:
    vars: {level: region}
    nodes:
      hz-1: {}
      hz-2: {vars: {level: node}}
  sh:
    nodes:
      sh-1: {}
groups:
  canary: [hz-1]
  batch:
    hosts: [hz, sh-1]
    vars: {level: batch, batch_size: 2}
`,
		"group_vars/all.yml": "from_all: yes\n",
		"group_vars/hz.yml":  "from_region_file: true\n",
		"host_vars/sh-1":     "level: host_vars\n",
	})
	inv, err := Load(filepath.Join(dir, "inv.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want map[string]any
	}{
		{"hz-1", map[string]any{"level": "batch", "batch_size": 2, "only_top": 1, "from_all": true, "from_region_file": true}},
		{"hz-2", map[string]any{"level": "node", "batch_size": 2}},
		{"sh-1", map[string]any{"level": "host_vars", "batch_size": 2, "from_region_file": nil}},
	}
	for _, tt := range tests {
		for k, v := range tt.want {
			if got := inv.Host(tt.host).Vars[k]; got != v {
				t.Errorf("%s %s = %#v, want %#v", tt.host, k, got, v)
			}
		}
	}
	if want := []string{"hz-1", "hz-2", "sh-1"}; !reflect.DeepEqual(inv.Groups["batch"], want) {
		t.Fatalf("batch = %q", inv.Groups["batch"])
	}
	if got := inv.Localhost().Vars["from_all"]; got != true {
		t.Fatalf("localhost from_all = %#v", got)
	}
	// The list form keeps working, and Parse reads no group_vars.
	p, err := Parse("inv.yml", []byte("regions: {hz: {nodes: {a: {}}}}\ngroups: {canary: [a]}\n"))
	if err != nil || !reflect.DeepEqual(p.Groups["canary"], []string{"a"}) {
		t.Fatalf("list form: %v %v", p.Groups, err)
	}
	if _, err := Parse("inv.yml", []byte("regions: {hz: {nodes: {a: {}}}}\ngroups: {canary: {hosts: [a], var: {}}}\n")); err == nil || !strings.Contains(err.Error(), `did you mean "vars"?`) {
		t.Fatalf("unknown key in the mapping form: %v", err)
	}
}
