package runner

import (
	"reflect"
	"testing"
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
