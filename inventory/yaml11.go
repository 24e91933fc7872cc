package inventory

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/yamlsrc"
)

// This file types YAML values as Ansible's loader does. Ansible reads YAML with PyYAML, which
// follows YAML 1.1: a plain (unquoted, untagged) yes, no, on and off are booleans, 0777 is an
// octal number, 1:20 a base-60 one, 1e3 a string (a float needs a dot). The omsbook format
// keeps its own YAML 1.2 reading; Ansible inventories, group_vars and host_vars get this one.
// A file that is valid JSON is read as JSON, as Ansible does.

var (
	yaml11Bool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yaml11Int   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yaml11Float = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yaml11Null  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
)

// varSet is variables and where each was set.
type varSet struct {
	vars map[string]any
	pos  map[string]yamlsrc.Pos
}

// yamlReader converts YAML nodes of one file to values as Ansible types them.
type yamlReader struct {
	file string
	json bool // the file is JSON: plain scalars are JSON numbers, true, false and null
}

func newYAMLReader(file string, data []byte) *yamlReader {
	return &yamlReader{file: file, json: json.Valid(data)}
}

// value converts n to string, int, float64, bool, nil, []any or map[string]any.
func (r *yamlReader) value(n *yaml.Node) (any, error) {
	n = yamlsrc.Resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return r.scalar(n)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := r.value(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		s, err := r.mapping(n, "a mapping")
		if err != nil {
			return nil, err
		}
		return s.vars, nil
	}
	return nil, &yamlsrc.Error{Pos: yamlsrc.NodePos(r.file, n), Msg: "unsupported YAML node"}
}

// mapping converts a mapping node, keeping where each key was written; what names it in
// errors.
func (r *yamlReader) mapping(n *yaml.Node, what string) (*varSet, error) {
	kvs, err := yamlsrc.Mapping(r.file, n, what)
	if err != nil {
		return nil, err
	}
	s := &varSet{vars: make(map[string]any, len(kvs)), pos: make(map[string]yamlsrc.Pos, len(kvs))}
	for _, kv := range kvs {
		k, err := r.key(kv.KeyNode)
		if err != nil {
			return nil, err
		}
		v, err := r.value(kv.Value)
		if err != nil {
			return nil, err
		}
		s.vars[k], s.pos[k] = v, kv.KeyPos
	}
	return s, nil
}

// key is a mapping key as text: a YAML 1.1 bool, number or null key written as JSON would.
func (r *yamlReader) key(n *yaml.Node) (string, error) {
	v, err := r.scalar(n)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "null", nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return fmt.Sprint(v), nil
}

func (r *yamlReader) scalar(n *yaml.Node) (any, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.Tag {
		case "!vault":
			return nil, &yamlsrc.Error{Pos: yamlsrc.NodePos(r.file, n), Msg: "this value is encrypted with ansible-vault, which omsbook cannot decrypt", Fix: `give the secret another way, e.g. '{{ env "NAME" }}', and list it under secrets:`}
		case "!!str", "!unsafe":
			return n.Value, nil
		case "!!null", "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, &yamlsrc.Error{Pos: yamlsrc.NodePos(r.file, n), Msg: "bad value: " + err.Error(), Err: err}
			}
			return v, nil
		}
		return n.Value, nil // other tags: the text as written
	}
	if n.Style != 0 {
		return n.Value, nil // quoted, literal or folded: a string
	}
	if r.json {
		return jsonScalar(n.Value), nil
	}
	return yaml11Scalar(n.Value), nil
}

// jsonScalar types a plain scalar of a JSON document.
func jsonScalar(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(i)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// yaml11Scalar types a plain scalar as PyYAML's resolver does. Timestamps stay text.
func yaml11Scalar(s string) any {
	switch {
	case yaml11Null.MatchString(s):
		return nil
	case yaml11Bool.MatchString(s):
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true
		}
		return false
	case yaml11Int.MatchString(s):
		return yaml11Int64(s)
	case yaml11Float.MatchString(s):
		return yaml11Float64(s)
	}
	return s
}

// cutSign splits a leading + or - from a number: -1 or 1, and the rest.
func cutSign(t string) (int, string) {
	switch t[0] {
	case '-':
		return -1, t[1:]
	case '+':
		return 1, t[1:]
	}
	return 1, t
}

func yaml11Int64(s string) any {
	sign, t := cutSign(strings.ReplaceAll(s, "_", ""))
	var digits string
	base := 10
	switch {
	case t == "0":
		return 0
	case strings.HasPrefix(t, "0b"):
		digits, base = t[2:], 2
	case strings.HasPrefix(t, "0x"):
		digits, base = t[2:], 16
	case t[0] == '0':
		digits, base = t[1:], 8
	case strings.Contains(t, ":"):
		v := 0.0
		for _, part := range strings.Split(t, ":") {
			d, _ := strconv.Atoi(part)
			v = v*60 + float64(d)
		}
		if v <= math.MaxInt64 {
			return sign * int(v)
		}
		return float64(sign) * v
	default:
		digits = t
	}
	v := pyInt(digits, base)
	if i, ok := v.(int); ok {
		return sign * i
	}
	return float64(sign) * v.(float64)
}

func yaml11Float64(s string) float64 {
	isign, t := cutSign(strings.ToLower(strings.ReplaceAll(s, "_", "")))
	sign := float64(isign)
	switch {
	case t == ".inf":
		return sign * math.Inf(1)
	case t == ".nan":
		return math.NaN()
	case strings.Contains(t, ":"):
		v := 0.0
		for _, part := range strings.Split(t, ":") {
			d, _ := strconv.ParseFloat(part, 64)
			v = v*60 + d
		}
		return sign * v
	}
	f, _ := strconv.ParseFloat(t, 64)
	return sign * f
}
