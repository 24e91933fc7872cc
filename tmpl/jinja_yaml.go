package tmpl

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// pyYAML is Ansible's to_yaml: PyYAML's safe dump (with libyaml's emitter) with default_flow_style=None (a collection
// of scalars only in flow style, {a: 1} or [1, 2], anything else in block style), keys sorted,
// indent 2, and a string plain only where PyYAML writes it plain. What PyYAML would write in a
// way this does not (a line it folds at 80 columns, a string with a line break or a tab, a
// float in exponent form, an empty key) is an error, never something close.
func pyYAML(v any) (string, error) {
	var b strings.Builder
	if isYAMLScalar(v) {
		s, err := yamlScalar(v, false)
		if err != nil {
			return "", err
		}
		// libyaml's emitter, which Ansible dumps with, writes no "..." after a plain scalar
		// (PyYAML's own does).
		return s + "\n", nil
	}
	if err := writeYAMLNode(&b, v, "", false); err != nil {
		return "", err
	}
	out := b.String()
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > 80 && strings.Contains(strings.TrimLeft(line, " -"), " ") {
			return "", fmt.Errorf("to_yaml: a line longer than 80 characters, which PyYAML folds (%.40q)", line)
		}
	}
	return out, nil
}

func isYAMLScalar(v any) bool {
	k := reflect.ValueOf(v).Kind()
	return v == nil || (k != reflect.Map && k != reflect.Slice && k != reflect.Array)
}

// flowable: a collection whose items are all scalars (PyYAML writes it in flow style).
func flowable(v any) bool {
	if m, ok := v.(map[string]any); ok {
		for _, e := range m {
			if !isYAMLScalar(e) {
				return false
			}
		}
		return true
	}
	if l, ok := asList(v); ok {
		for _, e := range l {
			if !isYAMLScalar(e) {
				return false
			}
		}
		return true
	}
	return false
}

func sortedKeys(v any) ([]string, map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("to_yaml: a map with keys that are not strings (%T)", v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, m, nil
}

// flow writes a collection of scalars in flow style.
func flow(v any) (string, error) {
	var parts []string
	if reflect.ValueOf(v).Kind() == reflect.Map {
		keys, m, err := sortedKeys(v)
		if err != nil {
			return "", err
		}
		for _, k := range keys {
			ks, err := yamlScalar(k, true)
			if err != nil {
				return "", err
			}
			vs, err := yamlScalar(m[k], true)
			if err != nil {
				return "", err
			}
			parts = append(parts, ks+": "+vs)
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	l, _ := asList(v)
	for _, e := range l {
		s, err := yamlScalar(e, true)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]", nil
}

// writeYAMLNode writes a block collection at indent; inItem is set when it starts on the
// line of a sequence's "- ".
func writeYAMLNode(b *strings.Builder, v any, indent string, inItem bool) error {
	if flowable(v) {
		s, err := flow(v)
		if err != nil {
			return err
		}
		b.WriteString(s + "\n")
		return nil
	}
	if reflect.ValueOf(v).Kind() == reflect.Map {
		keys, m, err := sortedKeys(v)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if i > 0 || !inItem {
				b.WriteString(indent)
			}
			if k == "" {
				return fmt.Errorf("to_yaml: an empty key, which PyYAML writes as a complex key")
			}
			ks, err := yamlScalar(k, false)
			if err != nil {
				return err
			}
			b.WriteString(ks + ":")
			if err := writeYAMLValue(b, m[k], indent, true); err != nil {
				return err
			}
		}
		return nil
	}
	l, _ := asList(v)
	for i, e := range l {
		if i > 0 || !inItem {
			b.WriteString(indent)
		}
		b.WriteString("-")
		if err := writeYAMLValue(b, e, indent, false); err != nil {
			return err
		}
	}
	return nil
}

// writeYAMLValue writes what follows "key:" or "-".
func writeYAMLValue(b *strings.Builder, v any, indent string, inMap bool) error {
	if isYAMLScalar(v) {
		s, err := yamlScalar(v, false)
		if err != nil {
			return err
		}
		b.WriteString(" " + s + "\n")
		return nil
	}
	if flowable(v) {
		s, err := flow(v)
		if err != nil {
			return err
		}
		b.WriteString(" " + s + "\n")
		return nil
	}
	if !inMap {
		// An item: its collection starts on the "- " line, two columns in.
		b.WriteString(" ")
		return writeYAMLNode(b, v, indent+"  ", true)
	}
	b.WriteString("\n")
	if reflect.ValueOf(v).Kind() == reflect.Map {
		return writeYAMLNode(b, v, indent+"  ", false)
	}
	return writeYAMLNode(b, v, indent, false) // PyYAML does not indent a sequence in a map
}

var (
	yamlBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yamlFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yamlInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yamlOther = regexp.MustCompile(`^(?:<<|=|~|null|Null|NULL|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
)

// yamlScalar writes a scalar as PyYAML does.
func yamlScalar(v any, inFlow bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return yamlString(x, inFlow)
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Float32, reflect.Float64:
		s := pyFloat(reflect.ValueOf(v).Float())
		if strings.ContainsAny(s, "en") {
			return "", fmt.Errorf("to_yaml: the float %s, which PyYAML writes its own way", s)
		}
		return s, nil
	}
	if _, ok := toInt(v); ok {
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("to_yaml: a value of type %T", v)
}

func yamlString(s string, inFlow bool) (string, error) {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || !unicode.IsPrint(r) && r != ' ' {
			return "", fmt.Errorf("to_yaml: the string %q, which PyYAML writes in double quotes", s)
		}
	}
	if yamlPlain(s, inFlow) {
		return s, nil
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// yamlPlain is PyYAML's choice of a plain scalar (analyze_scalar and the resolver).
func yamlPlain(s string, inFlow bool) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	if yamlBool.MatchString(s) || yamlFloat.MatchString(s) || yamlInt.MatchString(s) || yamlOther.MatchString(s) {
		return false
	}
	rs := []rune(s)
	for i, r := range rs {
		next := rune(' ')
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if i == 0 {
			switch {
			case strings.ContainsRune("#,[]{}&*!|>'\"%@`", r):
				return false
			case r == '?' || r == ':':
				if inFlow || next == ' ' {
					return false
				}
			case r == '-' && next == ' ':
				return false
			}
			continue
		}
		switch {
		case strings.ContainsRune(",?[]{}", r) && inFlow:
			return false
		case r == ':' && (inFlow || next == ' '):
			return false
		case r == '#' && rs[i-1] == ' ':
			return false
		}
	}
	return true
}
