package tmpl

import (
	"strings"
	"testing"
)

func TestJinjaFuncs(t *testing.T) {
	vars := map[string]any{
		"n": nil, "b": true, "s": "08", "f": 2.0, "l": []any{3, 1, 2}, "ls": []any{"b", "a"},
		"m":     map[string]any{"b": 2, "a": 1},
		"o":     map[string]any{"b": 3, "c": 4},
		"nest":  []any{[]any{1, []any{2}}, nil, 3},
		"users": []any{map[string]any{"n": "a", "on": true}, map[string]any{"n": "b", "on": false}},
		"kv":    []any{map[string]any{"k": "x", "v": 1}},
		"u":     "é\"\n",
	}
	cases := []struct{ src, want string }{
		{`{{ str .n }}`, ""},
		{`{{ str .b }}`, "True"},
		{`{{ str .f }}`, "2.0"},
		{`{{ str .l }}`, "[3, 1, 2]"},
		{`{{ to_int .s }}`, "8"},
		{`{{ to_int "x" }}`, "0"},
		{`{{ to_float "1.5" }}`, "1.5"},
		{`{{ to_bool "yes" }}`, "true"},
		{`{{ length "héllo" }}`, "5"},
		{`{{ in "a" "cat" }} {{ in 2 .l }} {{ in "a" .m }} {{ in "z" .m }}`, "true true true false"},
		{`{{ defined . "m" "a" }} {{ defined . "m" "z" }} {{ defined . "l" 2 }} {{ defined . "l" 3 }} {{ defined . "n" }}`, "true false true false true"},
		{`{{ range dict2items .m }}{{ .key }}={{ .value }} {{ end }}`, "a=1 b=2 "},
		{`{{ (items2dict "k" "v" .kv).x }}`, "1"},
		{`{{ str (combine .o .m) }}`, "{'a': 1, 'b': 3, 'c': 4}"},
		{`{{ str (flatten .nest) }} {{ str (flatten 1 .nest) }}`, "[1, 2, 3] [1, [2], 3]"},
		{`{{ to_json .m }} {{ to_json .u }} {{ to_json .l }}`, `{"a": 1, "b": 2} "\u00e9\"\n" [3, 1, 2]`},
		{`{{ to_nice_json .m }}`, "{\n    \"a\": 1,\n    \"b\": 2\n}"},
		{`{{ range selectattr "on" .users }}{{ .n }}{{ end }}{{ range rejectattr "on" .users }}{{ .n }}{{ end }}`, "ab"},
		{`{{ range selectattr "n" "equalto" "b" .users }}{{ .n }}{{ end }}`, "b"},
		{`{{ basename "/a/b.c" }} {{ dirname "/a/b.c" }} {{ dirname "/a" }} {{ basename "/a/" }}`, "b.c /a / "},
		{`{{ str (sorted .l) }} {{ str (sorted .ls) }}`, "[1, 2, 3] ['a', 'b']"},
		{`{{ shlex_quote "ok/x" }} {{ shlex_quote "a b" }} {{ shlex_quote "it's" }} {{ shlex_quote "" }}`, `ok/x 'a b' 'it'"'"'s' ''`},
		{`{{ regex_search "[0-9]+" "v12" }} {{ str (regex_search "x" "v") }}`, "12 "},
		{`{{ at .l -1 }} {{ at .m "a" }} {{ at "abc" 1 }}`, "2 1 b"},
		{`{{ range elements .m }}{{ . }}{{ end }}{{ range elements "hé" }}[{{ . }}]{{ end }}`, "ab[h][é]"},
		{`{{ str (map_attribute "n" .users) }}`, "['a', 'b']"},
		{`{{ to_yaml .m }}`, "{a: 1, b: 2}\n"},
		{`{{ to_yaml .users }}`, "- {n: a, 'on': true}\n- {n: b, 'on': false}\n"},
		{`{{ to_yaml .nest }}`, "- - 1\n  - [2]\n- null\n- 3\n"},
		{`{{ to_yaml "plain text" }}{{ to_yaml "yes" }}{{ to_yaml "" }}`, "plain text\n'yes'\n''\n"},
	}
	for _, c := range cases {
		got, err := RenderString(c.src, vars)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.src, got, c.want)
		}
	}
	for _, bad := range []string{
		`{{ at .m "z" }}`, `{{ at .l 3 }}`, `{{ map_attribute "x" .users }}`, `{{ sorted (list 1 "a") }}`,
		`{{ selectattr "x" "equalto" 1 .users }}`, `{{ combine .l .m }}`, `{{ elements 1 }}`,
		`{{ to_yaml .u }}`, `{{ to_yaml (list (repeat 90 "ab ")) }}`, `{{ to_yaml (dict "" 1 "x" (list 1 (list 2))) }}`,
	} {
		if _, err := RenderString(bad, vars); err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
