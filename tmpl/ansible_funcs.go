package tmpl

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"github.com/expr-lang/expr/vm/runtime"
)

// This file holds the Jinja filters (x | int) and tests (x is defined) conditions accept, with
// the meaning Ansible gives them, and the internal functions the rewritten expression calls.

// hintError is an evaluation error that knows what to write instead.
type hintError struct{ msg, hint string }

func (e *hintError) Error() string { return e.msg + ": " + e.hint }

// noArg fills the place of a parameter a filter or test call does not give.
type noArg struct{}

// condFunc is one filter or test.
type condFunc struct {
	name string
	test bool
	// probe: the value may be undefined (is defined, default); the name it uses is optional.
	probe bool
	// undefinedFalse: an undefined value makes the test false instead of an error, as Jinja's
	// type tests (x is string) are.
	undefinedFalse bool
	// rawArgs: the arguments after the value may be undefined (default's fallback is only an
	// error when it is used).
	rawArgs bool
	// params are the parameters after the value, by name (keyword arguments use them); the
	// first min are required.
	params []string
	min    int
	// fn gets the value, one entry per parameter (noArg{} when not given) and the text of the
	// value's expression, for messages.
	fn func(v any, args []any, desc string) (any, error)
	// check validates literal arguments at compile time (a regular expression, an operator).
	check func(args []any) error
}

// internal names the rewritten expression calls; "$" keeps them apart from variables.
const (
	fnGet      = "$get"  // a variable, maybe undefined
	fnVar      = "$var"  // a variable that must be defined
	fnAttr     = "$attr" // a.b, maybe undefined
	fnKey      = "$key"  // a.b that must be defined
	fnMust     = "$must"
	fnTruthy   = "$truthy"
	fnIn       = "$in"
	fnCoalesce = "$coalesce"
	fnKw       = "$kw"
	filterPfx  = "$f_"
	testPfx    = "$t_"
	notTestPfx = "$nt_"
)

// attr modes of $attr.
const (
	attrPlain    = 0 // a.b: undefined when missing
	attrOptional = 1 // a?.b: nil when a is nil or undefined, or b is missing
	attrInChain  = 2 // a?.b.c: nil when the chain before it gave nil
)

var (
	filterAliases = map[string]string{"d": "default", "count": "length"}
	testAliases   = map[string]string{
		"success": "succeeded", "successful": "succeeded", "failure": "failed", "change": "changed",
		"skip": "skipped", "version_compare": "version",
	}
)

var filters = map[string]*condFunc{
	"default": {name: "default", probe: true, rawArgs: true, params: []string{"default_value", "boolean"}, fn: fDefault},
	"length":  {name: "length", fn: fLength},
	"bool":    {name: "bool", fn: func(v any, _ []any, _ string) (any, error) { return toBool(v), nil }},
	"int":     {name: "int", params: []string{"default", "base"}, fn: fInt},
	"float":   {name: "float", params: []string{"default"}, fn: fFloat},
	"string":  {name: "string", fn: func(v any, _ []any, _ string) (any, error) { return pyStr(v), nil }},
	"lower":   {name: "lower", fn: func(v any, _ []any, _ string) (any, error) { return strings.ToLower(pyStr(v)), nil }},
	"upper":   {name: "upper", fn: func(v any, _ []any, _ string) (any, error) { return strings.ToUpper(pyStr(v)), nil }},
	"trim":    {name: "trim", params: []string{"chars"}, fn: fTrim},
	"abs":     {name: "abs", fn: fAbs},
	"first":   {name: "first", fn: func(v any, _ []any, desc string) (any, error) { return firstLast(v, desc, true) }},
	"last":    {name: "last", fn: func(v any, _ []any, desc string) (any, error) { return firstLast(v, desc, false) }},
}

var tests = map[string]*condFunc{
	"defined":     {name: "defined", test: true, probe: true, fn: func(v any, _ []any, _ string) (any, error) { return !isUndefined(v), nil }},
	"undefined":   {name: "undefined", test: true, probe: true, fn: func(v any, _ []any, _ string) (any, error) { return isUndefined(v), nil }},
	"none":        typeTest("none", func(v any) bool { return v == nil }),
	"string":      typeTest("string", func(v any) bool { return reflect.ValueOf(v).Kind() == reflect.String }),
	"number":      typeTest("number", func(v any) bool { _, ok := toFloat(v); return ok || isBoolValue(v) }),
	"integer":     typeTest("integer", isInteger),
	"float":       typeTest("float", func(v any) bool { k := reflect.ValueOf(v).Kind(); return k == reflect.Float64 || k == reflect.Float32 }),
	"boolean":     typeTest("boolean", isBoolValue),
	"mapping":     typeTest("mapping", func(v any) bool { return reflect.ValueOf(v).Kind() == reflect.Map }),
	"sequence":    typeTest("sequence", isCollection),
	"iterable":    {name: "iterable", test: true, fn: func(v any, _ []any, _ string) (any, error) { return isCollection(v), nil }},
	"succeeded":   resultTest("succeeded", func(r reflect.Value) (bool, error) { f, err := resultFlag(r, "failed"); return !f, err }),
	"failed":      resultTest("failed", func(r reflect.Value) (bool, error) { return resultFlag(r, "failed") }),
	"changed":     resultTest("changed", resultChanged),
	"skipped":     resultTest("skipped", func(r reflect.Value) (bool, error) { return resultFlag(r, "skipped") }),
	"reachable":   resultTest("reachable", func(r reflect.Value) (bool, error) { f, err := resultFlag(r, "unreachable"); return !f, err }),
	"unreachable": resultTest("unreachable", func(r reflect.Value) (bool, error) { return resultFlag(r, "unreachable") }),
	"version":     {name: "version", test: true, params: []string{"version", "operator", "strict", "version_type"}, min: 1, fn: tVersion, check: checkVersionArgs},
	"match":       regexTest("match"),
	"search":      regexTest("search"),
	"regex":       {name: "regex", test: true, params: []string{"pattern", "ignorecase", "multiline", "match_type"}, fn: tRegex, check: checkRegexArgs},
	"contains":    {name: "contains", test: true, params: []string{"item"}, min: 1, fn: func(v any, a []any, desc string) (any, error) { return inOp(a[0], v, "", desc) }},
	"truthy":      {name: "truthy", test: true, params: []string{"convert_bool"}, fn: tTruthy},
	"falsy": {name: "falsy", test: true, params: []string{"convert_bool"}, fn: func(v any, a []any, d string) (any, error) {
		t, err := tTruthy(v, a, d)
		if err != nil {
			return nil, err
		}
		return !t.(bool), nil
	}},
}

func typeTest(name string, is func(any) bool) *condFunc {
	return &condFunc{name: name, test: true, undefinedFalse: true, fn: func(v any, _ []any, _ string) (any, error) {
		if isUndefined(v) {
			return false, nil
		}
		return is(v), nil
	}}
}

func isCollection(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// nameList lists a table's names and aliases, sorted, for messages.
func nameList(table map[string]*condFunc, aliases map[string]string) string {
	var out []string
	for n := range table {
		out = append(out, n)
	}
	for a := range aliases {
		out = append(out, a)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// arg gives parameter i, or def when the call does not give it.
func arg(args []any, i int, def any) any {
	if i >= len(args) {
		return def
	}
	if _, missing := args[i].(noArg); missing {
		return def
	}
	return args[i]
}

func fDefault(v any, args []any, _ string) (any, error) {
	def := arg(args, 0, "")
	if isUndefined(v) {
		return def, nil
	}
	if b, err := truthy(arg(args, 1, false)); err != nil {
		return nil, err
	} else if b {
		if t, err := truthy(v); err == nil && !t {
			return def, nil
		}
	}
	return v, nil
}

func fLength(v any, _ []any, desc string) (any, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return len([]rune(rv.String())), nil
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len(), nil
	}
	return nil, &hintError{fmt.Sprintf("%s | length: %s is %s, which has no length", desc, desc, typeName(v)),
		"length counts the characters of a string, the items of a list or the keys of a map; for the digits of a number write " + desc + " | string | length"}
}

// toBool is Ansible's bool filter: yes, on, 1, true (any case) and the number 1 are true,
// everything else is false. Ansible gives null back for null; here it is false, which is what a
// condition means by it.
func toBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "yes", "on", "1", "true":
			return true
		}
		return false
	}
	f, ok := toFloat(v)
	return ok && f == 1
}

// fInt is Jinja's int filter: Python's int(), else int(float()), else the default (0).
func fInt(v any, args []any, _ string) (any, error) {
	def := arg(args, 0, 0)
	base := 10
	if b := arg(args, 1, nil); b != nil {
		n, ok := toInt(b)
		if !ok || isBoolValue(b) || n == 1 || n < 0 || n > 36 {
			return nil, fmt.Errorf("int: base must be 0 or an integer from 2 to 36, not %s", pyStr(b))
		}
		base = n
	}
	switch x := v.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		if n, ok := pyParseInt(x, base); ok {
			return n, nil
		}
		if f, ok := pyParseFloat(x); ok {
			return floatToInt(f, def)
		}
		return def, nil
	}
	if isInteger(v) {
		n, _ := toInt(v)
		return n, nil
	}
	if f, ok := toFloat(v); ok {
		return floatToInt(f, def)
	}
	return def, nil
}

func floatToInt(f float64, def any) (any, error) {
	switch {
	case math.IsNaN(f):
		return def, nil
	case math.IsInf(f, 0), math.Abs(f) >= 1<<63:
		return nil, errors.New("int: cannot convert infinity or a number this large to an integer")
	}
	return int(f), nil
}

// pyParseInt is Python's int(s, base): surrounding white space, a sign, underscores between
// digits, and with base 0 or the matching base a 0x/0o/0b prefix.
func pyParseInt(s string, base int) (int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	prefixed := false
	if len(s) > 1 && s[0] == '0' {
		p := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[s[1]]
		if p != 0 && (base == 0 || base == p) {
			base, s, prefixed = p, s[2:], true
		}
	}
	if base == 0 {
		base = 10
		if len(s) > 1 && strings.Trim(s, "0_") != "" && s[0] == '0' {
			return 0, false // int("010", 0) is an error in Python
		}
	}
	if prefixed && strings.HasPrefix(s, "_") {
		s = s[1:]
	}
	if s == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return int(n), true
}

// pyParseFloat is Python's float(s): white space, underscores between digits, inf and nan.
func pyParseFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	t := strings.TrimLeft(s, "+-")
	if t == "" || strings.HasPrefix(strings.ToLower(t), "0x") || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		return 0, false
	}
	if strings.Contains(t, "_") {
		// An underscore must stand between two digits.
		for i := strings.IndexByte(t, '_'); i >= 0; i = strings.IndexByte(t, '_') {
			if i == 0 || i == len(t)-1 || !isDigit(t[i-1]) || !isDigit(t[i+1]) {
				return 0, false
			}
			t = t[:i] + t[i+1:]
		}
		s = s[:len(s)-len(strings.TrimLeft(s, "+-"))] + t
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, true // Python gives inf too
		}
		return 0, false
	}
	return f, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// fFloat is Jinja's float filter: Python's float(), else the default (0.0).
func fFloat(v any, args []any, _ string) (any, error) {
	def := arg(args, 0, 0.0)
	switch x := v.(type) {
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if f, ok := pyParseFloat(x); ok {
			return f, nil
		}
		return def, nil
	}
	if f, ok := toFloat(v); ok {
		return f, nil
	}
	return def, nil
}

func fAbs(v any, _ []any, desc string) (any, error) {
	if isInteger(v) {
		n, _ := toInt(v)
		if n < 0 {
			n = -n
		}
		return n, nil
	}
	if f, ok := toFloat(v); ok {
		return math.Abs(f), nil
	}
	if b, ok := v.(bool); ok {
		if b {
			return 1, nil
		}
		return 0, nil
	}
	return nil, fmt.Errorf("%s | abs: %s is %s, not a number", desc, desc, typeName(v))
}

func fTrim(v any, args []any, _ string) (any, error) {
	s := pyStr(v)
	if c := arg(args, 0, nil); c != nil {
		return strings.Trim(s, pyStr(c)), nil
	}
	return strings.TrimFunc(s, unicode.IsSpace), nil
}

func firstLast(v any, desc string, first bool) (any, error) {
	which := "first"
	if !first {
		which = "last"
	}
	rv := reflect.ValueOf(v)
	var items []any
	switch rv.Kind() {
	case reflect.String:
		for _, r := range rv.String() {
			items = append(items, string(r))
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			items = append(items, rv.Index(i).Interface())
		}
	case reflect.Map:
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, fmt.Sprint(k.Interface()))
		}
		sort.Strings(keys)
		for _, k := range keys {
			items = append(items, k)
		}
	default:
		return nil, fmt.Errorf("%s | %s: %s is %s, which has no items", desc, which, desc, typeName(v))
	}
	if len(items) == 0 {
		return &undefinedValue{what: desc + " | " + which, why: desc + " is empty"}, nil
	}
	if first {
		return items[0], nil
	}
	return items[len(items)-1], nil
}

// resultTest is a test of a registered result (r is succeeded): the value must be a map.
func resultTest(name string, is func(r reflect.Value) (bool, error)) *condFunc {
	return &condFunc{name: name, test: true, fn: func(v any, _ []any, desc string) (any, error) {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
			return nil, &hintError{fmt.Sprintf("%s is %s: the %s test expects a registered result (a map with changed, failed, skipped)", desc, typeName(v), name),
				"register the task's result (register: r) and test that: r is " + name}
		}
		return is(rv)
	}}
}

// resultFlag is Ansible's result.get(key, False), as a truth value.
func resultFlag(r reflect.Value, key string) (bool, error) {
	v := r.MapIndex(reflect.ValueOf(key).Convert(r.Type().Key()))
	if !v.IsValid() {
		return false, nil
	}
	return truthy(v.Interface())
}

// resultChanged is Ansible's changed test: the result's changed, else (a loop's result) whether
// any of its results changed.
func resultChanged(r reflect.Value) (bool, error) {
	k := reflect.ValueOf("changed").Convert(r.Type().Key())
	if v := r.MapIndex(k); v.IsValid() {
		return truthy(v.Interface())
	}
	res := r.MapIndex(reflect.ValueOf("results").Convert(r.Type().Key()))
	if !res.IsValid() {
		return false, nil
	}
	list := reflect.ValueOf(res.Interface())
	if list.Kind() != reflect.Slice || list.Len() == 0 {
		return false, nil
	}
	for i := 0; i < list.Len(); i++ {
		item := reflect.ValueOf(list.Index(i).Interface())
		if item.Kind() != reflect.Map || item.Type().Key().Kind() != reflect.String {
			return false, nil
		}
		if c, err := resultFlag(item, "changed"); err != nil || c {
			return c, err
		}
	}
	return false, nil
}

func tTruthy(v any, args []any, _ string) (any, error) {
	if b, err := truthy(arg(args, 0, false)); err != nil {
		return nil, err
	} else if b {
		switch x := v.(type) {
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "yes", "on", "1", "true", "y", "t":
				return true, nil
			case "no", "off", "0", "false", "n", "f", "":
				return false, nil
			}
		case int, float64:
			if f, _ := toFloat(x); f == 0 || f == 1 {
				return f == 1, nil
			}
		}
	}
	return truthy(v)
}

// inOp is Jinja's "needle in hay": a substring of a string, an element of a list, a key of a
// map; anything else has no members and is an error.
func inOp(needle, hay any, needleDesc, hayDesc string) (bool, error) {
	rv := reflect.ValueOf(hay)
	switch rv.Kind() {
	case reflect.String:
		s, ok := needle.(string)
		if !ok {
			return false, &hintError{fmt.Sprintf("in: to look for %s in the string %s, the left side must be a string too", describeValue(needle, needleDesc), hayDesc),
				"convert it: " + orText(needleDesc, pyLiteral(needle)) + " | string in " + hayDesc}
		}
		return strings.Contains(rv.String(), s), nil
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if runtime.Equal(rv.Index(i).Interface(), needle) {
				return true, nil
			}
		}
		return false, nil
	case reflect.Map:
		kv := reflect.ValueOf(needle)
		if needle == nil || !kv.Type().AssignableTo(rv.Type().Key()) {
			return false, nil
		}
		return rv.MapIndex(kv).IsValid(), nil
	}
	return false, &hintError{fmt.Sprintf("in: %s is %s, which has no members", hayDesc, typeName(hay)),
		"in looks for a substring in a string, an element in a list or a key in a map"}
}

func orText(desc, alt string) string {
	if desc != "" {
		return desc
	}
	return alt
}

func describeValue(v any, desc string) string {
	if desc != "" && desc != pyLiteral(v) {
		return fmt.Sprintf("%s (%s)", desc, typeName(v))
	}
	return fmt.Sprintf("%s (%s)", pyLiteral(v), typeName(v))
}

// pyLiteral writes v as a condition would: 'text', 8080, None.
func pyLiteral(v any) string {
	var b strings.Builder
	writePy(&b, v, true)
	return b.String()
}

// Regular expressions: Python's re, as far as Go's RE2 syntax reaches.

var regexCache sync.Map // pattern -> *regexp.Regexp or error

func regexTest(kind string) *condFunc {
	return &condFunc{name: kind, test: true, params: []string{"pattern", "ignorecase", "multiline"}, check: checkRegexArgs,
		fn: func(v any, args []any, desc string) (any, error) {
			return regexMatch(v, arg(args, 0, ""), arg(args, 1, false), arg(args, 2, false), kind)
		}}
}

func tRegex(v any, args []any, _ string) (any, error) {
	kind := pyStr(arg(args, 3, "search"))
	if kind != "match" && kind != "search" && kind != "fullmatch" {
		return nil, fmt.Errorf("regex: match_type must be match, search or fullmatch, not %s", kind)
	}
	return regexMatch(v, arg(args, 0, ""), arg(args, 1, false), arg(args, 2, false), kind)
}

func regexMatch(v, pattern, icase, multi any, kind string) (bool, error) {
	re, err := compileRegex(pyStr(pattern), toBool(icase), toBool(multi), kind)
	if err != nil {
		return false, err
	}
	return re.MatchString(pyStr(v)), nil
}

func compileRegex(pattern string, icase, multi bool, kind string) (*regexp.Regexp, error) {
	flags := ""
	if icase {
		flags += "i"
	}
	if multi {
		flags += "m"
	}
	src := pattern
	switch kind {
	case "match":
		src = `\A(?:` + pattern + `)`
	case "fullmatch":
		src = `\A(?:` + pattern + `)\z`
	}
	if flags != "" {
		src = "(?" + flags + ")" + src
	}
	if c, ok := regexCache.Load(src); ok {
		if re, ok := c.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, c.(error)
	}
	re, err := regexp.Compile(src)
	var out any = re
	if err != nil {
		err = &hintError{fmt.Sprintf("the pattern %s is not valid in Go's regular expressions: %v", pyRepr(pattern), strings.TrimPrefix(err.Error(), "error parsing regexp: ")),
			"write it in RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookaround (?=...), no backreferences \\1"}
		out = err
	}
	if exprCacheFull() {
		return re, err
	}
	regexCache.Store(src, out)
	return re, err
}

func checkRegexArgs(args []any) error {
	p, ok := args[0].(string)
	if !ok {
		return nil
	}
	_, err := compileRegex(p, false, false, "search")
	return err
}

// Versions: Ansible's version test, with its loose (default), strict and semver comparisons.

var versionOps = map[string]string{
	"==": "eq", "=": "eq", "eq": "eq", "<": "lt", "lt": "lt", "<=": "le", "le": "le",
	">": "gt", "gt": "gt", ">=": "ge", "ge": "ge", "!=": "ne", "<>": "ne", "ne": "ne",
}

const versionOpList = "==, =, eq, <, lt, <=, le, >, gt, >=, ge, !=, <>, ne"

func checkVersionArgs(args []any) error {
	if op, ok := arg(args, 1, "eq").(string); ok {
		if _, known := versionOps[op]; !known {
			return fmt.Errorf("version: unknown operator %s: use one of %s", pyRepr(op), versionOpList)
		}
	}
	if vt, ok := arg(args, 3, nil).(string); ok {
		if err := checkVersionType(vt); err != nil {
			return err
		}
	}
	return nil
}

func checkVersionType(vt string) error {
	switch vt {
	case "loose", "strict", "semver", "semantic":
		return nil
	case "pep440":
		return errors.New("version: version_type pep440 is not supported: use loose, strict or semver")
	}
	return fmt.Errorf("version: unknown version_type %s: use loose, strict or semver", pyRepr(vt))
}

func tVersion(v any, args []any, _ string) (any, error) {
	want := arg(args, 0, nil)
	opName := pyStr(arg(args, 1, "eq"))
	strict := arg(args, 2, nil)
	vtype := arg(args, 3, nil)
	if strict != nil && vtype != nil {
		return nil, errors.New("version: give strict or version_type, not both")
	}
	if t, _ := truthy(v); !t {
		return nil, errors.New("version: the version to compare is empty")
	}
	if t, _ := truthy(want); !t {
		return nil, errors.New("version: the version to compare against is empty")
	}
	op, ok := versionOps[opName]
	if !ok {
		return nil, fmt.Errorf("version: unknown operator %s: use one of %s", pyRepr(opName), versionOpList)
	}
	kind := "loose"
	if t, _ := truthy(strict); t {
		kind = "strict"
	} else if vtype != nil {
		kind = pyStr(vtype)
		if err := checkVersionType(kind); err != nil {
			return nil, err
		}
	}
	a, b := pyStr(v), pyStr(want)
	var c int
	var err error
	switch kind {
	case "loose":
		c, err = compareLoose(a, b)
	case "strict":
		c, err = compareStrict(a, b)
	default:
		c, err = compareSemver(a, b)
	}
	if err != nil {
		return nil, fmt.Errorf("version: cannot compare %s with %s: %v", pyRepr(a), pyRepr(b), err)
	}
	switch op {
	case "eq":
		return c == 0, nil
	case "ne":
		return c != 0, nil
	case "lt":
		return c < 0, nil
	case "le":
		return c <= 0, nil
	case "gt":
		return c > 0, nil
	}
	return c >= 0, nil
}

var looseComponent = regexp.MustCompile(`\d+|[a-z]+|\.`)

// looseParts splits a version as Python's LooseVersion does: runs of digits (numbers), runs of
// lowercase letters, and whatever stands between them; dots separate.
func looseParts(s string) []any {
	var parts []any
	add := func(p string) {
		if p == "" || p == "." {
			return
		}
		if n, err := strconv.Atoi(p); err == nil {
			parts = append(parts, n)
			return
		}
		parts = append(parts, p)
	}
	last := 0
	for _, loc := range looseComponent.FindAllStringIndex(s, -1) {
		add(s[last:loc[0]])
		add(s[loc[0]:loc[1]])
		last = loc[1]
	}
	add(s[last:])
	return parts
}

// compareLoose compares as LooseVersion: part by part, numbers as numbers and text as text; a
// number against text cannot be compared (Python raises).
func compareLoose(a, b string) (int, error) {
	pa, pb := looseParts(a), looseParts(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		xi, xnum := x.(int)
		yi, ynum := y.(int)
		switch {
		case xnum && ynum:
			if xi != yi {
				return cmpInt(xi, yi), nil
			}
		case !xnum && !ynum:
			if xs, ys := x.(string), y.(string); xs != ys {
				return strings.Compare(xs, ys), nil
			}
		default:
			return 0, fmt.Errorf("part %s is %s and part %s %s, which do not compare", pyLiteral(x), typeName(x), pyLiteral(y), typeName(y))
		}
	}
	return cmpInt(len(pa), len(pb)), nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var strictVersion = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$`)

// compareStrict compares as StrictVersion: N.N[.N] with an optional a1 or b2 pre-release.
func compareStrict(a, b string) (int, error) {
	parse := func(s string) ([]int, string, int, error) {
		m := strictVersion.FindStringSubmatch(s)
		if m == nil {
			return nil, "", 0, fmt.Errorf("invalid version number %s", pyRepr(s))
		}
		num := make([]int, 3)
		for i := 0; i < 3; i++ {
			num[i], _ = strconv.Atoi(m[i+1])
		}
		pre, _ := strconv.Atoi(m[5])
		return num, m[4], pre, nil
	}
	na, la, pa, err := parse(a)
	if err != nil {
		return 0, err
	}
	nb, lb, pb, err := parse(b)
	if err != nil {
		return 0, err
	}
	for i := range na {
		if na[i] != nb[i] {
			return cmpInt(na[i], nb[i]), nil
		}
	}
	switch {
	case la == "" && lb == "":
		return 0, nil
	case la == "":
		return 1, nil
	case lb == "":
		return -1, nil
	case la != lb:
		return strings.Compare(la, lb), nil
	}
	return cmpInt(pa, pb), nil
}

func compareSemver(a, b string) (int, error) {
	va, err := semver.StrictNewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("invalid semantic version %s", pyRepr(a))
	}
	vb, err := semver.StrictNewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("invalid semantic version %s", pyRepr(b))
	}
	return va.Compare(vb), nil
}
