package runner

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestMeta(t *testing.T) {
	tests := []struct {
		name string
		pb   string
		want []string // calls as host:msg
		code int
	}{
		{"flush_handlers runs the notified handlers now", `
- hosts: hz-1
  tasks:
    - rec: {msg: change, change: true}
      notify: h
    - meta: flush_handlers
    - rec: after
  handlers:
    - name: h
      rec: handler
`, []string{"hz-1:change", "hz-1:handler", "hz-1:after"}, ExitOK},
		{"end_host ends the play for the hosts where when holds", `
- hosts: hz-1:hz-2
  tasks:
    - rec: one
    - meta: end_host
      when: inventory_hostname == "hz-1"
    - rec: two
- hosts: hz-1
  tasks:
    - rec: next play
`, []string{"hz-1:one", "hz-2:one", "hz-2:two", "hz-1:next play"}, ExitOK},
		{"end_play ends it for every host, the next play runs", `
- hosts: hz-1:hz-2
  serial: 1
  tasks:
    - rec: one
    - meta: end_play
    - rec: never
- hosts: hz-2
  tasks:
    - rec: next play
`, []string{"hz-1:one", "hz-2:next play"}, ExitOK},
		{"clear_host_errors lets the batch's failed hosts go on", `
- hosts: hz-1:hz-2
  tasks:
    - rec: {msg: boom, fail: '{{ eq .inventory_hostname "hz-1" }}'}
    - meta: clear_host_errors
    - rec: after
`, []string{"hz-1:boom", "hz-1:after", "hz-2:boom", "hz-2:after"}, ExitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, tc.pb, Options{}, nil)
			if code := e.run(); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			// Hosts run a task at the same time: compare each host's calls, in order.
			got := e.calls()
			sort.SliceStable(got, func(i, j int) bool { return strings.SplitN(got[i], ":", 2)[0] < strings.SplitN(got[j], ":", 2)[0] })
			want := append([]string(nil), tc.want...)
			sort.SliceStable(want, func(i, j int) bool { return strings.SplitN(want[i], ":", 2)[0] < strings.SplitN(want[j], ":", 2)[0] })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ran %q, want %q", got, want)
			}
		})
	}
	if _, err := loadEnv(t, "- hosts: hz-1\n  tasks:\n    - meta: end_everything\n", Options{}, nil); err == nil || !strings.Contains(err.Error(), "end_everything") {
		t.Fatalf("an unknown meta action: %v", err)
	}
}
