package yamlsrc

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestYAMLSyntaxErrorPosition: a YAML syntax error names file:line:column, and the line is the
// one the user must look at (the YAML library counts its parser's lines from 0).
func TestYAMLSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
	}{
		{"unclosed flow mapping", "- hosts: all\n  tasks:\n    - debug: {msg: hi\n", 3, 5},
		{"key indented too little", "x:\n  a: 1\n  b: 2\n c: 3\n", 4, 2},
		{"task list indented too little", "- hosts: all\n  tasks:\n    - debug: {msg: hi}\n  - x\n", 4, 3},
		{"tab used for indentation", "- hosts: all\n  tasks:\n\t- debug: {}\n", 3, 1},
		{"mapping value in a plain scalar", "- hosts: all\n  tasks:\n    - debug: msg: hi\n", 3, 5},
		{"unexpected end of the stream", "a: 1\nb: 2\nc: [1,\n", 3, 1},
		{"unclosed quote", "a: 1\nb: \"x\n", 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML("f.yml", []byte(tc.src))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if pe.Pos.File != "f.yml" || pe.Pos.Line != tc.line || pe.Pos.Col != tc.col {
				t.Fatalf("error at %s, want f.yml:%d:%d: %v", pe.Pos, tc.line, tc.col, err)
			}
		})
	}
}

func TestNodeValueScalars(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{"42", 42},
		{"-7", -7},
		{"0x10", 16},
		{"1.5", 1.5},
		{"true", true},
		{"False", false},
		{"~", nil},
		{`"42"`, "42"},
		{"yes", "yes"}, // YAML 1.2: a string, not a bool
		{"[1, a, {b: 2}]", []any{1, "a", map[string]any{"b": 2}}},
	}
	for _, tt := range tests {
		n, err := ParseYAML("v.yml", []byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := NodeValue("v.yml", n)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NodeValue(%s) = %#v, %v; want %#v", tt.src, got, err, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   any
		want time.Duration
		bad  bool
	}{
		{"10s", 10 * time.Second, false},
		{" 2m ", 2 * time.Minute, false},
		{"1.5", 1500 * time.Millisecond, false},
		{3, 3 * time.Second, false},
		{int64(4), 4 * time.Second, false},
		{0.25, 250 * time.Millisecond, false},
		{time.Minute, time.Minute, false},
		{"soon", 0, true},
		{true, 0, true},
		{nil, 0, true},
	}
	for _, tt := range tests {
		got, err := Duration(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("Duration(%#v) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
