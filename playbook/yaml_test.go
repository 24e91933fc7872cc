package playbook

import (
	"errors"
	"testing"
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
