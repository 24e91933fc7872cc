package builtin

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/modules"
)

func TestCommandApply(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "exists"), "x", 0o644)
	tests := []struct {
		name        string
		module      modules.Module
		args        map[string]any
		wantFailed  bool
		wantChanged bool
		wantMsg     string
		want        map[string]any // registered fields to compare
	}{
		{
			name: "free-form words, no shell", module: Command{},
			args:        map[string]any{"cmd": `echo 'a  b' $HOME "*"`},
			wantChanged: true,
			want:        map[string]any{"rc": 0, "stdout": "a  b $HOME *", "stderr": "", "stdout_lines": []any{"a  b $HOME *"}, "cmd": []any{"echo", "a  b", "$HOME", "*"}},
		},
		{
			name: "argv list", module: Command{},
			args:        map[string]any{"argv": []any{"printf", "%s\n%s\n", "one", "two"}},
			wantChanged: true,
			want:        map[string]any{"rc": 0, "stdout": "one\ntwo", "stdout_lines": []any{"one", "two"}},
		},
		{
			name: "chdir and stdin", module: Command{},
			args:        map[string]any{"cmd": "sh -c 'pwd; cat'", "chdir": dir, "stdin": "fed"},
			wantChanged: true,
			want:        map[string]any{"stdout": dir + "\nfed"},
		},
		{
			name: "non-zero rc fails", module: Command{},
			args:       map[string]any{"argv": []any{"sh", "-c", "echo oops >&2; exit 3"}},
			wantFailed: true, wantChanged: true, wantMsg: "non-zero return code",
			want: map[string]any{"rc": 3, "stderr": "oops", "stderr_lines": []any{"oops"}},
		},
		{
			name: "missing program fails clearly", module: Command{},
			args:       map[string]any{"cmd": "/nonexistent/program-omsbook"},
			wantFailed: true, wantMsg: "could not run",
		},
		{
			name: "chdir to a missing directory names the directory", module: Command{},
			args:       map[string]any{"cmd": "pwd", "chdir": filepath.Join(dir, "no-such-dir")},
			wantFailed: true, wantMsg: "unable to change directory before execution: " + filepath.Join(dir, "no-such-dir") + " does not exist",
			want: map[string]any{"rc": 1},
		},
		{
			name: "chdir to a file names it", module: Shell{},
			args:       map[string]any{"cmd": "pwd", "chdir": filepath.Join(dir, "exists")},
			wantFailed: true, wantMsg: "is not a directory",
		},
		{
			name: "creates skips when the path exists", module: Command{},
			args:    map[string]any{"cmd": "touch never", "chdir": dir, "creates": "exists"},
			wantMsg: "skipped, since exists exists",
			want:    map[string]any{"rc": 0},
		},
		{
			name: "removes skips when the path is missing", module: Command{},
			args:    map[string]any{"cmd": "rm missing", "removes": filepath.Join(dir, "missing")},
			wantMsg: "does not exist",
		},
		{
			name: "shell features", module: Shell{},
			args:        map[string]any{"cmd": "echo $((1+2)) | tr 3 x; echo err >&2"},
			wantChanged: true,
			want:        map[string]any{"rc": 0, "stdout": "x", "stderr": "err", "cmd": "echo $((1+2)) | tr 3 x; echo err >&2"},
		},
		{
			name: "shell executable", module: Shell{},
			args:        map[string]any{"cmd": "echo $0", "executable": "/bin/bash"},
			wantChanged: true,
			want:        map[string]any{"stdout": "/bin/bash"},
		},
		{
			name: "shell non-zero", module: Shell{},
			args:       map[string]any{"cmd": "false"},
			wantFailed: true, wantChanged: true, wantMsg: "non-zero return code",
			want: map[string]any{"rc": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, nil)
			res, err := tt.module.Apply(context.Background(), h.Host, coerceArgs(t, tt.module, tt.args))
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != tt.wantFailed || res.Changed != tt.wantChanged {
				t.Fatalf("failed=%v changed=%v (msg %q), want failed=%v changed=%v", res.Failed, res.Changed, res.Msg, tt.wantFailed, tt.wantChanged)
			}
			if !strings.Contains(res.Msg, tt.wantMsg) {
				t.Fatalf("msg %q does not contain %q", res.Msg, tt.wantMsg)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(res.Data[k], v) {
					t.Errorf("%s = %#v, want %#v", k, res.Data[k], v)
				}
			}
		})
	}
}

func TestCommandLiveOutputAndTimes(t *testing.T) {
	h := newGenHost(t, nil)
	m := Shell{}
	res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, map[string]any{"cmd": "echo one; echo two >&2; printf three"}))
	if err != nil || res.Failed {
		t.Fatalf("apply: %v %+v", err, res)
	}
	got := h.outputLines()
	for _, want := range []string{"stdout: one", "stderr: two", "stdout: three"} {
		found := false
		for _, l := range got {
			found = found || l == want
		}
		if !found {
			t.Errorf("live output %q lacks %q", got, want)
		}
	}
	for _, k := range []string{"start", "end", "delta"} {
		if s, _ := res.Data[k].(string); s == "" {
			t.Errorf("%s missing in %v", k, res.Data)
		}
	}
}

func TestCommandCheck(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	tests := []struct {
		name        string
		args        map[string]any
		wantUnknown bool
		wantMsg     string
	}{
		{name: "unknown without guards", args: map[string]any{"cmd": "touch " + marker}, wantUnknown: true, wantMsg: "command not run in check mode"},
		{name: "creates decides", args: map[string]any{"cmd": "touch " + marker, "creates": dir}, wantMsg: "skipped, since"},
		{name: "removes decides", args: map[string]any{"cmd": "touch " + marker, "removes": marker}, wantMsg: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range []modules.Module{Command{}, Shell{}} {
				h := newGenHost(t, nil)
				res, err := m.Check(context.Background(), h.Host, coerceArgs(t, m, tt.args))
				if err != nil {
					t.Fatal(err)
				}
				if res.Unknown != tt.wantUnknown || res.Changed || res.Failed || !strings.Contains(res.Msg, tt.wantMsg) {
					t.Fatalf("%s: %+v, want unknown=%v msg containing %q", m.Name(), res, tt.wantUnknown, tt.wantMsg)
				}
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("%s: Check ran the command", m.Name())
				}
			}
		})
	}
}

func TestCommandValidate(t *testing.T) {
	m := Command{}
	for _, raw := range []map[string]any{{}, {"cmd": "ls", "argv": []any{"ls"}}} {
		args, err := m.Spec().Coerce(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(args); err == nil {
			t.Errorf("Validate(%v) accepted it", raw)
		}
	}
}

// TestCommandAndShellRefuseAnEmptyCommand: an empty command (or one whose quotes do not close)
// is refused by Validate, so that validate and run stop before the first connection; a
// template still to be rendered is left for run time.
func TestCommandAndShellRefuseAnEmptyCommand(t *testing.T) {
	tests := []struct {
		name string
		mod  modules.Module
		raw  map[string]any
		ok   bool
	}{
		{"command cmd", Command{}, map[string]any{"cmd": "echo hi"}, true},
		{"command empty cmd", Command{}, map[string]any{"cmd": ""}, false},
		{"command blank cmd", Command{}, map[string]any{"cmd": "  \t "}, false},
		{"command unclosed quote", Command{}, map[string]any{"cmd": "echo 'hi"}, false},
		{"command template", Command{}, map[string]any{"cmd": "{{ .cmd }}"}, true},
		{"command argv", Command{}, map[string]any{"argv": []any{"echo", "hi"}}, true},
		{"command empty argv", Command{}, map[string]any{"argv": []any{}}, false},
		{"shell cmd", Shell{}, map[string]any{"cmd": "echo hi | cat"}, true},
		{"shell empty cmd", Shell{}, map[string]any{"cmd": ""}, false},
		{"shell blank cmd", Shell{}, map[string]any{"cmd": " \n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := tt.mod.Spec().Coerce(tt.raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.mod.(modules.Validator).Validate(args)
			if tt.ok && err != nil {
				t.Fatalf("Validate(%v): %v", tt.raw, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("Validate(%v) accepted it", tt.raw)
			}
		})
	}
}

func TestCommandCancel(t *testing.T) {
	h := newGenHost(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	m := Command{}
	args := coerceArgs(t, m, map[string]any{"cmd": "sleep 30"})
	done := make(chan error, 1)
	go func() {
		_, err := m.Apply(ctx, h.Host, args)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // let it start
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled command returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling did not stop the command")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("cancel took %v", el)
	}
}
