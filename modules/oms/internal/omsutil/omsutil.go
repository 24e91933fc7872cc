// Package omsutil holds small helpers of the OMS modules (modules/oms): an order-preserving
// JSON object, secret-looking names and sorted map keys. It knows nothing of the module
// contract, so it can be tested on its own.
package omsutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

var secretName = regexp.MustCompile(`(?i)(pass(wd|word)?|secret|token|credential|private|api_?key|access_?key)`)

// LooksSecret reports whether a variable name (an environment key) suggests a secret value.
func LooksSecret(name string) bool { return secretName.MatchString(name) }

// Object is a JSON object that keeps its keys in their original order, so that merging keys
// into a stored value changes nothing but those keys.
type Object struct {
	keys   []string
	values map[string]json.RawMessage
}

// ParseObject parses a JSON object, keeping key order. Anything else (an array, a string,
// malformed text, trailing data) is an error.
func ParseObject(text string) (*Object, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("malformed JSON: want an object, found %v", tok)
	}
	o := &Object{values: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("malformed JSON at key %q: %w", key, err)
		}
		if _, dup := o.values[key]; !dup {
			o.keys = append(o.keys, key)
		}
		o.values[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed JSON: trailing data after the object")
	}
	return o, nil
}

// Keys returns the keys in order.
func (o *Object) Keys() []string { return append([]string(nil), o.keys...) }

// Get returns the decoded value of key (numbers as int when integral, else float64).
func (o *Object) Get(key string) (any, bool) {
	raw, ok := o.values[key]
	if !ok {
		return nil, false
	}
	return decodeRaw(raw), true
}

// Set sets key to v, in place when the key exists, at the end otherwise. It reports whether
// the value changed (compared as JSON values, so 600 and 600.0 are equal).
func (o *Object) Set(key string, v any) (bool, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("key %q: %w", key, err)
	}
	old, ok := o.values[key]
	if ok && reflect.DeepEqual(decodeRaw(old), decodeRaw(raw)) {
		return false, nil
	}
	if !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = raw
	return true, nil
}

// Map returns the object as a plain map, numbers as int when integral.
func (o *Object) Map() map[string]any {
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = decodeRaw(o.values[k])
	}
	return m
}

// String renders the object compactly, keys in order.
func (o *Object) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		var c bytes.Buffer
		if err := json.Compact(&c, o.values[k]); err != nil {
			b.Write(o.values[k])
		} else {
			b.Write(c.Bytes())
		}
	}
	b.WriteByte('}')
	return b.String()
}

// Pretty renders the object one key per line, keys in order, for diffs.
func (o *Object) Pretty() string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range o.keys {
		kb, _ := json.Marshal(k)
		var c bytes.Buffer
		if err := json.Compact(&c, o.values[k]); err != nil {
			c.Reset()
			c.Write(o.values[k])
		}
		fmt.Fprintf(&b, "  %s: %s", kb, c.String())
		if i < len(o.keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.String()
}

func decodeRaw(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	return Normalize(v)
}

// Normalize turns json.Number values into int (when integral) or float64, recursively.
func Normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int(x)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = Normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Normalize(e)
		}
		return x
	}
	return v
}

// SortedKeys returns the keys of m, sorted.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
