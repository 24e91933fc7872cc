// Package tmpl renders omsbook templates (Go text/template with the sprig functions and a few of
// omsbook's own, missingkey=error) and evaluates conditions written in the expr language. Parsed
// templates and compiled expressions are cached by their source: the same few hundred sources
// are rendered for every host of a run.
//
// Rendering is bounded (see Limits): the text or value one template produces, the time it
// takes, its loop iterations and template calls, and what the functions that can build far
// more than they are given (repeat, until, untilStep, seq, indent, printf, list, append, ...)
// would build, which is refused before it is allocated. A template past a bound fails with an
// *Error whose Limit is set, at validate as at run time.
package tmpl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/internal/shellquote"
)

// Error is a template that failed to parse or to render. Its message is meant for users: the
// cause, the action it happened in and a short position inside the template.
type Error struct {
	// Msg is the cause, e.g. `map has no entry for key "oms_host_ip"`.
	Msg string
	// At is the action that failed, e.g. "<.oms_host_ip>", when known.
	At string
	// Line and Col are the position inside the template (1-based; 0 when unknown).
	Line, Col int
	// MissingKey is the variable or map key that was not defined, when that is the cause.
	MissingKey string
	// Parse is true when the template does not parse (a syntax error, an unknown function).
	Parse bool
	// Limit is true when a bound of Limits stopped the rendering (output size, time, steps,
	// or a function that would build too much).
	Limit bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("template: ")
	b.WriteString(e.Msg)
	var where []string
	if e.At != "" {
		where = append(where, "at "+e.At)
	}
	// Execution errors of one-line templates need only the column; a parse error always
	// says its line.
	showLine := e.Line > 1 || (e.Parse && e.Line > 0)
	switch {
	case showLine && e.Col > 0:
		where = append(where, fmt.Sprintf("line %d col %d", e.Line, e.Col))
	case showLine:
		where = append(where, fmt.Sprintf("line %d", e.Line))
	case e.Col > 0:
		where = append(where, fmt.Sprintf("col %d", e.Col))
	}
	if len(where) > 0 {
		b.WriteString(" (" + strings.Join(where, ", ") + ")")
	}
	return b.String()
}

// IsTemplate reports whether s would be rendered: only strings holding "{{" are templates.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// captureFunc is the name of the hidden function appended to a whole-value action so that the
// value itself, not its printed form, comes back to Render.
const captureFunc = "omsbook_capture_value"

// funcs are the functions every template may call; built once because sprig.TxtFuncMap builds
// a fresh map of ~200 entries on each call.
var funcs = buildFuncs()

func buildFuncs() template.FuncMap {
	f := sprig.TxtFuncMap()
	f["env"] = os.Getenv
	f["now"] = time.Now
	f["shquote"] = ShellQuote
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["collect"] = collect
	addJinjaFuncs(f)
	f[captureFunc] = captureValue
	return f
}

// ShellQuote quotes v for a POSIX shell with single quotes, so that it reaches the command as
// one word whatever it holds.
func ShellQuote(v any) string {
	return shellquote.Quote(fmt.Sprint(v))
}

// collect gathers the value of key from every map in a map of maps (in key order, so that
// `collect .hostvars "cm_hb_db"` is the same on every run) or in a list of maps (in list order),
// skipping maps that lack the key: sprig's pluck takes its maps one by one, which a template
// cannot do for a whole hostvars.
func collect(from any, key string) ([]any, error) {
	var maps []any
	switch c := from.(type) {
	case map[string]any:
		names := make([]string, 0, len(c))
		for name := range c {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			maps = append(maps, c[name])
		}
	case []any:
		maps = c
	case []map[string]any:
		for _, m := range c {
			maps = append(maps, m)
		}
	default:
		return nil, fmt.Errorf("collect: want a map or a list of maps, got %T", from)
	}
	out := []any{}
	for _, m := range maps {
		if mm, ok := m.(map[string]any); ok {
			if v, ok := mm[key]; ok {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func toYAML(v any) (string, error) {
	out, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toYaml: %w", err)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

func fromYAML(s string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("fromYaml: %w", err)
	}
	return v, nil
}

func toJSON(v any) (string, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toJson: %w", err)
	}
	return string(out), nil
}

func fromJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("fromJson: %w", err)
	}
	return v, nil
}

// captured holds whole values between the capture function and Render, keyed by a token that
// the template prints. A global store keeps the cached template shareable between goroutines.
var (
	captured  sync.Map // uint64 -> any
	captureID atomic.Uint64
)

const captureMark = "\x00omsbook-value:"

func captureValue(v any) string {
	id := captureID.Add(1)
	captured.Store(id, v)
	return captureMark + strconv.FormatUint(id, 10)
}

// compiled is a parsed template, ready to execute concurrently.
type compiled struct {
	t *template.Template
	// whole is true when the template is exactly one action whose value Render returns as is.
	whole bool
	// fields is the chain of map keys of a whole-value template that is a plain field
	// reference ({{ .a.b }}): Render looks it up without executing the template.
	fields []string
	// defines is set when the source defines or calls named templates: it then runs in an
	// executor of its own, where no other source's definitions are visible.
	defines bool
	err     error
}

var (
	cache     sync.Map // source -> *compiled
	cacheSize atomic.Int64
)

// maxCached bounds the cache so that a run that renders generated sources cannot grow it
// without limit; sources beyond it are parsed on each use.
const maxCached = 50000

func compile(src string) *compiled {
	if c, ok := cache.Load(src); ok {
		return c.(*compiled)
	}
	c := parseTemplate(src)
	if cacheSize.Load() < maxCached {
		if _, loaded := cache.LoadOrStore(src, c); !loaded {
			cacheSize.Add(1)
		}
	}
	return c
}

func parseTemplate(src string) *compiled {
	t, err := template.New("t").Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return &compiled{err: parseError(err)}
	}
	c := &compiled{t: t}
	c.defines = instrument(t)
	root := t.Tree.Root
	if len(root.Nodes) != 1 {
		return c
	}
	action, ok := root.Nodes[0].(*parse.ActionNode)
	if !ok || len(action.Pipe.Decl) > 0 {
		return c
	}
	c.whole = true
	if len(action.Pipe.Cmds) == 1 && len(action.Pipe.Cmds[0].Args) == 1 {
		if f, ok := action.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok {
			c.fields = f.Ident
		}
	}
	// Append "| omsbook_capture_value" to the pipeline: it hands over the final value.
	appendCommand(action.Pipe, captureFunc, action.Pos)
	return c
}

// instrument rewrites every tree of t so that a rendering can be bounded (see Limits): each
// range body and template definition starts by counting a step, and each range pipeline
// ends in a check of what it ranges over. It reports whether t defines or calls named
// templates.
func instrument(t *template.Template) (defines bool) {
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		if tt.Tree != t.Tree {
			defines = true
			prependStep(tt.Tree.Root)
		}
		if instrumentList(tt.Tree.Root) {
			defines = true
		}
	}
	return defines
}

// instrumentNode rewrites n and what it holds; it reports whether n calls a named template.
func instrumentNode(n parse.Node) (calls bool) {
	switch x := n.(type) {
	case *parse.RangeNode:
		appendCommand(x.Pipe, rangeFunc, x.Pipe.Pos)
		if x.List != nil {
			prependStep(x.List)
		}
		calls = instrumentList(x.List) || calls
		calls = instrumentList(x.ElseList) || calls
	case *parse.IfNode:
		calls = instrumentList(x.List) || calls
		calls = instrumentList(x.ElseList) || calls
	case *parse.WithNode:
		calls = instrumentList(x.List) || calls
		calls = instrumentList(x.ElseList) || calls
	case *parse.ListNode:
		calls = instrumentList(x)
	case *parse.TemplateNode:
		calls = true
	}
	return calls
}

func instrumentList(l *parse.ListNode) (calls bool) {
	if l == nil {
		return false
	}
	for _, n := range l.Nodes {
		if instrumentNode(n) {
			calls = true
		}
	}
	return calls
}

// appendCommand appends "| name" to pipe.
func appendCommand(pipe *parse.PipeNode, name string, pos parse.Pos) {
	ident := parse.NewIdentifier(name).SetPos(pos)
	pipe.Cmds = append(pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{ident}})
}

// prependStep puts a step-counting action first in l.
func prependStep(l *parse.ListNode) {
	ident := parse.NewIdentifier(tickFunc).SetPos(l.Pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: l.Pos, Args: []parse.Node{ident}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: l.Pos, Cmds: []*parse.CommandNode{cmd}}
	action := &parse.ActionNode{NodeType: parse.NodeAction, Pos: l.Pos, Pipe: pipe}
	l.Nodes = append([]parse.Node{action}, l.Nodes...)
}

// Render renders s against vars. A string without "{{" is returned as it is. A template that
// is exactly one action ("{{ .metadb }}") returns the action's value with its type (map, list,
// number, bool); any other template returns a string.
func Render(s string, vars map[string]any) (any, error) {
	if !IsTemplate(s) {
		return s, nil
	}
	c := compile(s)
	if c.err != nil {
		return nil, c.err
	}
	if c.fields != nil {
		if v, ok := lookupFields(vars, c.fields); ok {
			return v, nil
		}
		// Fall through: text/template gives the precise error (or handles a non-map value).
	}
	out, err := execute(c, vars)
	if err != nil {
		// A capture may have happened before a later failure only when the capture is last,
		// so nothing can be left behind; still, drop any token in the partial output.
		takeCaptured(out)
		return nil, execError(err)
	}
	if c.whole {
		if v, ok := takeCaptured(out); ok {
			return v, nil
		}
	}
	return out, nil
}

// execute runs c against vars within the current Limits and returns what it printed.
func execute(c *compiled, vars map[string]any) (string, error) {
	ex := getExecutor()
	defer putExecutor(ex)
	if c.defines {
		// Definitions must not outlive the rendering: a fresh executor holds them.
		ex = newExecutor()
	}
	ex.st.reset(CurrentLimits())
	w := &limitWriter{st: ex.st}
	if c.defines {
		for _, tt := range c.t.Templates() {
			if tt.Tree != nil {
				if _, err := ex.t.AddParseTree(tt.Name(), tt.Tree); err != nil {
					return "", err
				}
			}
		}
	}
	// The executor's own template is "t", as the source's main one. (AddParseTree keeps an
	// earlier tree when the new one is empty: set it in any case.)
	ex.t.Tree = c.t.Tree
	err := ex.t.Execute(w, vars)
	return w.buf.String(), err
}

// RenderString renders s and formats a non-string result (a whole-value template) with fmt.
func RenderString(s string, vars map[string]any) (string, error) {
	v, err := Render(s, vars)
	if err != nil {
		return "", err
	}
	if str, ok := v.(string); ok {
		return str, nil
	}
	if v == nil {
		return "", nil
	}
	return fmt.Sprint(v), nil
}

func takeCaptured(out string) (any, bool) {
	i := strings.Index(out, captureMark)
	if i < 0 {
		return nil, false
	}
	id, err := strconv.ParseUint(out[i+len(captureMark):], 10, 64)
	if err != nil {
		return nil, false
	}
	v, ok := captured.LoadAndDelete(id)
	return v, ok
}

// lookupFields follows a chain of keys through map[string]any values; ok is false when a key
// is missing or a value on the way is not such a map.
func lookupFields(vars map[string]any, keys []string) (any, bool) {
	var cur any = vars
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// RenderDeep renders every string inside v (maps and lists, recursively) and returns a copy;
// other values are returned as they are. An error names the path of the failing value.
func RenderDeep(v any, vars map[string]any) (any, error) {
	return renderDeep(v, vars, "")
}

func renderDeep(v any, vars map[string]any, path string) (any, error) {
	switch x := v.(type) {
	case string:
		out, err := Render(x, vars)
		if err != nil && path != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, err
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := renderDeep(e, vars, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := renderDeep(e, vars, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case []string:
		// Rendered like a list of any: an item may render to another type.
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = e
		}
		return renderDeep(items, vars, path)
	}
	return v, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// HasTemplate reports whether v holds a template string anywhere (in maps and lists).
func HasTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return IsTemplate(x)
	case map[string]any:
		for _, e := range x {
			if HasTemplate(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if HasTemplate(e) {
				return true
			}
		}
	case []string:
		for _, e := range x {
			if IsTemplate(e) {
				return true
			}
		}
	}
	return false
}

var (
	// template: t:1:3: executing "t" at <.foo>: map has no entry for key "foo"
	execRe = regexp.MustCompile(`^template: t:(\d+):(\d+): executing "t" at <(.*?)>: (?s:(.*))$`)
	// template: t:1: function "nope" not defined
	parseRe      = regexp.MustCompile(`^template: t:(\d+):(?:(\d+):)? (?s:(.*))$`)
	nilRe        = regexp.MustCompile(`nil pointer evaluating interface \{\}\.(\w+)`)
	missingKeyRe = regexp.MustCompile(`map has no entry for key "([^"]*)"`)
	// error calling fail: boom  ->  keep the function name, drop the Go wording
	callRe = regexp.MustCompile(`^error calling (\w+): `)
)

// execError turns a text/template execution error into an *Error without Go internals.
func execError(err error) error {
	msg := err.Error()
	e := &Error{Msg: msg}
	var limit *limitError
	if errors.As(err, &limit) {
		e.Limit = true
		defer func() {
			e.Msg = limit.msg
			for _, h := range hiddenFuncs {
				if strings.Contains(e.At, h) {
					e.At = ""
				}
			}
		}()
	}
	if m := execRe.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col, _ = strconv.Atoi(m[2])
		e.Col++ // text/template counts columns from 0; Error's are 1-based, as every position omsbook prints
		e.At = "<" + m[3] + ">"
		e.Msg = m[4]
	} else {
		e.Msg = strings.TrimPrefix(msg, "template: ")
	}
	for _, h := range hiddenFuncs {
		if strings.Contains(e.At, h) {
			// The hidden stages are ours, not the user's: show the action without them.
			e.At = strings.TrimSuffix(strings.TrimSuffix(e.At, ">"), " | "+h) + ">"
		}
	}
	e.Msg = callRe.ReplaceAllString(e.Msg, "$1: ")
	e.Msg = nilRe.ReplaceAllString(e.Msg, `cannot read key "$1" of a null value`)
	if m := missingKeyRe.FindStringSubmatch(e.Msg); m != nil {
		e.MissingKey = m[1]
	}
	return e
}

func parseError(err error) error {
	msg := err.Error()
	e := &Error{Msg: strings.TrimPrefix(msg, "template: "), Parse: true}
	if m := parseRe.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			e.Col, _ = strconv.Atoi(m[2])
		}
		e.Msg = m[3]
	}
	return e
}
