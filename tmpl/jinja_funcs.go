package tmpl

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// This file holds the template functions that give Jinja filters their Ansible meaning where
// sprig's nearest function means something else (int parses "08" as octal, sortAlpha sorts
// numbers as text, toJson has no spaces, ...). omsbook convert writes them when it turns Jinja
// into Go templates; they are ordinary functions any template may call. Each takes the value it
// works on last, so that it reads as a filter in a pipeline: {{ .port | to_int }},
// {{ .users | selectattr "active" }}, {{ .a | combine .b }}.
func addJinjaFuncs(f map[string]any) {
	f["str"] = outputStr
	f["to_int"] = func(v any) (any, error) { return fInt(v, nil, "") }
	f["to_float"] = func(v any) (any, error) { return fFloat(v, nil, "") }
	f["to_bool"] = toBool
	f["length"] = func(v any) (any, error) { return fLength(v, nil, "the value") }
	f["in"] = func(needle, hay any) (bool, error) { return inOp(needle, hay, "", "the value") }
	f["defined"] = definedPath
	f["dict2items"] = dict2items
	f["items2dict"] = items2dict
	f["combine"] = combine
	f["flatten"] = flatten
	f["to_json"] = func(v any) (string, error) { return pyJSON(v, "") }
	f["to_nice_json"] = func(v any) (string, error) { return pyJSON(v, "    ") }
	f["to_yaml"] = pyYAML
	f["selectattr"] = func(args ...any) ([]any, error) { return selectAttr(true, args) }
	f["rejectattr"] = func(args ...any) ([]any, error) { return selectAttr(false, args) }
	f["basename"] = func(v any) string { p := pyStr(v); return p[strings.LastIndex(p, "/")+1:] }
	f["dirname"] = pyDirname
	f["sorted"] = sorted
	f["shlex_quote"] = shlexQuote
	f["regex_search"] = regexSearch
	f["at"] = atKey
	f["elements"] = elements
	f["map_attribute"] = mapAttribute
}

// atKey is Jinja's x[k]: a map's entry (an error when it has none, where index gives nothing)
// or a list's or string's element, counted from the end when k is negative.
func atKey(coll, k any) (any, error) {
	return mustDefined(lookup(coll, k, "the value["+pyRepr(pyStr(k))+"]", "the value"))
}

// elements is what Jinja's for goes through: a list's items, a map's keys (sorted: a Go map
// keeps no order), a string's characters.
func elements(v any) ([]any, error) {
	if l, ok := asList(v); ok {
		return l, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		keys := rv.MapKeys()
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k.Interface()
		}
		sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
		return out, nil
	case reflect.String:
		var out []any
		for _, r := range rv.String() {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s cannot be looped over", typeName(v))
}

// mapAttribute is Jinja's map(attribute=name): the entry of every map of the list; a map
// without it is an error (sprig's pluck and omsbook's collect skip it).
func mapAttribute(name string, v any) ([]any, error) {
	l, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("map_attribute: want a list, got %s", typeName(v))
	}
	out := make([]any, len(l))
	for i, e := range l {
		x, err := atKey(e, name)
		if err != nil {
			return nil, fmt.Errorf("map_attribute: item %d: %w", i, err)
		}
		out[i] = x
	}
	return out, nil
}

// outputStr is a value as Ansible writes it into a template's text: Python's str(), and
// nothing for null (Ansible's finalize).
func outputStr(v any) string {
	if v == nil {
		return ""
	}
	return pyStr(v)
}

// definedPath reports whether root holds the chain of keys (maps by key, lists by index): the
// Jinja test `a.b is defined`, written `defined . "a" "b"`.
func definedPath(root any, keys ...any) bool {
	cur := root
	for _, k := range keys {
		if cur = lookup(cur, k, "", "the value"); isUndefined(cur) {
			return false
		}
	}
	return true
}

// dict2items is Ansible's dict2items: [{key, value}, ...].
func dict2items(v any) ([]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("dict2items: want a map, got %s", typeName(v))
	}
	return DictItems(m), nil
}

// DictItems gives a map's entries as {key, value} maps, by key: a Go map keeps no order (what
// Ansible's dict2items and with_dict give in the order written).
func DictItems(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{"key": k, "value": m[k]}
	}
	return out
}

// items2dict is Ansible's items2dict: `items2dict LIST`, or `items2dict KEY_NAME VALUE_NAME LIST`.
func items2dict(args ...any) (map[string]any, error) {
	keyName, valueName := "key", "value"
	switch len(args) {
	case 1:
	case 3:
		keyName, valueName = pyStr(args[0]), pyStr(args[1])
	default:
		return nil, errors.New("items2dict: write items2dict LIST or items2dict KEY_NAME VALUE_NAME LIST")
	}
	l, ok := args[len(args)-1].([]any)
	if !ok {
		return nil, fmt.Errorf("items2dict: want a list, got %s", typeName(args[len(args)-1]))
	}
	out := make(map[string]any, len(l))
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("items2dict: want a list of maps, got %s in it", typeName(e))
		}
		k, okK := m[keyName]
		v, okV := m[valueName]
		if !okK || !okV {
			return nil, fmt.Errorf("items2dict: an item has no %q or %q", keyName, valueName)
		}
		out[pyStr(k)] = v
	}
	return out, nil
}

// combine is Ansible's combine (not recursive): the map given last is the base, and the maps
// before it are laid over it in order, so that `{{ .a | combine .b .c }}` is a | combine(b, c).
// Nothing given is changed.
func combine(maps ...any) (map[string]any, error) {
	if len(maps) == 0 {
		return nil, errors.New("combine: want maps")
	}
	ordered := append([]any{maps[len(maps)-1]}, maps[:len(maps)-1]...)
	out := map[string]any{}
	for _, m := range ordered {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("combine: want maps, got %s", typeName(m))
		}
		for k, v := range mm {
			out[k] = v
		}
	}
	return out, nil
}

// flatten is Ansible's flatten: `flatten LIST` (every level) or `flatten LEVELS LIST`; null
// items are dropped, as Ansible drops them.
func flatten(args ...any) ([]any, error) {
	levels := -1
	switch len(args) {
	case 1:
	case 2:
		n, ok := toInt(args[0])
		if !ok {
			return nil, fmt.Errorf("flatten: levels must be a number, not %s", typeName(args[0]))
		}
		levels = n
	default:
		return nil, errors.New("flatten: write flatten LIST or flatten LEVELS LIST")
	}
	l, ok := asList(args[len(args)-1])
	if !ok {
		return nil, fmt.Errorf("flatten: want a list, got %s", typeName(args[len(args)-1]))
	}
	return flattenList(l, levels), nil
}

func flattenList(l []any, levels int) []any {
	out := []any{}
	for _, e := range l {
		if e == nil {
			continue
		}
		if inner, ok := asList(e); ok && levels != 0 {
			out = append(out, flattenList(inner, levels-1)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func asList(v any) ([]any, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// pyJSON is Python's json.dumps as Ansible's to_json (", " and ": ") and to_nice_json (indent
// 4, keys sorted) call it. Map keys are sorted in both: a Go map keeps no order.
func pyJSON(v any, indent string) (string, error) {
	var b strings.Builder
	if err := writePyJSON(&b, v, indent, ""); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writePyJSON(b *strings.Builder, v any, indent, cur string) error {
	rv := reflect.ValueOf(v)
	sep, open := ", ", ""
	if indent != "" {
		sep, open = ",\n"+cur+indent, "\n"+cur+indent
	}
	closing := func(c byte) {
		if indent != "" {
			b.WriteString("\n" + cur)
		}
		b.WriteByte(c)
	}
	switch {
	case v == nil:
		b.WriteString("null")
	case rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array:
		if rv.Len() == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[" + open)
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := writePyJSON(b, rv.Index(i).Interface(), indent, cur+indent); err != nil {
				return err
			}
		}
		closing(']')
	case rv.Kind() == reflect.Map:
		if rv.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
		b.WriteString("{" + open)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			writeJSONString(b, fmt.Sprint(k.Interface()))
			b.WriteString(": ")
			if err := writePyJSON(b, rv.MapIndex(k).Interface(), indent, cur+indent); err != nil {
				return err
			}
		}
		closing('}')
	case rv.Kind() == reflect.String:
		writeJSONString(b, rv.String())
	case rv.Kind() == reflect.Float32 || rv.Kind() == reflect.Float64:
		b.WriteString(pyFloat(rv.Float()))
	default:
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("to_json: %w", err)
		}
		b.Write(out)
	}
	return nil
}

// writeJSONString writes s as Python's json.dumps does with ensure_ascii: every character
// outside ASCII as \uXXXX (a surrogate pair above the BMP).
func writeJSONString(b *strings.Builder, s string) {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	for _, r := range strings.TrimSuffix(buf.String(), "\n") {
		switch {
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		case r > 0x7f:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
}

// selectAttr is Jinja's selectattr (keep) and rejectattr: `selectattr ATTR LIST` keeps the
// maps whose ATTR is true, `selectattr ATTR TEST [VALUE] LIST` those that pass the test
// (defined, undefined, none, equalto / eq / ==, ne / !=, in, truthy, falsy).
func selectAttr(keep bool, args []any) ([]any, error) {
	name := "selectattr"
	if !keep {
		name = "rejectattr"
	}
	if len(args) < 2 || len(args) > 4 {
		return nil, fmt.Errorf("%s: write %s ATTR [TEST [VALUE]] LIST", name, name)
	}
	l, ok := asList(args[len(args)-1])
	if !ok {
		return nil, fmt.Errorf("%s: want a list, got %s", name, typeName(args[len(args)-1]))
	}
	attr := pyStr(args[0])
	test := "truthy"
	if len(args) >= 3 {
		test = pyStr(args[1])
	}
	var want any
	if len(args) == 4 {
		want = args[2]
	}
	out := []any{}
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want a list of maps, got %s in it", name, typeName(e))
		}
		v, has := m[attr]
		pass, err := attrTest(test, v, has, want)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if pass == keep {
			out = append(out, e)
		}
	}
	return out, nil
}

func attrTest(test string, v any, has bool, want any) (bool, error) {
	switch test {
	case "defined":
		return has, nil
	case "undefined":
		return !has, nil
	}
	if !has {
		return false, errors.New("an item has no such attribute (test it with defined first)")
	}
	switch test {
	case "truthy":
		return truthy(v)
	case "falsy":
		t, err := truthy(v)
		return !t, err
	case "none":
		return v == nil, nil
	case "equalto", "eq", "==":
		return pyEqual(v, want), nil
	case "ne", "!=":
		return !pyEqual(v, want), nil
	case "in":
		return inOp(v, want, "", "the value")
	}
	return false, fmt.Errorf("test %q is not one of defined, undefined, none, equalto, eq, ==, ne, !=, in, truthy, falsy", test)
}

func pyEqual(a, b any) bool {
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// pyDirname is Python's os.path.dirname: everything before the last slash, without the slashes
// that end it (unless it is only slashes).
func pyDirname(v any) string {
	p := pyStr(v)
	i := strings.LastIndex(p, "/") + 1
	head := p[:i]
	if trimmed := strings.TrimRight(head, "/"); trimmed != "" {
		return trimmed
	}
	return head
}

// sorted is Jinja's sort: numbers by value, strings as text; a list that mixes them is an error.
func sorted(v any) ([]any, error) {
	l, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("sorted: want a list, got %s", typeName(v))
	}
	out := append([]any(nil), l...)
	var err error
	sort.SliceStable(out, func(i, j int) bool {
		fi, okI := toFloat(out[i])
		fj, okJ := toFloat(out[j])
		if okI && okJ {
			return fi < fj
		}
		si, okI := out[i].(string)
		sj, okJ := out[j].(string)
		if okI && okJ {
			return si < sj
		}
		err = fmt.Errorf("sorted: cannot order %s and %s", typeName(out[i]), typeName(out[j]))
		return false
	})
	return out, err
}

// regexSearch is Ansible's regex_search without groups: the first match, or null.
func regexSearch(pattern string, v any) (any, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex_search: %w", err)
	}
	s := pyStr(v)
	loc := re.FindStringIndex(s)
	if loc == nil {
		return nil, nil
	}
	return s[loc[0]:loc[1]], nil
}

// shlexQuote is Python's shlex.quote, which Ansible's quote filter is: a word of only
// letters, digits and @%+=:,./-_ as it is, any other in single quotes, each ' as '"'"'.
func shlexQuote(v any) string {
	s := pyStr(v)
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
