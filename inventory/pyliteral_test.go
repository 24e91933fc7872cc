package inventory

import (
	"reflect"
	"strings"
	"testing"
)

func TestPyLiteral(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"42", 42},
		{"-3", -3},
		{"+7", 7},
		{"1_000", 1000},
		{"0x1F", 31},
		{"0o17", 15},
		{"0b101", 5},
		{"00", 0},
		{"010", "010"}, // a syntax error in Python 3: the text stays
		{"1.5", 1.5},
		{"1e3", 1000.0},
		{".5", 0.5},
		{"1.", 1.0},
		{"True", true},
		{"False", false},
		{"None", nil},
		{"FALSE", "FALSE"},
		{"true", "true"},
		{"'quoted'", "quoted"},
		{`"a" 'b'`, "ab"},
		{`"tab\there"`, "tab\there"},
		{`r"raw\n"`, `raw\n`},
		{`u'x'`, "x"},
		{`b'bytes'`, "bytes"},
		{`'\x41\101\u00e9'`, "AAé"},
		{`'unknown \q escape'`, `unknown \q escape`},
		{`"""triple"""`, "triple"},
		{"[1, 2,]", []any{1, 2}},
		{"(1, 'a')", []any{1, "a"}},
		{"(1)", 1},
		{"()", []any{}},
		{"1, 2", []any{1, 2}},
		{"{1, 2, 1}", []any{1, 2}},
		{"set()", []any{}},
		{"{}", map[string]any{}},
		{`{'a': [1, {"b": None}], 2: True, True: 'x', None: 0}`, map[string]any{"a": []any{1, map[string]any{"b": nil}}, "2": true, "true": "x", "null": 0}},
		{"8080 # a comment", 8080},
		{"hello # a comment", "hello # a comment"},
		{"   12", 12},
		{"", ""},
		{"hello", "hello"},
		{"10.0.0.1", "10.0.0.1"},
		{"1+2j", "1+2j"},
		{"1j", "1j"},
		{"-(1)", "-(1)"},
		{"--1", "--1"},
		{"f'x'", "f'x'"},
		{"'unterminated", "'unterminated"},
		{"[1, 2", "[1, 2"},
		{"{'a' 1}", "{'a' 1}"},
		{"12345678901234567890", 12345678901234567890.0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := pyValue(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("pyValue(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestShlexSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "web1 a=1  b=2", want: []string{"web1", "a=1", "b=2"}},
		{in: `web1 msg="a b" x='c d'`, want: []string{"web1", "msg=a b", "x=c d"}},
		{in: `web1 p="'03#pa33'"`, want: []string{"web1", "p='03#pa33'"}},
		{in: "web1 # comment a=1", want: []string{"web1"}},
		{in: "web1 a=b#c d=e", want: []string{"web1", "a=b"}},
		{in: `web1 a=x\ y`, want: []string{"web1", "a=x y"}},
		{in: `web1 a="q\"q\n"`, want: []string{"web1", `a=q"q\n`}},
		{in: `web1 a=""`, want: []string{"web1", "a="}},
		{in: `web1 a="open`, err: true},
		{in: `web1 a=\`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			words, err := shlexSplit(tt.in)
			if tt.err {
				if err == nil {
					t.Fatalf("no error, words %v", words)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(words))
			for i, w := range words {
				got[i] = w.text
				if !strings.HasPrefix(tt.in[w.off:], strings.Split(w.text, "=")[0]) {
					t.Fatalf("word %q at offset %d of %q", w.text, w.off, tt.in)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
