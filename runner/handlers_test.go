package runner

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/transport"
)

// TestSectionsAndHandlers: pre_tasks, tasks and post_tasks run in Ansible's order, each
// followed by the handlers its tasks notified, once per host, in definition order, only where
// a notifying task changed something.
func TestSectionsAndHandlers(t *testing.T) {
	tests := []struct {
		name  string
		pb    string
		opts  Options
		want  []string // hz-1's recorded calls, in order
		want2 []string // hz-2's, when the hosts differ
		code  int
	}{
		{
			name: "order of sections and flushes",
			pb: `
- hosts: hz-1
  post_tasks:
    - rec: {msg: post, change: true}
      notify: h-post
  tasks:
    - rec: {msg: task, change: true}
      notify: [h-b, h-a]
    - rec: {msg: task again, change: true}
      notify: h-a
  pre_tasks:
    - rec: {msg: pre, change: true}
      notify: h-a
  handlers:
    - name: h-a
      rec: ha
    - name: h-b
      rec: hb
    - name: h-post
      rec: hpost
`,
			want: []string{"pre", "ha", "task", "task again", "ha", "hb", "post", "hpost"},
		},
		{
			name: "no change, no handler; a handler by listen topic",
			pb: `
- hosts: hz-1
  tasks:
    - rec: {msg: unchanged}
      notify: restart
    - rec: {msg: changed, change: true}
      notify: web services
  handlers:
    - name: restart
      rec: restart
    - name: reload
      listen: web services
      rec: reload
    - name: also
      listen: [other, web services]
      rec: also
`,
			want: []string{"unchanged", "changed", "reload", "also"},
		},
		{
			name: "a failed host runs no handler; meta-free flush per host",
			pb: `
- hosts: hz-1:hz-2
  tasks:
    - rec: {msg: change, change: true}
      notify: h
    - rec: {msg: boom, fail: '{{ eq .inventory_hostname "hz-2" }}'}
  handlers:
    - name: h
      rec: handler
`,
			want:  []string{"change", "boom", "handler"},
			want2: []string{"change", "boom"},
			code:  ExitFailed,
		},
		{
			name: "force_handlers runs them on the failed host",
			pb: `
- hosts: hz-1:hz-2
  force_handlers: true
  tasks:
    - rec: {msg: change, change: true}
      notify: h
    - rec: {msg: boom, fail: '{{ eq .inventory_hostname "hz-2" }}'}
  handlers:
    - name: h
      rec: handler
`,
			want:  []string{"change", "boom", "handler"},
			want2: []string{"change", "boom", "handler"},
			code:  ExitFailed,
		},
		{
			name: "--force-handlers does the same",
			opts: Options{ForceHandlers: true},
			pb: `
- hosts: hz-2
  tasks:
    - rec: {msg: change, change: true}
      notify: h
    - rec: {msg: boom, fail: true}
  handlers:
    - name: h
      rec: handler
`,
			want2: []string{"change", "boom", "handler"},
			code:  ExitFailed,
		},
		{
			name: "a block's notify reaches its tasks; a handler notifies a later one",
			pb: `
- hosts: hz-1
  tasks:
    - block:
        - rec: {msg: inside, change: true}
      notify: first
  handlers:
    - name: first
      rec: {msg: first, change: true}
      notify: second
    - name: second
      rec: second
`,
			want: []string{"inside", "first", "second"},
		},
		{
			name: "check mode: a would-change notifies, the handler runs its check",
			opts: Options{Check: true},
			pb: `
- hosts: hz-1
  tasks:
    - rec: {msg: would, change: true}
      notify: h
  handlers:
    - name: h
      rec: handler
`,
			want: []string{"would", "handler"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, tc.pb, tc.opts, nil)
			if code := e.run(); code != tc.code {
				t.Fatalf("exit %d, want %d; events:\n%s", code, tc.code, e.sink.jsonText(t))
			}
			if got := e.msgsOf("hz-1"); tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hz-1 ran %q, want %q", got, tc.want)
			}
			if got := e.msgsOf("hz-2"); tc.want2 != nil && !reflect.DeepEqual(got, tc.want2) {
				t.Errorf("hz-2 ran %q, want %q", got, tc.want2)
			}
		})
	}
}

// TestHandlerEvents: a handler's start says it is one (RUNNING HANDLER in text output), it is
// counted in the recap, and a failure in it points the resume hint at no handler.
func TestHandlerEvents(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1
  tasks:
    - name: change it
      rec: {msg: c, change: true}
      notify: restart
  handlers:
    - name: restart
      rec: {msg: r, fail: true}
`, Options{}, nil)
	if code := e.run(); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	var starts []string
	for _, ev := range e.sink.all() {
		if ev.Kind == events.TaskStart {
			starts = append(starts, ev.Task+map[bool]string{true: " (handler)"}[ev.Handler])
		}
	}
	if want := []string{"change it", "restart (handler)"}; !reflect.DeepEqual(starts, want) {
		t.Fatalf("task starts %q, want %q", starts, want)
	}
	if st := e.sink.recap()["hz-1"]; st.Changed != 1 || st.Failed != 1 {
		t.Fatalf("recap %+v", *st)
	}
	if msg := e.sink.end().Msg; strings.Contains(msg, "--start-at-task restart") {
		t.Fatalf("resume hint names the handler: %s", msg)
	}
}

// TestHandlerLoadErrors: notify names a handler that does not exist, at notify's place.
func TestHandlerLoadErrors(t *testing.T) {
	_, err := loadEnv(t, `
- hosts: hz-1
  tasks:
    - name: t
      rec: x
      notify: restart nginx
  handlers:
    - name: restart apache
      rec: y
    - listen: reload things
      rec: z
`, Options{}, nil)
	want := `play.yml:5:15: task "t": notify "restart nginx": no handler of the play has that name or listens to it (the play's handlers answer to "restart apache", "reload things" (listen))`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("err %v\nwant ...%s", err, want)
	}
	// A handler's templates are checked before the first connection too.
	_, err = loadEnv(t, `
- hosts: hz-1
  tasks: []
  handlers:
    - name: h
      rec: '{{ .nope_undefined }}'
`, Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "nope_undefined") {
		t.Fatalf("undefined variable in a handler: %v", err)
	}
}

// TestOrderThrottleRemoteUser: order sorts the play's hosts, throttle caps how many run a task
// at once, remote_user logs in as that user where the inventory names none.
func TestOrderThrottleRemoteUser(t *testing.T) {
	e := mustLoad(t, `
- hosts: hz-1:hz-2:hz-3
  order: reverse_sorted
  tasks:
    - rec: {msg: slow, sleep: 30ms}
      throttle: 1
`, Options{}, nil)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := e.hostsFor("slow"); !reflect.DeepEqual(got, []string{"hz-3", "hz-2", "hz-1"}) {
		t.Errorf("order %v", got)
	}
	if n := e.rec.maxIn.Load(); n != 1 {
		t.Errorf("throttle 1 ran %d at once", n)
	}

	e = mustLoad(t, `
- hosts: hz-1
  remote_user: deploy
  tasks:
    - rec: play user
    - rec: task user
      remote_user: admin
`, Options{}, nil)
	var users []string
	e.plan.dial = func(ctx context.Context, spec transport.Spec) (transport.Conn, error) {
		users = append(users, spec.User)
		return transport.NewLocal(spec.Name), nil
	}
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if want := []string{"deploy", "admin"}; !reflect.DeepEqual(users, want) {
		t.Errorf("dialed as %q, want %q", users, want)
	}
}

// TestRegisterOutsideTasks: names registered (or set) in pre_tasks, roles, post_tasks and
// handlers are known to the check before the run, as those in tasks are.
func TestRegisterOutsideTasks(t *testing.T) {
	files := map[string]string{"roles/r/tasks/main.yml": "- rec: {msg: in-role}\n  register: r2\n  changed_when: r2.rc != 0\n"}
	e := mustLoad(t, `
- hosts: hz-1
  pre_tasks:
    - rec: {msg: hi, change: true}
      register: pre
      notify: h
  roles: [r]
  tasks:
    - rec: 'saw {{ .pre.stdout }}'
      when: pre.stdout == "said hi"
  post_tasks:
    - rec: 'post {{ .hr.stdout }}'
  handlers:
    - name: h
      rec: handled
      register: hr
      changed_when: hr.rc != 0
`, Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := e.msgsOf("hz-1"), []string{"hi", "handled", "in-role", "saw said hi", "post said handled"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
}

// TestImportedHandlers: import_tasks among handlers brings its tasks in as handlers.
func TestImportedHandlers(t *testing.T) {
	files := map[string]string{"handlers/web.yml": "- name: reload web\n  rec: reloaded\n- name: restart web\n  rec: restarted\n"}
	e := mustLoad(t, "- hosts: hz-1\n  tasks:\n    - rec: {msg: change, change: true}\n      notify: restart web\n  handlers:\n    - import_tasks: handlers/web.yml\n", Options{}, files)
	if code := e.run(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := e.msgsOf("hz-1"), []string{"change", "restarted"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if _, err := loadEnv(t, "- hosts: hz-1\n  tasks: []\n  handlers:\n    - include_tasks: handlers/web.yml\n", Options{}, files); err == nil || !strings.Contains(err.Error(), "use import_tasks") {
		t.Fatalf("include_tasks among handlers: %v", err)
	}
}
