package builtin

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/modules"
)

func TestAssert(t *testing.T) {
	vars := map[string]any{"version": "4.2.3", "count": 3, "stopped": map[string]any{"changed": true}}
	tests := []struct {
		name       string
		raw        map[string]any
		wantFailed bool
		wantMsg    string
	}{
		{"all true", map[string]any{"that": []any{`version == "4.2.3"`, "count > 2", "stopped.changed"}}, false, "All assertions passed"},
		{"one string", map[string]any{"that": "count == 3", "success_msg": "fine"}, false, "fine"},
		{"quiet", map[string]any{"that": "count == 3", "quiet": true}, false, ""},
		{"first false named", map[string]any{"that": []any{"count == 3", "count > 5", "false"}}, true, "assertion failed: count > 5"},
		{"fail_msg", map[string]any{"that": "count > 5", "fail_msg": "too few nodes"}, true, "too few nodes"},
		{"msg alias", map[string]any{"that": "count > 5", "msg": "old name"}, true, "old name"},
		{"bad expression", map[string]any{"that": "nosuchvar.x > 1"}, true, "could not be evaluated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, vars)
			m := Assert{}
			args := coerceArgs(t, m, tt.raw)
			for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
				res, err := run(context.Background(), h.Host, args)
				if err != nil {
					t.Fatal(err)
				}
				if res.Failed != tt.wantFailed || res.Changed || res.Msg != tt.wantMsg && !strings.Contains(res.Msg, tt.wantMsg) || tt.wantMsg == "" && res.Msg != "" {
					t.Fatalf("%+v, want failed=%v msg %q", res, tt.wantFailed, tt.wantMsg)
				}
			}
		})
	}
	if !(Assert{}).Spec().Controller {
		t.Error("assert must run on the controller")
	}
}

func TestTruthy(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{nil, false}, {true, true}, {false, false}, {0, false}, {2, true}, {0.0, false}, {"", false},
		{"false", false}, {"yes", true}, {[]any{}, false}, {[]any{1}, true}, {map[string]any{}, false},
	}
	for _, tt := range tests {
		if got := truthy(tt.v); got != tt.want {
			t.Errorf("truthy(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestDebug(t *testing.T) {
	vars := map[string]any{"metadb": map[string]any{"host": "127.0.0.1", "port": 3306}}
	tests := []struct {
		name     string
		raw      map[string]any
		wantMsg  string
		wantData map[string]any
	}{
		{"default", map[string]any{}, "Hello world!", map[string]any{"msg": "Hello world!"}},
		{"string msg", map[string]any{"msg": "hi there"}, "hi there", map[string]any{"msg": "hi there"}},
		{"map msg", map[string]any{"msg": map[string]any{"a": 1}}, "{\n  \"a\": 1\n}", map[string]any{"msg": map[string]any{"a": 1}}},
		{"var", map[string]any{"var": "metadb.port"}, "metadb.port: 3306", map[string]any{"metadb.port": 3306}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, vars)
			m := Debug{}
			res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, tt.raw))
			if err != nil || res.Failed || res.Changed {
				t.Fatalf("%v %+v", err, res)
			}
			if res.Msg != tt.wantMsg || !reflect.DeepEqual(res.Data, tt.wantData) {
				t.Fatalf("msg %q data %#v, want %q %#v", res.Msg, res.Data, tt.wantMsg, tt.wantData)
			}
		})
	}
	args, _ := Debug{}.Spec().Coerce(map[string]any{"msg": "a", "var": "b"}, nil)
	if err := (Debug{}).Validate(args); err == nil {
		t.Error("debug accepted both msg and var")
	}
	h := newGenHost(t, vars)
	if res, err := (Debug{}).Apply(context.Background(), h.Host, modules.Args{"var": "undefined_thing.x"}); err != nil || !res.Failed {
		t.Errorf("debug of an undefined variable: %v %+v, want failed", err, res)
	}
}

func TestSetFact(t *testing.T) {
	m := SetFact{}
	args, err := m.Spec().Coerce(map[string]any{"new_container": "oms_423", "ports": []any{8089}, "cacheable": true}, nil)
	if err != nil {
		t.Fatalf("set_fact must take any variable names: %v", err)
	}
	h := newGenHost(t, nil)
	for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
		res, err := run(context.Background(), h.Host, args)
		if err != nil || res.Failed || res.Changed {
			t.Fatalf("%v %+v", err, res)
		}
		want := map[string]any{"new_container": "oms_423", "ports": []any{8089}}
		if !reflect.DeepEqual(res.Facts, want) {
			t.Fatalf("facts %#v, want %#v", res.Facts, want)
		}
	}
	for _, raw := range []map[string]any{{}, {"cacheable": true}, {"bad-name": 1}, {"1x": 1}} {
		args, err := m.Spec().Coerce(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(args); err == nil {
			t.Errorf("Validate(%v) accepted it", raw)
		}
	}
	// Other modules still reject unknown arguments.
	if _, err := (Fail{}).Spec().Coerce(map[string]any{"nope": 1}, nil); err == nil {
		t.Error("fail accepted an unknown argument")
	}
}

func TestFail(t *testing.T) {
	m := Fail{}
	h := newGenHost(t, nil)
	for raw, want := range map[string]string{"": "Failed as requested from task", "stop here": "stop here"} {
		in := map[string]any{}
		if raw != "" {
			in["msg"] = raw
		}
		args := coerceArgs(t, m, in)
		for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
			res, err := run(context.Background(), h.Host, args)
			if err != nil || !res.Failed || res.Msg != want {
				t.Fatalf("%v %+v, want failed %q", err, res, want)
			}
		}
	}
}

func TestPause(t *testing.T) {
	noTerminal := func(context.Context, string) (bool, error) { return false, errors.New("no terminal and no --yes") }
	answer := func(yes bool) func(context.Context, string) (bool, error) {
		return func(context.Context, string) (bool, error) { return yes, nil }
	}
	tests := []struct {
		name        string
		raw         map[string]any
		confirm     func(context.Context, string) (bool, error)
		check       bool
		wantFailed  bool
		wantUnknown bool
		wantMsg     string
		minWait     time.Duration
	}{
		{name: "timed", raw: map[string]any{"seconds": "0.2"}, minWait: 200 * time.Millisecond, wantMsg: "paused for"},
		{name: "timed in check mode does not wait", raw: map[string]any{"minutes": 10}, check: true, wantMsg: "would pause"},
		{name: "yes", raw: map[string]any{"prompt": "Stop the old containers?"}, confirm: answer(true), wantMsg: "confirmed"},
		{name: "no fails", raw: map[string]any{"prompt": "Go on?"}, confirm: answer(false), wantFailed: true, wantMsg: "answered no"},
		{name: "no terminal fails clearly", raw: map[string]any{}, confirm: noTerminal, wantFailed: true, wantMsg: "rerun with --yes or from a terminal"},
		{name: "check still asks", raw: map[string]any{}, confirm: answer(false), check: true, wantFailed: true, wantMsg: "answered no"},
		{name: "check without terminal is unknown", raw: map[string]any{}, confirm: noTerminal, check: true, wantUnknown: true, wantMsg: "--yes or a terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, nil)
			if tt.confirm != nil {
				h.Confirm = tt.confirm
			}
			m := Pause{}
			run := m.Apply
			if tt.check {
				run = m.Check
			}
			start := time.Now()
			res, err := run(context.Background(), h.Host, coerceArgs(t, m, tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != tt.wantFailed || res.Unknown != tt.wantUnknown || !strings.Contains(res.Msg, tt.wantMsg) {
				t.Fatalf("%+v, want failed=%v unknown=%v msg %q", res, tt.wantFailed, tt.wantUnknown, tt.wantMsg)
			}
			if el := time.Since(start); el < tt.minWait || el > tt.minWait+5*time.Second {
				t.Fatalf("took %v, want about %v", el, tt.minWait)
			}
		})
	}
	// An interrupt ends a long pause at once.
	h := newGenHost(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := (Pause{}).Apply(ctx, h.Host, coerceArgs(t, Pause{}, map[string]any{"minutes": 5})); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled pause: err %v after %v", err, time.Since(start))
	}
}
