package runner

import (
	"reflect"
	"testing"

	"github.com/omsbook/omsbook/events"
)

// TestLoopControl: index_var, extended (ansible_loop), label and with_X through the executor.
func TestLoopControl(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1
  tasks:
    - name: indexed
      rec: '{{ .i }}:{{ .item.key }}={{ .item.value }} first={{ .ansible_loop.first }} last={{ .ansible_loop.last }} of {{ .ansible_loop.length }}'
      with_dict: {b: 2, a: 1}
      loop_control: {index_var: i, extended: true, label: '{{ .item.key }}'}
      register: r
    - rec: 'registered {{ (index .r.results 1).i }} {{ (index .r.results 1).ansible_index_var }} {{ (index .r.results 1).ansible_loop_var }}'
    - rec: 'seq {{ .n }}'
      with_sequence: start=8 end=10 stride=2
      loop_control: {loop_var: n, pause: 1ms}
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d; events:\n%s", code, e.sink.jsonText(t))
	}
	want := []string{"0:b=2 first=true last=false of 2", "1:a=1 first=false last=true of 2", "registered 1 i item", "seq 8", "seq 10"}
	if got := e.msgsOf("hz-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("ran\n %q\nwant\n %q", got, want)
	}
	var labels []any
	for _, ev := range e.sink.results("indexed") {
		if ev.Kind == events.HostResult {
			labels = append(labels, ev.Item)
		}
	}
	if !reflect.DeepEqual(labels, []any{"b", "a"}) {
		t.Fatalf("items shown as %v, want the labels [b a]", labels)
	}
}
