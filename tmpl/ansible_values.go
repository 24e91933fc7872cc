package tmpl

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// This file holds the value semantics conditions borrow from Jinja (as Ansible runs it):
// undefined values, truthiness, str() and the lookups of a.b and a[i].

// undefinedValue stands for a variable or key that does not exist, as Jinja's Undefined does:
// tests such as "is defined" and the default filter accept it, every other use is an error.
type undefinedValue struct {
	// what is the expression that is undefined, e.g. "r.stdout".
	what string
	// why says why, e.g. "r has no key stdout"; empty for a variable nothing defines.
	why string
	// name is the top-level variable when it is the one missing.
	name string
}

// undefinedError is the error of using an undefined value.
type undefinedError struct{ u *undefinedValue }

func (e *undefinedError) Error() string {
	if e.u.why == "" {
		return e.u.what + " is undefined"
	}
	return e.u.what + " is undefined: " + e.u.why
}

// undefinedFix says how to use what may be undefined.
func undefinedFix(what string) string {
	return fmt.Sprintf("if it may be missing, test it first (%s is defined and ...) or give it a default (%s | default(...))", what, what)
}

func isUndefined(v any) bool {
	_, ok := v.(*undefinedValue)
	return ok
}

// mustDefined gives v, or the error of using it when it is undefined.
func mustDefined(v any) (any, error) {
	if u, ok := v.(*undefinedValue); ok {
		return nil, &undefinedError{u}
	}
	return v, nil
}

// typeName names the kind of v for messages: "null", "a boolean", "a number", "a string",
// "a list", "a map".
func typeName(v any) string {
	if v == nil {
		return "null"
	}
	if isUndefined(v) {
		return "undefined"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}

// toFloat gives v as a float64 when it is a number (not a boolean).
func toFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// toInt gives v as an int when it is an integer number.
func toInt(v any) (int, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f == math.Trunc(f) && !math.IsInf(f, 0) {
			return int(f), true
		}
	}
	return 0, false
}

// isInteger reports whether v is an integer type (Python's int without bool).
func isInteger(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// truthy is Python's bool(v): null, false, 0, "" and empty lists and maps are false.
func truthy(v any) (bool, error) {
	if v == nil {
		return false, nil
	}
	if u, ok := v.(*undefinedValue); ok {
		return false, &undefinedError{u}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len() > 0, nil
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil(), nil
	}
	if f, ok := toFloat(v); ok {
		return f != 0, nil
	}
	return true, nil
}

// pyStr is Python's str(v), as Jinja's string filter gives it: True, None, 1.0, ['a', 1].
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	writePy(&b, v, false)
	return b.String()
}

// writePy writes v as Python's str() (quoted is false) or repr() (inside lists and maps).
func writePy(b *strings.Builder, v any, quoted bool) {
	if v == nil {
		b.WriteString("None")
		return
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		if rv.Bool() {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case reflect.String:
		if quoted {
			b.WriteString(pyRepr(rv.String()))
		} else {
			b.WriteString(rv.String())
		}
	case reflect.Float32, reflect.Float64:
		b.WriteString(pyFloat(rv.Float()))
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writePy(b, rv.Index(i).Interface(), true)
		}
		b.WriteByte(']')
	case reflect.Map:
		// Go maps have no order: the keys are sorted (Python keeps the order written).
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePy(b, k.Interface(), true)
			b.WriteString(": ")
			writePy(b, rv.MapIndex(k).Interface(), true)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v)
	}
}

// pyRepr quotes s as Python's repr does: single quotes unless s holds one and no double quote.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat is Python's repr of a float: 1.0, 1.5, 1e+20, 1e-05, inf, nan.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX, the shortest digits
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp >= -4 && exp < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, exp)
}

// lookup is Jinja's a.b and a[b]: a map's key, a list's or a string's element (negative
// indexes count from the end). What does not exist is undefined, never an error here.
func lookup(obj, key any, what, objDesc string) any {
	if u, ok := obj.(*undefinedValue); ok {
		// x.y.z with x undefined is undefined for the reason x is.
		return u
	}
	if obj == nil {
		return &undefinedValue{what: what, why: objDesc + " is null"}
	}
	rv := reflect.ValueOf(obj)
	switch rv.Kind() {
	case reflect.Map:
		kv := reflect.ValueOf(key)
		if key != nil && kv.Type().AssignableTo(rv.Type().Key()) {
			if v := rv.MapIndex(kv); v.IsValid() {
				return v.Interface()
			}
		}
		return &undefinedValue{what: what, why: fmt.Sprintf("%s has no key %s", objDesc, pyStr(key))}
	case reflect.Slice, reflect.Array, reflect.String:
		i, ok := key.(int)
		if !ok {
			if s, isStr := key.(string); isStr {
				return &undefinedValue{what: what, why: fmt.Sprintf("%s is %s, which has no key %s", objDesc, typeName(obj), s)}
			}
			if i, ok = toInt(key); !ok || isBoolValue(key) {
				return &undefinedValue{what: what, why: fmt.Sprintf("%s is %s: index it with an integer, not %s", objDesc, typeName(obj), typeName(key))}
			}
		}
		if rv.Kind() == reflect.String {
			rs := []rune(rv.String())
			if i < 0 {
				i += len(rs)
			}
			if i < 0 || i >= len(rs) {
				return &undefinedValue{what: what, why: fmt.Sprintf("%s has no character %d", objDesc, key)}
			}
			return string(rs[i])
		}
		n := rv.Len()
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return &undefinedValue{what: what, why: fmt.Sprintf("%s has no element %v (it has %d)", objDesc, key, n)}
		}
		return rv.Index(i).Interface()
	}
	return &undefinedValue{what: what, why: fmt.Sprintf("%s is %s, which has no key %s", objDesc, typeName(obj), pyStr(key))}
}

func isBoolValue(v any) bool {
	_, ok := v.(bool)
	return ok
}
