package tmpl

import (
	"errors"
	"reflect"
	"testing"
)

// ansibleVars are the variables the cases below run with. The cases marked "ansible" were also
// run as the when: of a task by ansible-core 2.14.18 (Debian 12's ansible package, connection
// local, the same variables as play vars) and gave the same result: true, false (skipped) or an
// error (failed).
func ansibleVars() map[string]any {
	return map[string]any{
		"s":       "hello world",
		"port_s":  "8080",
		"port":    8080,
		"f":       1.5,
		"lst":     []any{"a", "b", "c"},
		"nums":    []any{1, 2, 3},
		"strs":    []string{"x", "y"},
		"m":       map[string]any{"a": 1, "b": nil},
		"nul":     nil,
		"t":       true,
		"fl":      false,
		"r_ok":    map[string]any{"changed": false, "failed": false, "rc": 0, "stdout": "hi there"},
		"r_fail":  map[string]any{"changed": true, "failed": true, "rc": 1, "stdout": ""},
		"r_skip":  map[string]any{"changed": false, "skipped": true},
		"r_loop":  map[string]any{"results": []any{map[string]any{"changed": false}, map[string]any{"changed": true}}},
		"r_nochg": map[string]any{"rc": 0},
		"ver":     "4.2.3",
		"ver_ce":  "4.2.3-ce",
		"yes_s":   "yes",
		"empty":   "",
		"nodes":   []any{map[string]any{"name": "n1", "online": true}},
	}
}

func TestAnsibleSpellings(t *testing.T) {
	tests := []struct {
		src     string
		want    bool
		ansible bool // compared with ansible-core 2.14.18
	}{
		// is defined, is not defined, is undefined
		{"x is defined", false, true},
		{"x is not defined", true, true},
		{"x is undefined", true, true},
		{"s is defined", true, true},
		{"nul is defined", true, true},
		{"m.b is defined", true, true},
		{"m.c is defined", false, true},
		{"x.y is defined", false, true},
		{"s.foo is defined", false, true},
		{"lst[5] is defined", false, true},
		{"m.c.d is defined", false, true},
		{"x.y is undefined", true, true},
		{"hostvars['nope'] is defined", false, true},
		{"x is defined and x > 1", false, true},
		{"x is not defined or x > 1", true, true},
		{"m['a'] is defined and m['a'] == 1", true, true},
		// | bool
		{"yes_s | bool", true, true},
		{"'no' | bool", false, true},
		{"'True' | bool", true, true},
		{"'on' | bool", true, true},
		{"'1' | bool", true, true},
		{"1 | bool", true, true},
		{"1.0 | bool", true, true},
		{"2 | bool", false, true},
		{"0 | bool", false, true},
		{"'' | bool", false, true},
		{"lst | bool", false, true},
		{"nul | bool", false, true},
		{"t | bool", true, true},
		// in: substring, element, key
		{"'wor' in s", true, true},
		{"'xyz' in s", false, true},
		{"'x' not in s", true, true},
		{"'hi' in r_ok.stdout", true, true},
		{"'a' in lst", true, true},
		{"'z' in lst", false, false},
		{"'y' in ['x','y']", true, true},
		{"'a' in m", true, true},
		{"'c' in m", false, true},
		{"2 in nums", true, true},
		{"'2' in nums", false, true},
		{"2.0 in nums", true, true},
		{"'y' in strs", true, false},
		{"'HI' in s | upper", false, true},
		{"'HELLO' in s | upper", true, true},
		// results: succeeded/success, failed/failure, changed/change, skipped/skip
		{"r_ok is succeeded", true, true},
		{"r_fail is succeeded", false, true},
		{"r_ok is success", true, true},
		{"r_ok is successful", true, true},
		{"r_fail is failed", true, true},
		{"r_ok is failure", false, true},
		{"r_fail is changed", true, true},
		{"r_ok is change", false, true},
		{"r_loop is changed", true, true},
		{"r_nochg is changed", false, true},
		{"r_nochg is failed", false, true},
		{"r_skip is skipped", true, true},
		{"r_ok is skip", false, true},
		{"r_ok is not failed", true, false},
		{"r_ok is reachable", true, true},
		// | length, | count
		{"s | length == 11", true, true},
		{"lst | length == 3", true, true},
		{"m | length == 2", true, true},
		{"lst | count == 3", true, true},
		{"s | length > 5 and t", true, true},
		// | default, | d
		{"x | default('a') == 'a'", true, true},
		{"nul | default('a') == 'a'", false, true},
		{"empty | default('a') == 'a'", false, true},
		{"empty | default('a', true) == 'a'", true, true},
		{"x | d('a') == 'a'", true, true},
		{"m.c | default(1) == 1", true, true},
		{"x.y | default(1) == 1", true, true},
		{"s.foo | default(1) == 1", true, true},
		{"s | default(y) == s", true, true},
		{"x | default(3) + 1 == 4", true, false},
		{"x | default(default_value=2) == 2", true, true},
		// | int, | float
		{"port_s | int > 80", true, true},
		{"'abc' | int == 0", true, true},
		{"'3.7' | int == 3", true, true},
		{"3.7 | int == 3", true, true},
		{"nul | int == 0", true, true},
		{"' 42 ' | int == 42", true, true},
		{"'0x1A' | int == 0", true, true},
		{"'1e3' | int == 1000", true, true},
		{"t | int == 1", true, true},
		{"'abc' | int(5) == 5", true, true},
		{"'1A' | int(base=16) == 26", true, true},
		{"'1_000' | int == 1000", true, true},
		{"'-7' | int == -7", true, false},
		{"'1.5' | float == 1.5", true, true},
		{"'abc' | float == 0.0", true, true},
		{"port | float == 8080.0", true, true},
		{"nul | float == 0.0", true, true},
		{"t | float == 1.0", true, true},
		// | string, | lower, | upper, | trim, | abs, | first, | last
		{"port | string == '8080'", true, true},
		{"t | string == 'True'", true, true},
		{"nul | string == 'None'", true, true},
		{"f | string == '1.5'", true, true},
		{`lst | string == "['a', 'b', 'c']"`, true, true},
		{`m | string == "{'a': 1, 'b': None}"`, true, true},
		{"1e20 | string == '1e+20'", true, true},
		{"3.0 | string == '3.0'", true, true},
		{"'AbC' | lower == 'abc'", true, true},
		{"t | lower == 'true'", true, true},
		{"port | upper == '8080'", true, true},
		{"nul | lower == 'none'", true, true},
		{"'AbC' | upper == 'ABC'", true, true},
		{"' a ' | trim == 'a'", true, true},
		{"-3 | abs == 3", true, true},
		{"lst | first == 'a'", true, true},
		{"lst | last == 'c'", true, true},
		{"'' | first is defined", false, true},
		// is none, is not none
		{"nul is none", true, true},
		{"s is none", false, true},
		{"nul is not none", false, true},
		{"x is none", false, true},
		{"x is not none", true, true},
		{"nul == None", true, true},
		{"nul == none", true, true},
		// not, and, or: Python's truth and precedence
		{"not t", false, true},
		{"not s", false, true},
		{"not empty", true, true},
		{"not lst", false, true},
		{"not nul", true, true},
		{"t and fl", false, true},
		{"t or fl", true, true},
		{"s and t", true, true},
		{"not s == 'x'", true, true},
		{"not 'HI' in s | upper", true, true},
		{"not not t", true, true},
		{"t and not port == 1", true, false},
		{"not (port == 1) or fl", true, false},
		{"t == True", true, true},
		{"fl == False", true, true},
		{"True and not False", true, false},
		// version, version_compare
		{"ver is version('4.2.3', '>=')", true, true},
		{"ver is version('4.2.10', '<')", true, true},
		{"'4.2.3' is version('4.2.3', '==')", true, true},
		{"ver_ce is version('4.2.3', '>=')", true, true},
		{"ver_ce is version('4.2.3', '==')", false, true},
		{"'4.2' is version('4.2.0', '<')", true, true},
		{"'4.2.3' is version('4.2.3a', '<')", true, true},
		{"ver is version('4.2.3', 'ge')", true, true},
		{"ver is version('4.2.3')", true, true},
		{"ver is version('4.2.3', '>=', version_type='semver')", true, true},
		{"ver_ce is version('4.2.3', '<', version_type='semver')", true, true},
		{"ver is version_compare('4.2.2', '>')", true, true},
		{"port is version('8000', '>')", true, true},
		{"ver is version('4.2.3', '>=', strict=true)", true, true},
		{"'4.2.3' is version('4.2.3.0', '==')", false, true},
		{"'1.10' is version('1.9', '>')", true, true},
		{"'4.2.3-ce' is version('4.2.3-de', '<')", true, true},
		{"'4.2b1' is version('4.2', '<', strict=true)", true, true},
		{"ver is version(version='4.2.2', operator='gt')", true, true},
		{"ver is not version('4.2.2', '<=')", true, true},
		// match, search, regex
		{"s is match('hel')", true, true},
		{"s is match('world')", false, true},
		{"s is search('world')", true, true},
		{"s is search('^world')", false, true},
		{"port is match('80')", true, true},
		{"s is match('HEL', ignorecase=true)", true, true},
		{"s is regex('o w')", true, true},
		{"nul is match('None')", true, true},
		{"s is not search('xyz')", true, true},
		// Python's escapes in quoted strings: \. and \d stay a backslash and a character
		{`'10.0.0.11' is match('10\.0\.0\.')`, true, true},
		{`'10a0' is match('10\.0')`, false, true},
		{`port is match('\d+$')`, true, true},
		{`'a?' is match('a\?$')`, true, true},
		{`'ab' is match('a\?b')`, false, true},
		{`"it's" is search("'")`, true, false},
		{"s is regex('^hello', match_type='match')", true, true},
		// type tests
		{"x is string", false, true},
		{"x is number", false, true},
		{"x is mapping", false, true},
		{"x is sequence", false, true},
		{"nul is string", false, true},
		{"s is string", true, true},
		{"port is string", false, true},
		{"port is number", true, true},
		{"f is number", true, true},
		{"t is number", true, true},
		{"m is mapping", true, true},
		{"lst is mapping", false, true},
		{"lst is sequence", true, true},
		{"s is sequence", true, true},
		{"m is sequence", true, true},
		{"port is sequence", false, true},
		{"lst is iterable", true, true},
		{"s is iterable", true, true},
		{"m is iterable", true, true},
		{"port is iterable", false, true},
		{"nul is iterable", false, true},
		{"t is boolean", true, true},
		{"port is boolean", false, true},
		{"port is integer", true, true},
		{"f is integer", false, true},
		{"f is float", true, true},
		{"port is float", false, true},
		{"t is integer", false, true},
		{"lst is contains('b')", true, true},
		{"s is truthy", true, true},
		{"'no' is truthy(convert_bool=true)", false, true},
		{"empty is falsy", true, true},
		// keys, elements, ansible.builtin names
		{"r_ok.stdout == 'hi there'", true, true},
		{"lst[-1] == 'c'", true, true},
		{"m['a'] == 1", true, true},
		{"s is ansible.builtin.string", true, false}, // Ansible: string is Jinja's, not ansible.builtin's
		{"yes_s | ansible.builtin.bool", true, true},
		// expr's own spellings still work beside them
		{`r_ok.stdout contains "hi" && region == "hz"`, true, false},
		{"len(lst) == 3 && (lst | len) == 3 && (lst | len()) == 3", true, false},
		{"all(nodes, #.name is string)", true, false},
		{"filter(nodes, .online) | length == 1", true, false},
		{"(missing ?? 5) == 5", true, false},
		{"m?.c?.d == nil", true, false},
		{"let z = port | string; z == '8080'", true, false},
		{"!t == false", true, false},
	}
	vars := ansibleVars()
	vars["region"] = "hz"
	for _, tt := range tests {
		p, err := Compile(tt.src, nil)
		if err != nil {
			t.Errorf("Compile(%s): %v", tt.src, err)
			continue
		}
		got, err := Truth(p, vars)
		if err != nil {
			t.Errorf("Truth(%s): %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Truth(%s) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestAnsibleEvalErrors: what Ansible refuses when the condition runs is an error here too.
func TestAnsibleEvalErrors(t *testing.T) {
	tests := []struct {
		src     string
		want    string // the whole message
		unknown string
	}{
		{"x | bool", `condition "x | bool": x is undefined (col 1)`, "x"},
		{"not x", `condition "not x": x is undefined (col 5)`, "x"},
		{"'x' in x", `condition "'x' in x": x is undefined (col 8)`, "x"},
		{"x | length == 0", `condition "x | length == 0": x is undefined (col 1)`, "x"},
		{"x | string == ''", `condition "x | string == ''": x is undefined (col 1)`, "x"},
		{"x is succeeded", `condition "x is succeeded": x is undefined (col 1)`, "x"},
		{"x is iterable", `condition "x is iterable": x is undefined (col 1)`, "x"},
		{"x is match('a')", `condition "x is match('a')": x is undefined (col 1)`, "x"},
		{"x is version('1')", `condition "x is version('1')": x is undefined (col 1)`, "x"},
		{"x | default(y) == 1", `condition "x | default(y) == 1": y is undefined (col 3)`, "y"},
		{"x.y == 1", `condition "x.y == 1": x is undefined (col 3)`, "x"},
		{"r_ok.stderr == ''", `condition "r_ok.stderr == ''": r_ok.stderr is undefined: r_ok has no key stderr (col 6)`, ""},
		{"m.c == 1", `condition "m.c == 1": m.c is undefined: m has no key c (col 3)`, ""},
		{"s.foo == 1", `condition "s.foo == 1": s.foo is undefined: s is a string, which has no key foo (col 3)`, ""},
		{"lst[5] == 1", `condition "lst[5] == 1": lst[5] is undefined: lst has no element 5 (it has 3) (col 4)`, ""},
		{"nul.a == 1", `condition "nul.a == 1": nul.a is undefined: nul is null (col 5)`, ""},
		{"filter(nodes, .nope) | length == 0", `condition "filter(nodes, .nope) | length == 0": #.nope is undefined: # has no key nope (col 16)`, ""},
		{"1 in s", `condition "1 in s": in: to look for 1 (a number) in the string s, the left side must be a string too: convert it: 1 | string in s (col 3)`, ""},
		{"'x' in 42", `condition "'x' in 42": in: 42 is a number, which has no members: in looks for a substring in a string, an element in a list or a key in a map (col 5)`, ""},
		{"'x' in nul", `condition "'x' in nul": in: nul is null, which has no members: in looks for a substring in a string, an element in a list or a key in a map (col 5)`, ""},
		{"s is succeeded", `condition "s is succeeded": s is a string: the succeeded test expects a registered result (a map with changed, failed, skipped): register the task's result (register: r) and test that: r is succeeded (col 3)`, ""},
		{"nul is failed", `condition "nul is failed": nul is null: the failed test expects a registered result (a map with changed, failed, skipped): register the task's result (register: r) and test that: r is failed (col 5)`, ""},
		{"port | length == 4", `condition "port | length == 4": port | length: port is a number, which has no length: length counts the characters of a string, the items of a list or the keys of a map; for the digits of a number write port | string | length (col 6)`, ""},
		{"'4.2.a' is version('4.2.3', '<')", `condition "'4.2.a' is version('4.2.3', '<')": version: cannot compare '4.2.a' with '4.2.3': part 'a' is a string and part 3 a number, which do not compare (col 9)`, ""},
		{"'V4.2.3' is version('4.2.2', '>')", `condition "'V4.2.3' is version('4.2.2', '>')": version: cannot compare 'V4.2.3' with '4.2.2': part 'V' is a string and part 4 a number, which do not compare (col 10)`, ""},
		{"'' is version('1', '>')", `condition "'' is version('1', '>')": version: the version to compare is empty (col 4)`, ""},
		{"nul is version('1', '>')", `condition "nul is version('1', '>')": version: the version to compare is empty (col 5)`, ""},
		{"ver is version('x', '>', version_type='semver')", `condition "ver is version('x', '>', version_type='semver')": version: cannot compare '4.2.3' with 'x': invalid semantic version 'x' (col 5)`, ""},
		{"port_s > 80", `condition "port_s > 80": invalid operation: string > int (col 8)`, ""},
		{"s", `condition "s": gave hello world (a string), want true or false: compare it, e.g. x == 1 or x != nil`, ""},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, nil)
		if err != nil {
			t.Errorf("Compile(%s): %v", tt.src, err)
			continue
		}
		_, err = Truth(p, ansibleVars())
		if err == nil {
			t.Errorf("Truth(%s): no error", tt.src)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Truth(%s)\n got %s\nwant %s", tt.src, err, tt.want)
		}
		var ce *CondError
		if !errors.As(err, &ce) || ce.Unknown != tt.unknown {
			t.Errorf("Truth(%s): %#v, want Unknown %q", tt.src, err, tt.unknown)
		}
	}
}

// TestAnsibleCompileErrors: what cannot work is refused when the playbook loads, with the fix.
func TestAnsibleCompileErrors(t *testing.T) {
	tests := []struct {
		src, want, fix string
	}{
		{"r.stdout.find('hi') != -1",
			`condition "r.stdout.find('hi') != -1": r.stdout.find(...) is a method call, and conditions have no Python methods: write 'hi' in r.stdout (col 10)`,
			"write 'hi' in r.stdout"},
		{"r.stdout.startswith('ok')", `condition "r.stdout.startswith('ok')": r.stdout.startswith(...) is a method call, and conditions have no Python methods: write r.stdout startsWith 'ok' (col 10)`, "write r.stdout startsWith 'ok'"},
		{"s.lower() == 'x'", `condition "s.lower() == 'x'": s.lower(...) is a method call, and conditions have no Python methods: write s | lower (col 3)`, "write s | lower"},
		{"m.get('a', 0) == 1", `condition "m.get('a', 0) == 1": m.get(...) is a method call, and conditions have no Python methods: write m.a | default(0) (col 3)`, "write m.a | default(0)"},
		{"m.frob()", `condition "m.frob()": m.frob(...) is a method call, and conditions have no Python methods (col 3)`, "use a filter (x | lower), a test (x is match('re')), an operator (a in b, a startsWith b) or an expr function (len(x), split(x, ','), keys(x))"},
		{"x is odd", `condition "x is odd": unknown test odd (col 6)`, "the tests are boolean, change, changed, contains, defined, failed, failure, falsy, float, integer, iterable, mapping, match, none, number, reachable, regex, search, sequence, skip, skipped, string, succeeded, success, successful, truthy, undefined, unreachable, version, version_compare"},
		{"x | regex_search('a')", `condition "x | regex_search('a')": unknown filter regex_search (col 5)`, "the filters are abs, bool, count, d, default, first, float, int, last, length, lower, string, trim, upper, and expr's functions (x | len())"},
		{"x | community.general.json_query('a')", `condition "x | community.general.json_query('a')": filter community.general.json_query is not available here (col 5)`, "the filters are abs, bool, count, d, default, first, float, int, last, length, lower, string, trim, upper, and expr's functions (x | len())"},
		{"x is not", `condition "x is not": is not: a test name must follow (col 8)`, "write e.g. x is not defined"},
		{"ver is version('1', op='>')", `condition "ver is version('1', op='>')": test version has no parameter op (its parameters are version, operator, strict, version_type) (col 21)`, ""},
		{"ver is version('1', operator='>', operator='<')", `condition "ver is version('1', operator='>', operator='<')": test version: operator is given twice (col 35)`, ""},
		{"ver is version(operator='>', '1')", `condition "ver is version(operator='>', '1')": test version: a positional argument follows a keyword argument (col 30)`, ""},
		{"ver is version()", `condition "ver is version()": test version needs its version argument (col 5)`, "write e.g. oms_version is version('4.2.3', '>=')"},
		{"ver is version('1', 'bogus')", `condition "ver is version('1', 'bogus')": version: unknown operator 'bogus': use one of ==, =, eq, <, lt, <=, le, >, gt, >=, ge, !=, <>, ne (col 5)`, "write e.g. oms_version is version('4.2.3', '>=')"},
		{"ver is version('1', '>', version_type='pep440')", `condition "ver is version('1', '>', version_type='pep440')": version: version_type pep440 is not supported: use loose, strict or semver (col 5)`, "write e.g. oms_version is version('4.2.3', '>=')"},
		{"port | int(1, 2, 3)", `condition "port | int(1, 2, 3)": filter int takes 2 arguments at most (col 18)`, ""},
		{"s is match('(?=hel)')", `condition "s is match('(?=hel)')": the pattern '(?=hel)' is not valid in Go's regular expressions: invalid or unsupported Perl syntax: ` + "`(?=`" + `: write it in RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookaround (?=...), no backreferences \1 (col 3)`, `write it in RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookaround (?=...), no backreferences \1`},
		{"$get == 1", `condition "$get == 1": $get: names starting with $ are reserved (col 1)`, "rename the variable"},
		{"x is defined and", `condition "x is defined and": unexpected token EOF (col 16)`, ""},
		{"x | bool ==", `condition "x | bool ==": unexpected token EOF (col 11)`, ""},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src, nil)
		if err == nil {
			t.Errorf("Compile(%s): no error", tt.src)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Compile(%s)\n got %s\nwant %s", tt.src, err, tt.want)
		}
		var ce *CondError
		if !errors.As(err, &ce) || ce.Fix != tt.fix {
			t.Errorf("Compile(%s): fix %q, want %q", tt.src, ce.Fix, tt.fix)
		}
	}
}

// TestAnsibleNames: the names a condition refers to, and those it may do without.
func TestAnsibleNames(t *testing.T) {
	tests := []struct {
		src                string
		names, optional    []string
		requiredWithKnown  bool // Compile with known = {} fails
		unknownWithoutVars string
	}{
		{"x is defined", []string{"x"}, []string{"x"}, false, ""},
		{"x is not defined", []string{"x"}, []string{"x"}, false, ""},
		{"x is undefined", []string{"x"}, []string{"x"}, false, ""},
		{"x.y.z is defined", []string{"x"}, []string{"x"}, false, ""},
		{"x | default(1) == 1", []string{"x"}, []string{"x"}, false, ""},
		{"x | d(y) == 1", []string{"x", "y"}, []string{"x"}, true, "y"},
		{"x is defined and x > 1", []string{"x"}, []string{"x"}, false, ""},
		{"(x ?? 0) == 0", []string{"x"}, []string{"x"}, false, ""},
		{"x == 1", []string{"x"}, nil, true, "x"},
		{"x is none", []string{"x"}, nil, true, "x"},
		{"m[k] is defined", []string{"m", "k"}, []string{"m"}, true, "k"},
		{"a.b | int > c | int", []string{"a", "c"}, nil, true, "a"},
		{"let v = 1; v == w", []string{"w"}, nil, true, "w"},
		{"all(nodes, #.ok) and len(names) > 0", []string{"nodes", "names"}, nil, true, "nodes"},
		{"count > 2", []string{"count"}, nil, true, "count"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, nil)
		if err != nil {
			t.Errorf("Compile(%s): %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(p.Names, tt.names) || !reflect.DeepEqual(p.Optional, tt.optional) {
			t.Errorf("Compile(%s): Names %q Optional %q, want %q %q", tt.src, p.Names, p.Optional, tt.names, tt.optional)
		}
		_, err = Compile(tt.src, map[string]any{})
		var ce *CondError
		if tt.requiredWithKnown != (err != nil) || (err != nil && (!errors.As(err, &ce) || ce.Unknown != tt.unknownWithoutVars)) {
			t.Errorf("Compile(%s, {}) = %v, want an error naming %q: %v", tt.src, err, tt.unknownWithoutVars, tt.requiredWithKnown)
		}
	}
}

// TestRewriteKeepsSource: the rewritten text never shows; Source is the text as written.
func TestRewriteKeepsSource(t *testing.T) {
	src := "x is defined and x.y | int > 1"
	p, err := Compile(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != src {
		t.Fatalf("Source = %q", p.Source)
	}
	_, err = Truth(p, map[string]any{"x": map[string]any{}})
	if err == nil || err.Error() != `condition "x is defined and x.y | int > 1": x.y is undefined: x has no key y (col 20)` {
		t.Fatalf("error %v", err)
	}
}

func TestPythonValues(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "True"}, {1, "1"}, {1.0, "1.0"}, {1.5e-7, "1.5e-07"}, {1e16, "1e+16"},
		{123456789012345.0, "123456789012345.0"}, {"it's", "it's"}, {[]any{"it's", `a"b`, 1}, `["it's", 'a"b', 1]`},
		{map[string]any{"b": nil, "a": []any{}}, "{'a': [], 'b': None}"},
	} {
		if got := pyStr(tt.v); got != tt.want {
			t.Errorf("pyStr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct {
		s    string
		base int
		want int
		ok   bool
	}{
		{"42", 10, 42, true}, {" -42\n", 10, -42, true}, {"1_000", 10, 1000, true}, {"1__0", 10, 0, false},
		{"0x1A", 16, 26, true}, {"0x1A", 10, 0, false}, {"0x1A", 0, 26, true}, {"010", 0, 0, false}, {"ff", 16, 255, true}, {"", 10, 0, false},
	} {
		if got, ok := pyParseInt(tt.s, tt.base); got != tt.want || ok != tt.ok {
			t.Errorf("pyParseInt(%q, %d) = %d %v, want %d %v", tt.s, tt.base, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		a, b, kind string
		want       int
		err        bool
	}{
		{"4.2.3", "4.2.10", "loose", -1, false}, {"4.2.3", "4.2.3", "loose", 0, false}, {"4.2", "4.2.0", "loose", -1, false},
		{"4.2.3-ce", "4.2.3", "loose", 1, false}, {"1.5.2b2", "1.5.2", "loose", 1, false}, {"4.2.a", "4.2.3", "loose", 0, true},
		{"4.2.3", "4.2.3", "strict", 0, false}, {"4.2", "4.2.0", "strict", 0, false}, {"4.2b1", "4.2", "strict", -1, false},
		{"4.2a1", "4.2b1", "strict", -1, false}, {"4.2.3-ce", "4.2.3", "strict", 0, true},
		{"4.2.3-rc.1", "4.2.3", "semver", -1, false}, {"4.2.3+b1", "4.2.3", "semver", 0, false}, {"4.2", "4.2.0", "semver", 0, true},
	} {
		var got int
		var err error
		switch tt.kind {
		case "loose":
			got, err = compareLoose(tt.a, tt.b)
		case "strict":
			got, err = compareStrict(tt.a, tt.b)
		default:
			got, err = compareSemver(tt.a, tt.b)
		}
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("compare %s %s %s = %d, %v; want %d, error %v", tt.kind, tt.a, tt.b, got, err, tt.want, tt.err)
		}
	}
}

// TestPositionsThroughRewrites: positions in errors are the source's, not the rewritten text's.
func TestPositionsThroughRewrites(t *testing.T) {
	known := map[string]any{"r": map[string]any{}}
	tests := []struct {
		src, want string
		run       bool // the error is the evaluation's
	}{
		{`'\d' is match('x') and nosuch`, `condition "'\\d' is match('x') and nosuch": unknown name nosuch (col 24)`, false},
		{"x | default(1) == 1 and r.nope == 1", `condition "x | default(1) == 1 and r.nope == 1": r.nope is undefined: r has no key nope (col 27)`, true},
		{"r is defined and\nr.nope | int == 1", `condition "r is defined and\nr.nope | int == 1": r.nope is undefined: r has no key nope (line 2 col 3)`, true},
		{`'\d' is match('x') and`, `condition "'\\d' is match('x') and": unexpected token EOF (col 22)`, false},
		{"not r is odd", `condition "not r is odd": unknown test odd (col 10)`, false},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, known)
		if tt.run && err == nil {
			_, err = Truth(p, known)
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
