package tmpl

import (
	"errors"
	"reflect"
	"testing"
)

func condVars() map[string]any {
	return map[string]any{
		"result":  map[string]any{"rc": 0, "changed": true, "stdout": "ok"},
		"stopped": map[string]any{"changed": true},
		"region":  "hangzhou",
		"item":    map[string]any{"tags": []any{"x", "y"}},
		"nodes":   []any{"a", "b", "c"},
		"names":   []string{"a", "b"},
		"hostvars": map[string]any{
			"oms-hz-1": map[string]any{"oms_host_ip": "10.0.0.11"},
		},
		"count": 2.5,
		"nilv":  nil,
	}
}

func TestTruth(t *testing.T) {
	tests := []struct {
		src  any
		want bool
	}{
		{"result.rc == 0", true},
		{"result.rc != 0", false},
		{`stopped.changed && region == "hangzhou"`, true},
		{`stopped.changed && region == "shanghai"`, false},
		{`"x" in item.tags`, true},
		{`"z" in item.tags`, false},
		{"len(nodes) > 2", true},
		{"len(names) > 2", false},
		{`hostvars["oms-hz-1"].oms_host_ip == "10.0.0.11"`, true},
		{"count > 2", true},
		{"nilv == nil", true},
		{`result.stdout contains "o"`, true},
		{"true", true},
		{"false", false},
		{"True", true},
		{"FALSE", false},
		{"yes", true},
		{"Yes", true},
		{"on", true},
		{"no", false},
		{"No", false},
		{"off", false},
		{true, true},
		{false, false},
		{"let n = len(nodes); n == 3", true},
		{"all(nodes, # != '')", true},
	}
	for _, tt := range tests {
		p, err := CompileValue(tt.src, condVars())
		if err != nil {
			t.Fatalf("CompileValue(%v): %v", tt.src, err)
		}
		got, err := Truth(p, condVars())
		if err != nil {
			t.Fatalf("Truth(%v): %v", tt.src, err)
		}
		if got != tt.want {
			t.Errorf("Truth(%v) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestEval(t *testing.T) {
	p, err := Compile(`hostvars["oms-hz-1"].oms_host_ip`, condVars())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Eval(p, condVars())
	if err != nil || got != "10.0.0.11" {
		t.Fatalf("Eval = %v, %v", got, err)
	}
	if !reflect.DeepEqual(p.Names, []string{"hostvars"}) {
		t.Fatalf("Names = %q", p.Names)
	}
	// The same program runs against values of other types on another host.
	p2, err := Compile("result.rc == 0", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range []any{0, int64(0), 0.0} {
		ok, err := Truth(p2, map[string]any{"result": map[string]any{"rc": rc}})
		if err != nil || !ok {
			t.Fatalf("rc %T: %v %v", rc, ok, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src     any
		want    string
		unknown string
	}{
		{"foo == 1", `condition "foo == 1": unknown name foo (col 1)`, "foo"},
		{"result.rc == 0 && bogus", `condition "result.rc == 0 && bogus": unknown name bogus (col 19)`, "bogus"},
		{"result.rc ==", `condition "result.rc ==": unexpected token EOF (col 12)`, ""},
		{"", `condition "": empty condition: write an expression such as result.rc == 0, or true/false`, ""},
		{3, `condition "3": a condition must be an expression string or true/false, not a int`, ""},
	}
	for _, tt := range tests {
		_, err := CompileValue(tt.src, condVars())
		if err == nil {
			t.Fatalf("CompileValue(%v): no error", tt.src)
		}
		if err.Error() != tt.want {
			t.Errorf("CompileValue(%v)\n got %q\nwant %q", tt.src, err, tt.want)
		}
		var ce *CondError
		if !errors.As(err, &ce) || ce.Unknown != tt.unknown {
			t.Errorf("CompileValue(%v): error %#v, want Unknown %q", tt.src, err, tt.unknown)
		}
	}
	// Function names are not variables.
	if _, err := Compile("len(nodes) > 0 && upper(region) == 'X'", condVars()); err != nil {
		t.Fatalf("functions counted as names: %v", err)
	}
}

func TestTruthNotBool(t *testing.T) {
	p, err := Compile("result.stdout", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Truth(p, condVars())
	want := `condition "result.stdout": gave ok (a string), want true or false: compare it, e.g. x == 1 or x != nil`
	if err == nil || err.Error() != want {
		t.Fatalf("Truth error = %v, want %q", err, want)
	}
}

func BenchmarkTruthCached(b *testing.B) {
	vars := condVars()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := Compile(`stopped.changed && region == "hangzhou"`, vars)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Truth(p, vars); err != nil {
			b.Fatal(err)
		}
	}
}
