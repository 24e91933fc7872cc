// Package secret keeps the set of secret values of a run and masks them wherever text or data
// leaves omsbook: output, the journal, errors and diffs.
//
// Secrets are known by value. Mask replaces them in text; MaskValue is the one path for data
// (results, loop items, variables) and every channel that prints data goes through it. The
// rules, by type of the value being masked:
//
//   - strings (and []byte, and named string types): every secret inside is replaced by
//     ********, as Mask does, so a value derived from a secret that still contains it (a URL
//     with the password in it) stays masked;
//   - numbers (every int, uint and float kind, json.Number): a number whose decimal form
//     equals or contains a secret becomes the string ********, so that pin: 739164 never
//     shows as 739164 in a result field, at -vv or in JSON;
//   - booleans are never masked by value, and a boolean secret is never registered: it holds
//     one bit, both of its values appear in every result (changed, failed), and masking them
//     would hide what every task did without hiding the secret, which the other value gives
//     away anyway. A secret string "true" masks text and strings, not the booleans;
//   - maps, lists, arrays and pointers are walked to any depth, map keys included; structs and
//     other values are masked in the form the JSON output gives them; an error is masked as
//     its message.
//
// Values shorter than 3 characters (numbers below 100 included) are not registered: masking
// them would garble ordinary output without protecting anything.
package secret

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mask is what a secret value is shown as.
const Mask = "********"

// Set holds secret values. It is safe for concurrent use. The zero value is ready to use.
type Set struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	replacer *strings.Replacer // rebuilt lazily after Add
}

// Add records a secret value. Empty values and values shorter than 3 characters are ignored:
// masking them would garble ordinary output without protecting anything.
func (s *Set) Add(v string) {
	if len(v) < 3 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	if _, ok := s.values[v]; ok {
		return
	}
	s.values[v] = struct{}{}
	s.replacer = nil
}

// AddAll records every scalar inside v: a variable named secret may hold a whole map or list
// (all of metadb, say), and every value in it is then secret. Numbers are recorded in every
// decimal form they are printed in; booleans are not recorded (see the package comment).
func (s *Set) AddAll(v any) {
	switch x := v.(type) {
	case nil, bool:
	case string:
		s.Add(x)
	case map[string]any:
		for _, e := range x {
			s.AddAll(e)
		}
	case []any:
		for _, e := range x {
			s.AddAll(e)
		}
	case []string:
		for _, e := range x {
			s.Add(e)
		}
	default:
		s.addReflect(reflect.ValueOf(v))
	}
}

func (s *Set) addReflect(rv reflect.Value) {
	if forms, ok := numberForms(rv); ok {
		for _, f := range forms {
			s.Add(f)
		}
		return
	}
	switch rv.Kind() {
	case reflect.Invalid, reflect.Bool:
	case reflect.String:
		s.Add(rv.String())
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			s.AddAll(rv.Elem().Interface())
		}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			s.Add(string(rv.Bytes()))
			return
		}
		for i := 0; i < rv.Len(); i++ {
			s.AddAll(rv.Index(i).Interface())
		}
	case reflect.Map:
		for it := rv.MapRange(); it.Next(); {
			s.AddAll(it.Value().Interface())
		}
	default:
		s.Add(fmt.Sprint(rv.Interface()))
	}
}

// numberForms returns the decimal forms a number is printed in (fmt's and, for a float, the
// plain one without exponent), or false when rv is not a number.
func numberForms(rv reflect.Value) ([]string, bool) {
	if !rv.IsValid() {
		return nil, false
	}
	if n, ok := rv.Interface().(json.Number); ok {
		return []string{n.String()}, true
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return []string{strconv.FormatInt(rv.Int(), 10)}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return []string{strconv.FormatUint(rv.Uint(), 10)}, true
	case reflect.Float32, reflect.Float64:
		bits := 64
		if rv.Kind() == reflect.Float32 {
			bits = 32
		}
		g := fmt.Sprint(rv.Interface())                         // what text output prints
		plain := strconv.FormatFloat(rv.Float(), 'f', -1, bits) // what encoding/json prints
		if plain == g {
			return []string{g}, true
		}
		return []string{g, plain}, true
	}
	return nil, false
}

// Len reports how many values are recorded.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}

// Mask replaces every recorded value in text with ********, longest values first so that a
// secret containing another is masked whole.
func (s *Set) Mask(text string) string {
	if s == nil || text == "" {
		return text
	}
	r := s.currentReplacer()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// currentReplacer returns the replacer for the recorded values, nil when there are none.
func (s *Set) currentReplacer() *strings.Replacer {
	s.mu.RLock()
	r := s.replacer
	n := len(s.values)
	s.mu.RUnlock()
	if n == 0 {
		return nil
	}
	if r != nil {
		return r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replacer == nil {
		vals := make([]string, 0, len(s.values))
		for v := range s.values {
			vals = append(vals, v)
		}
		sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
		pairs := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			pairs = append(pairs, v, Mask)
		}
		s.replacer = strings.NewReplacer(pairs...)
	}
	return s.replacer
}

// MaskValue returns v with every secret masked, whatever its type, to any depth (see the
// package comment for the rules). Maps and lists of the types YAML and modules produce
// (map[string]any, []any, []string, []map[string]any) are always copied; a value of another
// type is returned as it is when nothing in it is secret, and otherwise as a copy in which a
// masked number or element becomes the string ******** (a []int becomes a []any, say). v
// itself is never changed.
func (s *Set) MaskValue(v any) any {
	if s == nil {
		return v
	}
	out, _ := s.maskValue(v, s.currentReplacer())
	return out
}

// maskValue masks v with r (nil: no secrets) and reports whether anything was masked.
func (s *Set) maskValue(v any, r *strings.Replacer) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		m := maskText(r, x)
		return m, m != x
	case []byte:
		m := maskText(r, string(x))
		return m, m != string(x)
	case bool:
		return x, false
	case map[string]any:
		out := make(map[string]any, len(x))
		changed := false
		for k, e := range x {
			me, c := s.maskValue(e, r)
			mk := maskText(r, k)
			if mk != k {
				mk, c = uniqueKey(out, x, mk), true
			}
			out[mk] = me
			changed = changed || c
		}
		return out, changed
	case []any:
		out := make([]any, len(x))
		changed := false
		for i, e := range x {
			var c bool
			out[i], c = s.maskValue(e, r)
			changed = changed || c
		}
		return out, changed
	case []string:
		out := make([]string, len(x))
		changed := false
		for i, e := range x {
			out[i] = maskText(r, e)
			changed = changed || out[i] != e
		}
		return out, changed
	case []map[string]any:
		out := make([]map[string]any, len(x))
		changed := false
		for i, e := range x {
			m, c := s.maskValue(e, r)
			out[i], _ = m.(map[string]any)
			changed = changed || c
		}
		return out, changed
	case error:
		msg := x.Error()
		if m := maskText(r, msg); m != msg {
			return m, true
		}
		return v, false
	}
	if r == nil {
		return v, false
	}
	return s.maskReflect(reflect.ValueOf(v), r)
}

// maskReflect masks values of the types maskValue does not name: numbers, named string types,
// typed maps and lists, pointers and structs.
func (s *Set) maskReflect(rv reflect.Value, r *strings.Replacer) (any, bool) {
	v := rv.Interface()
	if forms, ok := numberForms(rv); ok {
		for _, f := range forms {
			if maskText(r, f) != f {
				return Mask, true
			}
		}
		return v, false
	}
	switch rv.Kind() {
	case reflect.Bool:
		return v, false
	case reflect.String:
		if m := maskText(r, rv.String()); m != rv.String() {
			return m, true
		}
		return v, false
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return v, false
		}
		if m, c := s.maskValue(rv.Elem().Interface(), r); c {
			return m, true
		}
		return v, false
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			b := string(rv.Bytes())
			if m := maskText(r, b); m != b {
				return m, true
			}
			return v, false
		}
		out := make([]any, rv.Len())
		changed := false
		for i := range out {
			var c bool
			out[i], c = s.maskValue(rv.Index(i).Interface(), r)
			changed = changed || c
		}
		if !changed {
			return v, false
		}
		return out, true
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		changed := false
		for it := rv.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			me, c := s.maskValue(it.Value().Interface(), r)
			if mk := maskText(r, k); mk != k {
				k, c = uniqueKey(out, nil, mk), true
			}
			out[k] = me
			changed = changed || c
		}
		if !changed {
			return v, false
		}
		return out, true
	case reflect.Struct:
		// Masked in the form the JSON output shows it.
		b, err := json.Marshal(v)
		if err != nil {
			return s.maskText(fmt.Sprint(v), v, r)
		}
		var decoded any
		if err := json.Unmarshal(b, &decoded); err != nil {
			return s.maskText(fmt.Sprint(v), v, r)
		}
		if m, c := s.maskValue(decoded, r); c {
			return m, true
		}
		return v, false
	}
	return s.maskText(fmt.Sprint(v), v, r)
}

// maskText returns the masked form of text when it holds a secret, else v as it is.
func (s *Set) maskText(text string, v any, r *strings.Replacer) (any, bool) {
	if m := maskText(r, text); m != text {
		return m, true
	}
	return v, false
}

func maskText(r *strings.Replacer, text string) string {
	if r == nil || text == "" {
		return text
	}
	return r.Replace(text)
}

// uniqueKey returns key, or key with a number after it when out (or orig, the map being
// masked) already holds it: two keys masked alike must not overwrite each other.
func uniqueKey(out, orig map[string]any, key string) string {
	taken := func(k string) bool {
		if _, ok := out[k]; ok {
			return true
		}
		_, ok := orig[k]
		return ok
	}
	if !taken(key) {
		return key
	}
	for i := 2; ; i++ {
		if k := key + " (" + strconv.Itoa(i) + ")"; !taken(k) {
			return k
		}
	}
}
