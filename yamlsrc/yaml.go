package yamlsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file holds the YAML helpers the playbook and inventory loaders share: parsing with
// positions, strict mappings, plain values and "did you mean" suggestions.

// ParseYAML parses one YAML document into a node tree. It returns nil (and no error) for an
// empty document. A syntax error comes back as an *Error at the line yaml reports. A document
// past the bounds of limits.go (its size, what its aliases expand to, its nesting) is refused
// with an *Error wrapping ErrLimit, before anything walks it.
func ParseYAML(file string, data []byte) (*yaml.Node, error) {
	if err := CheckSize(file, data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Pos: Pos{File: file, Line: extra.Line, Col: extra.Column}, Msg: "a second YAML document (---) is not supported", Fix: "keep one document per file"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, data, err)
	}
	if err := checkLimits(file, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into an *Error at file:line:column. The YAML parser
// reports only a line; the column is where that line's text begins, so that every error of
// omsbook has the same file:line:column shape for editors and scripts to follow.
func yamlError(file string, data []byte, err error) *Error {
	msg := err.Error()
	e := &Error{Pos: Pos{File: file}, Msg: "malformed YAML: " + strings.TrimPrefix(msg, "yaml: "), Err: err, Fix: "check the indentation, quotes and colons on that line and the one before"}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		e.Pos.Line, _ = strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			// The YAML library counts lines from 0 for its parser's errors (its scanner's
			// are counted from 1): the construct it names starts one line further down.
			e.Pos.Line++
		}
		if n := lineCount(data); e.Pos.Line > n && n > 0 {
			// An error at the end of the stream is reported on the line after the last one.
			e.Pos.Line = n
		}
		e.Pos.Col = lineStartColumn(data, e.Pos.Line)
		e.Msg = "malformed YAML: " + m[2]
	}
	return e
}

// parserProblems are the messages of the YAML library's parser (as opposed to its scanner),
// whose line numbers are off by one.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// lineCount is the number of lines of data; a final newline ends the last line, it does not
// start another.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// lineStartColumn is the 1-based column of the first character of line (1-based) in data that
// is not a space; 1 for a blank line or a line past the end.
func lineStartColumn(data []byte, line int) int {
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if line < 1 || line > len(lines) {
		return 1
	}
	text := []rune(string(lines[line-1]))
	for i, r := range text {
		if r != ' ' {
			return i + 1
		}
	}
	return 1
}

// DecodeValue parses a YAML (or JSON) document, within the bounds of ParseYAML, into a plain
// value as NodeValue gives it; nil for an empty document.
func DecodeValue(file string, data []byte) (any, error) {
	root, err := ParseYAML(file, data)
	if err != nil || root == nil {
		return nil, err
	}
	return NodeValue(file, root)
}

// NodePos is the place of n in file.
func NodePos(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// Resolve follows aliases: the node an alias (*name) stands for, or n itself.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// KeyValue is one entry of a mapping, in the order written.
type KeyValue struct {
	Key      string
	KeyNode  *yaml.Node
	Value    *yaml.Node
	KeyPos   Pos
	ValuePos Pos
}

// Mapping returns the entries of a mapping node in order, following aliases and merge keys
// (<<). what names the mapping in errors ("play", "node oms-hz-1"). A repeated key is an error.
func Mapping(file string, n *yaml.Node, what string) ([]KeyValue, error) {
	n = Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &Error{Pos: NodePos(file, n), Msg: fmt.Sprintf("%s must be a mapping (key: value), not %s", what, KindName(n))}
	}
	var out []KeyValue
	seen := map[string]Pos{}
	var add func(m *yaml.Node, merged bool) error
	add = func(m *yaml.Node, merged bool) error {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				src := Resolve(v)
				var srcs []*yaml.Node
				if src.Kind == yaml.SequenceNode {
					srcs = src.Content
				} else {
					srcs = []*yaml.Node{src}
				}
				for _, s := range srcs {
					s = Resolve(s)
					if s.Kind != yaml.MappingNode {
						return &Error{Pos: NodePos(file, s), Msg: "a merge key (<<) needs a mapping"}
					}
					if err := add(s, true); err != nil {
						return err
					}
				}
				continue
			}
			k = Resolve(k)
			if k.Kind != yaml.ScalarNode {
				return &Error{Pos: NodePos(file, k), Msg: fmt.Sprintf("a key in %s must be a plain word, not %s", what, KindName(k))}
			}
			key := k.Value
			if prev, dup := seen[key]; dup {
				if merged {
					continue // keys written in the mapping itself win over merged ones
				}
				return &Error{Pos: NodePos(file, k), Msg: fmt.Sprintf("key %q is repeated in %s (first at %s)", key, what, prev), Fix: "keep one"}
			}
			seen[key] = NodePos(file, k)
			out = append(out, KeyValue{Key: key, KeyNode: k, Value: v, KeyPos: NodePos(file, k), ValuePos: NodePos(file, Resolve(v))})
		}
		return nil
	}
	// Keys written directly in the mapping win over merged ones: collect them first.
	direct := n
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Tag == "!!merge" {
			merges = append(merges, n.Content[i], n.Content[i+1])
		}
	}
	if len(merges) > 0 {
		direct = &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !(n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Tag == "!!merge") {
				direct.Content = append(direct.Content, n.Content[i], n.Content[i+1])
			}
		}
	}
	out = make([]KeyValue, 0, len(n.Content)/2)
	if err := add(direct, false); err != nil {
		return nil, err
	}
	if len(merges) > 0 {
		if err := add(&yaml.Node{Kind: yaml.MappingNode, Content: merges}, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sequence returns the items of a sequence node; a scalar or mapping is an error naming what.
func Sequence(file string, n *yaml.Node, what string) ([]*yaml.Node, error) {
	n = Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &Error{Pos: NodePos(file, n), Msg: fmt.Sprintf("%s must be a list, not %s", what, KindName(n))}
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = Resolve(c)
	}
	return out, nil
}

// KindName describes a node for messages: "a string", "a list", "a mapping".
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a bool (" + n.Value + ")"
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		}
		return fmt.Sprintf("a string (%q)", n.Value)
	}
	return "a YAML node"
}

// NodeValue converts a node to a plain value: string, int, float64, bool, nil, []any or
// map[string]any (non-string keys are formatted).
func NodeValue(file string, n *yaml.Node) (any, error) {
	n = Resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!int":
			// The common decimal case without a decoder; others (0x, 0o, 1_000) below.
			if i, err := strconv.Atoi(n.Value); err == nil {
				return i, nil
			}
		case "!!bool":
			switch n.Value {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		switch n.Tag {
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, &Error{Pos: NodePos(file, n), Msg: "bad value: " + err.Error(), Err: err}
			}
			return v, nil
		}
		// Other tags (!!binary, !!timestamp, custom ones): keep the text as written.
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := NodeValue(file, c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		kvs, err := Mapping(file, n, "a mapping")
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(kvs))
		for _, kv := range kvs {
			v, err := NodeValue(file, kv.Value)
			if err != nil {
				return nil, err
			}
			out[kv.Key] = v
		}
		return out, nil
	}
	return nil, &Error{Pos: NodePos(file, n), Msg: "unsupported YAML node"}
}

// Scalar returns the text of a scalar node (a string, number or bool as written).
func Scalar(file string, n *yaml.Node, what string) (string, error) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", &Error{Pos: NodePos(file, n), Msg: fmt.Sprintf("%s must be a string, not %s", what, KindName(n))}
	}
	return n.Value, nil
}

// Bool returns a bool node's value; true/false, yes/no and on/off are accepted.
func Bool(file string, n *yaml.Node, what string) (bool, error) {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	}
	return false, &Error{Pos: NodePos(file, n), Msg: fmt.Sprintf("%s must be true or false, not %s", what, KindName(n))}
}

// Int returns an integer node's value.
func Int(file string, n *yaml.Node, what string) (int, error) {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		if v, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
			return v, nil
		}
	}
	return 0, &Error{Pos: NodePos(file, n), Msg: fmt.Sprintf("%s must be a whole number, not %s", what, KindName(n))}
}

// Strings returns a list of strings; a single string stands for a list of one.
func Strings(file string, n *yaml.Node, what string) ([]string, error) {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, nil
	}
	items, err := Sequence(file, n, what)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			return nil, &Error{Pos: NodePos(file, it), Msg: fmt.Sprintf("each item of %s must be a string, not %s", what, KindName(it))}
		}
		out = append(out, it.Value)
	}
	return out, nil
}

// Suggest returns the candidates closest to word (edit distance at most a third of its
// length, at least 2), best first; it is empty when nothing is close.
func Suggest(word string, candidates []string) []string {
	limit := len(word) / 3
	if limit < 2 {
		limit = 2
	}
	type scored struct {
		s string
		d int
	}
	var found []scored
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(lw, strings.ToLower(c))
		if d <= limit || (len(lw) >= 4 && strings.Contains(strings.ToLower(c), lw)) {
			found = append(found, scored{c, d})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].d < found[j].d })
	out := make([]string, 0, len(found))
	for _, f := range found {
		out = append(out, f.s)
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// editDistance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of neighbours (serail -> serial) cost one each.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Plain turns decoded YAML into the shapes templates and conditions read: map[string]any for
// every map (a key that is no string is written out), in place where it can be.
func Plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = Plain(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = Plain(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = Plain(e)
		}
		return x
	}
	return v
}
