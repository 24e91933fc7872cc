package yamlsrc

import (
	"errors"
	"strings"
	"testing"
)

// TestLimits: a document past a bound is refused at the place that crosses it, with a fix and
// ErrLimit wrapped; documents inside the bounds (aliases that do not multiply) are read.
func TestLimits(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) + "\n" }
	tests := []struct {
		name      string
		src       string
		line, col int // 0: accepted
		msg       string
	}{
		{"plain aliases", "base: &b {user: root, port: 22}\nn1: *b\nn2: {<<: *b, port: 2222}\n", 0, 0, ""},
		{"many small aliases", "x: &x 1\nl: [" + strings.Repeat("*x,", 5000) + "*x]\n", 0, 0, ""},
		{"laughs", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", 6, 8, "stand for more than"},
		{"merge keys multiply", "a: &a {k: [x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x]}\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: {<<: [*c, *c, *c]}\n", 4, 14, "stand for more than"},
		{"deep as written", "x: " + nested(MaxDepth+5), 1, 4 + MaxDepth - 2, "nest more than"},
		{"deep enough", "x: " + nested(MaxDepth-5), 0, 0, ""},
		{"deep through aliases", "a: &a " + nested(300) + "b: &b [*a]\nc: [[[[[[[[[[*b]]]]]]]]]]\n" + "d: " + strings.Repeat("[", 200) + "*a" + strings.Repeat("]", 200) + "\n", 4, 204, "nest more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML("f.yml", []byte(tc.src))
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrLimit) {
				t.Fatalf("error %T (%v) is not an *Error wrapping ErrLimit", err, err)
			}
			if pe.Pos.Line != tc.line || pe.Pos.Col != tc.col || !strings.Contains(pe.Msg, tc.msg) || pe.Fix == "" {
				t.Fatalf("got %v at %s, want f.yml:%d:%d %q with a fix", err, pe.Pos, tc.line, tc.col, tc.msg)
			}
		})
	}
}

// TestDocumentSize: a file past MaxDocumentBytes is refused before it is parsed.
func TestDocumentSize(t *testing.T) {
	big := []byte("x: \"" + strings.Repeat("a", MaxDocumentBytes) + "\"\n")
	_, err := ParseYAML("big.yml", big)
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrLimit) || pe.Pos.String() != "big.yml:1:1" {
		t.Fatalf("got %v, want big.yml:1:1 wrapping ErrLimit", err)
	}
	if _, err := DecodeValue("ok.yml", []byte("x: 1\n")); err != nil {
		t.Fatal(err)
	}
}
