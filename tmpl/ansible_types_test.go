package tmpl

import (
	"errors"
	"testing"
)

// TestCheckTypes: what would fail on every host is found before the run, where the values are
// known; what is only known at run time (a name vars does not give) is left alone.
func TestCheckTypes(t *testing.T) {
	vars := map[string]any{
		"port_s": "8080", "port": 8080, "s": "hello", "m": map[string]any{"a": 1}, "lst": []any{"a"},
		"nul": nil, "t": true, "ratio": "0.5", "ver": "4.2.3",
	}
	tests := []struct {
		src  string
		want string // the message; "" for no error
		fix  string
	}{
		{"port > 80", "", ""},
		{"port_s | int > 80", "", ""},
		{"'hi' in r.stdout", "", ""},
		{"r is succeeded and r.rc == 0", "", ""},
		{"unknown_now > 80", "", ""},
		{"'a' in lst and 'a' in m and 'h' in s", "", ""},
		{"m.b is defined or m.b | default(0) == 0", "", ""},
		{"x is defined and x > 1", "", ""},
		{"ver is version('4.2.2', '>')", "", ""},
		{"m?.b == nil", "", ""},
		{"port_s > 80", `condition "port_s > 80": port_s > 80: port_s ('8080') is a string and 80 a number, which do not compare (col 8)`, "convert the string first: port_s | int > 80"},
		{"80 <= port_s", `condition "80 <= port_s": 80 <= port_s: 80 is a number and port_s ('8080') a string, which do not compare (col 4)`, "convert the string first: 80 <= port_s | int"},
		{"ratio > 0.1", `condition "ratio > 0.1": ratio > 0.1: ratio ('0.5') is a string and 0.1 a number, which do not compare (col 7)`, "convert the string first: ratio | float > 0.1"},
		{"port_s + 1 > 2", `condition "port_s + 1 > 2": port_s + 1: port_s ('8080') is a string and 1 a number, which do not add up (col 8)`, "convert the string first: port_s | int + 1"},
		{"port * s == 0", `condition "port * s == 0": port * s: s ('hello') is a string, not a number (col 6)`, "convert the string first: port * s | int"},
		{"nul < 1", `condition "nul < 1": nul < 1: nul (None) is null and 1 a number, which do not compare (col 5)`, "give both sides the same type (| int, | float, | string)"},
		{"lst + lst == lst", `condition "lst + lst == lst": lst + lst: lists do not add up with + (col 5)`, "join them with concat(lst, lst)"},
		{"lst contains 'a'", `condition "lst contains 'a'": lst contains 'a': lst (['a']) is a list, not a string (col 5)`, "for an element of a list write 'a' in lst"},
		{"-s == 1", `condition "-s == 1": -s: s is a string, not a number (col 1)`, "convert it first: -(s | int)"},
		{"'x' in port", `condition "'x' in port": in: port is a number, which has no members (col 5)`, "in looks for a substring in a string, an element in a list or a key in a map"},
		{"'x' in nul", `condition "'x' in nul": in: nul is null, which has no members (col 5)`, "in looks for a substring in a string, an element in a list or a key in a map"},
		{"port in s", `condition "port in s": in: to look for port (a number) in the string s, the left side must be a string too (col 6)`, "convert it: port | string in s"},
		{"r.n in port | int", `condition "r.n in port | int": in: port | int is a number, which has no members (col 5)`, "in looks for a substring in a string, an element in a list or a key in a map"},
		{"m.b == 1", `condition "m.b == 1": m.b is undefined: m has no key b (col 3)`, "check the spelling; if it may be missing, test it first (m.b is defined and ...) or give it a default (m.b | default(...))"},
		{"s.x == 1", `condition "s.x == 1": s.x is undefined: s is a string, which has no key x (col 3)`, "check the spelling; if it may be missing, test it first (s.x is defined and ...) or give it a default (s.x | default(...))"},
		{"port | length > 1", `condition "port | length > 1": port | length: port is a number, which has no length (col 6)`, "length counts the characters of a string, the items of a list or the keys of a map; for the digits of a number write port | string | length"},
		{"s is succeeded", `condition "s is succeeded": s is a string: the succeeded test expects a registered result (a map with changed, failed, skipped) (col 3)`, "register the task's result (register: r) and test that: r is succeeded"},
		{"t and (port_s > 1)", `condition "t and (port_s > 1)": port_s > 1: port_s ('8080') is a string and 1 a number, which do not compare (col 15)`, "convert the string first: port_s | int > 1"},
		{"'a.b' is version(ver, '>')", `condition "'a.b' is version(ver, '>')": version: cannot compare 'a.b' with '4.2.3': part 'a' is a string and part 4 a number, which do not compare (col 7)`, "write e.g. oms_version is version('4.2.3', '>=')"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, nil)
		if err != nil {
			t.Errorf("Compile(%s): %v", tt.src, err)
			continue
		}
		err = p.CheckTypes(vars)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckTypes(%s): %v", tt.src, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("CheckTypes(%s)\n got %v\nwant %s", tt.src, err, tt.want)
			continue
		}
		var ce *CondError
		if !errors.As(err, &ce) || ce.Fix != tt.fix {
			t.Errorf("CheckTypes(%s): fix %q, want %q", tt.src, ce.Fix, tt.fix)
		}
	}
	if err := Const(true).CheckTypes(vars); err != nil {
		t.Errorf("a constant: %v", err)
	}
}
