package inventory

import (
	"reflect"
	"testing"
)

func TestAnsibleList(t *testing.T) {
	inv, err := Parse("hosts", []byte("[web]\nw1 a=1\n[web:children]\nnginx\n[nginx]\n[empty]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"all":   map[string]any{"children": []any{"ungrouped", "web", "empty"}},
		"web":   map[string]any{"hosts": []any{"w1"}, "children": []any{"nginx"}},
		"_meta": map[string]any{"hostvars": map[string]any{"w1": map[string]any{"a": 1}}},
	}
	if got := inv.List(); !reflect.DeepEqual(got, want) {
		t.Fatalf("List() = %#v", got)
	}
}
