package jinja

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Marker is the function an untranslated construct is written as: no template defines it, so
// the converted template fails to parse exactly there (`function "omsbook_convert_untranslated"
// not defined`) and validate stops at it.
const Marker = "omsbook_convert_untranslated"

// untranslated is a construct with no translation of the same meaning.
type untranslated struct{ reason string }

func (u *untranslated) Error() string { return u.reason }

func no(format string, a ...any) error { return &untranslated{fmt.Sprintf(format, a...)} }

// kind is what the translator knows of a value's type.
type kind int

const (
	kUnknown kind = iota
	kString
	kInt
	kBool
	kList
	kMap
)

// val is a translated expression: Go template operand text (a field chain, a literal or a
// parenthesised call).
type val struct {
	s    string
	k    kind
	lit  bool // a literal: no field may follow it
	path *path
}

// path is a chain of keys from the variables or a local variable, for defined and default.
type path struct {
	root string   // "." or "$" (the variables) or "$x" (a local)
	keys []string // operand texts of the keys
	// local is set when root is a local variable (always defined).
	local bool
	// intKey is set when a key is an integer index (dig cannot follow it).
	intKey bool
}

type loopInfo struct {
	idx  string // the index variable, $i1
	seq  string // the sequence's operand text, inside the range's body
	used bool
	// mapLoop: for k, v in d.items(): loop.* has no translation.
	mapLoop bool
}

// scope is one Go block (if, range): the locals declared in it.
type scope struct {
	vars map[string]kind
	// jinja is set for a for loop, which is a Jinja scope too.
	jinja bool
}

type emitter struct {
	scopes []*scope
	loops  []*loopInfo
	// ranges counts enclosing range blocks: inside them the variables are $.x, not .x.
	ranges int
	// dead are variables set inside an if that ended (Go forgets them, Jinja does not).
	dead  map[string]bool
	loopN int
	notes []Problem
}

func newEmitter() *emitter {
	return &emitter{scopes: []*scope{{vars: map[string]kind{}, jinja: true}}, dead: map[string]bool{}}
}

func (e *emitter) isLocal(name string) bool {
	_, ok := e.local(name)
	return ok
}

func (e *emitter) local(name string) (kind, bool) {
	for i := len(e.scopes) - 1; i >= 0; i-- {
		if k, ok := e.scopes[i].vars[name]; ok {
			return k, true
		}
	}
	return kUnknown, false
}

func (e *emitter) root() string {
	if e.ranges > 0 {
		return "$"
	}
	return "."
}

func (e *emitter) varRef(name string) string {
	if e.ranges > 0 {
		return "$." + name
	}
	return "." + name
}

func quote(s string) string { return strconv.Quote(s) }

func call(fn string, args ...val) val {
	parts := []string{fn}
	for _, a := range args {
		parts = append(parts, a.s)
	}
	return val{s: "(" + strings.Join(parts, " ") + ")"}
}

func callK(k kind, fn string, args ...val) val { v := call(fn, args...); v.k = k; return v }

func litStr(s string) val { return val{s: quote(s), k: kString, lit: true} }

func (e *emitter) emit(n Node) (val, error) {
	switch x := n.(type) {
	case Lit:
		return emitLit(x)
	case Name:
		switch {
		case e.isLocal(x.Name):
			k, _ := e.local(x.Name)
			return val{s: "$" + x.Name, k: k, path: &path{root: "$" + x.Name, local: true}}, nil
		case e.dead[x.Name]:
			return val{}, no("%s is set inside an if and used after it (a Go template forgets it at the if's end)", x.Name)
		case x.Name == "loop" && len(e.loops) > 0:
			return val{}, no("loop is used other than as loop.index, loop.index0, loop.first, loop.last, loop.length, loop.revindex")
		case x.Name == "omit":
			return val{}, no("omit has no omsbook equivalent: leave the argument out, or use an if")
		}
		return val{s: e.varRef(x.Name), path: &path{root: e.root(), keys: []string{quote(x.Name)}}}, nil
	case Attr:
		return e.attr(x)
	case Index:
		return e.index(x)
	case Filter:
		return e.filter(x)
	case Test:
		return e.test(x)
	case Bin:
		return e.bin(x)
	case Unary:
		return e.unary(x)
	case CondExpr:
		if x.Else == nil {
			return val{}, no("an if expression without else")
		}
		arms, err := e.emitAll([]Node{x.Then, x.Else})
		if err != nil {
			return val{}, err
		}
		c, err := e.truth(x.If)
		if err != nil {
			return val{}, err
		}
		return callK(sameKind(arms[0], arms[1]), "ternary", arms[0], arms[1], c), nil
	case List:
		args, err := e.emitAll(x.Items)
		if err != nil {
			return val{}, err
		}
		if len(args) == 0 {
			return val{s: "list", k: kList}, nil
		}
		return callK(kList, "list", args...), nil
	case Dict:
		var args []val
		for i := range x.Keys {
			k, err := e.emit(x.Keys[i])
			if err != nil {
				return val{}, err
			}
			if k.k != kString {
				return val{}, no("a dict literal whose keys are not strings")
			}
			v, err := e.emit(x.Vals[i])
			if err != nil {
				return val{}, err
			}
			args = append(args, k, v)
		}
		if len(args) == 0 {
			return val{s: "dict", k: kMap}, nil
		}
		return callK(kMap, "dict", args...), nil
	case Call:
		return e.call(x)
	}
	return val{}, no("an expression of type %T", n)
}

func emitLit(x Lit) (val, error) {
	switch v := x.V.(type) {
	case string:
		return litStr(v), nil
	case int64:
		return val{s: strconv.FormatInt(v, 10), k: kInt, lit: true}, nil
	case float64:
		return val{}, no("a float literal (Go templates print %v differently from Python)", v)
	case bool:
		return val{s: strconv.FormatBool(v), k: kBool, lit: true}, nil
	case nil:
		return val{s: "nil", lit: true}, nil
	}
	return val{}, no("a literal %v", x.V)
}

func (e *emitter) emitAll(ns []Node) ([]val, error) {
	out := make([]val, len(ns))
	for i, n := range ns {
		v, err := e.emit(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *emitter) attr(x Attr) (val, error) {
	if n, ok := x.X.(Name); ok && n.Name == "loop" && len(e.loops) > 0 && !e.isLocal("loop") {
		return e.loopAttr(x.Name)
	}
	b, err := e.emit(x.X)
	if err != nil {
		return val{}, err
	}
	if b.lit {
		return val{}, no("an attribute of a literal")
	}
	out := val{s: b.s + "." + x.Name}
	if b.path != nil {
		p := *b.path
		p.keys = append(append([]string(nil), p.keys...), quote(x.Name))
		out.path = &p
	}
	return out, nil
}

func (e *emitter) loopAttr(name string) (val, error) {
	l := e.loops[len(e.loops)-1]
	if l.mapLoop {
		return val{}, no("loop.%s in a loop over items() (a Go range over a map has no index)", name)
	}
	l.used = true
	i := val{s: l.idx, k: kInt}
	n := val{s: "(len " + l.seq + ")", k: kInt}
	switch name {
	case "index":
		return callK(kInt, "add1", i), nil
	case "index0":
		return i, nil
	case "first":
		return callK(kBool, "eq", i, val{s: "0"}), nil
	case "last":
		return callK(kBool, "eq", callK(kInt, "add1", i), n), nil
	case "length":
		return n, nil
	case "revindex":
		return callK(kInt, "sub", n, i), nil
	case "revindex0":
		return callK(kInt, "sub", callK(kInt, "sub", n, i), val{s: "1"}), nil
	}
	return val{}, no("loop.%s", name)
}

func (e *emitter) index(x Index) (val, error) {
	b, err := e.emit(x.X)
	if err != nil {
		return val{}, err
	}
	i, err := e.emit(x.I)
	if err != nil {
		return val{}, err
	}
	out := callK(kUnknown, "at", b, i)
	if b.path != nil && (i.k == kString || i.k == kInt) {
		p := *b.path
		p.keys = append(append([]string(nil), p.keys...), i.s)
		p.intKey = p.intKey || i.k == kInt
		out.path = &p
	}
	// A string key that is a name reads better, and means the same, as a field.
	if i.k == kString && i.lit && isIdent(i.s[1:len(i.s)-1]) && !b.lit {
		out.s = b.s + "." + i.s[1:len(i.s)-1]
	}
	return out, nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isIdent(s string) bool { return identRe.MatchString(s) }

// truth gives a Go bool of Python's truth of n (what sprig's ternary wants).
func (e *emitter) truth(n Node) (val, error) {
	v, err := e.emit(n)
	if err != nil {
		return val{}, err
	}
	if v.k == kBool {
		return v, nil
	}
	return callK(kBool, "not", callK(kBool, "not", v)), nil
}

// sameKind is the kind two values share, or unknown.
func sameKind(a, b val) kind {
	if a.k == b.k {
		return a.k
	}
	return kUnknown
}

func (e *emitter) bin(x Bin) (val, error) {
	sides, err := e.emitAll([]Node{x.L, x.R})
	if err != nil {
		return val{}, err
	}
	l, r := sides[0], sides[1]
	if x.Op == "and" || x.Op == "or" {
		return callK(sameKind(l, r), x.Op, l, r), nil
	}
	cmp := map[string]string{"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
	switch x.Op {
	case "==", "!=", "<", "<=", ">", ">=":
		return callK(kBool, cmp[x.Op], l, r), nil
	case "in":
		return callK(kBool, "in", l, r), nil
	case "not in":
		return callK(kBool, "not", callK(kBool, "in", l, r)), nil
	case "~":
		return callK(kString, "print", e.asString(l), e.asString(r)), nil
	case "+":
		if l.k == kString && r.k == kString {
			return callK(kString, "print", l, r), nil
		}
		fallthrough
	case "-", "*":
		if l.k == kInt && r.k == kInt {
			fn := map[string]string{"+": "add", "-": "sub", "*": "mul"}[x.Op]
			return callK(kInt, fn, l, r), nil
		}
		return val{}, no("%s on values whose types are not known to be integers (Python's + also joins strings and lists; write | int on each side)", x.Op)
	}
	return val{}, no("the operator %s", x.Op)
}

// asString is Python's str() of v, for ~ and printing.
func (e *emitter) asString(v val) val {
	if v.k == kString {
		return v
	}
	return callK(kString, "str", v)
}

func (e *emitter) unary(x Unary) (val, error) {
	if x.Op == "not" {
		v, err := e.emit(x.X)
		if err != nil {
			return val{}, err
		}
		return callK(kBool, "not", v), nil
	}
	if l, ok := x.X.(Lit); ok {
		if n, ok := l.V.(int64); ok {
			if x.Op == "-" {
				n = -n
			}
			return val{s: strconv.FormatInt(n, 10), k: kInt, lit: true}, nil
		}
	}
	return val{}, no("unary %s on anything but an integer literal", x.Op)
}

func (e *emitter) call(x Call) (val, error) {
	if a, isAttr := x.Fn.(Attr); isAttr {
		return e.method(a, x)
	}
	name, ok := x.Fn.(Name)
	if !ok || e.isLocal(name.Name) {
		return val{}, no("a call")
	}
	args, err := e.emitAll(x.Args)
	if err != nil {
		return val{}, err
	}
	switch {
	case len(x.Kw) > 0:
		return val{}, no("%s() with keyword arguments", name.Name)
	case name.Name == "range" && len(args) == 1:
		return callK(kList, "until", args[0]), nil
	case name.Name == "range" && len(args) == 2:
		return callK(kList, "untilStep", args[0], args[1], val{s: "1"}), nil
	case name.Name == "range" && len(args) == 3:
		return callK(kList, "untilStep", args...), nil
	case (name.Name == "lookup" || name.Name == "query") && len(args) == 2 && args[0].s == `"env"`:
		return callK(kString, "env", args[1]), nil
	}
	return val{}, no("the function %s()", name.Name)
}

// method translates the Python string methods whose Go counterpart means the same, and a
// mapping's get.
func (e *emitter) method(a Attr, x Call) (val, error) {
	if len(x.Kw) > 0 {
		return val{}, no("the Python method %s() with keyword arguments", a.Name)
	}
	recv, err := e.emit(a.X)
	if err != nil {
		return val{}, err
	}
	args, err := e.emitAll(x.Args)
	if err != nil {
		return val{}, err
	}
	str := e.asString(recv)
	switch {
	case a.Name == "split" && len(args) == 1 && args[0].lit && args[0].k == kString && args[0].s != `""`:
		return callK(kList, "splitList", args[0], str), nil
	case a.Name == "startswith" && len(args) == 1 && args[0].k == kString:
		return callK(kBool, "hasPrefix", args[0], str), nil
	case a.Name == "endswith" && len(args) == 1 && args[0].k == kString:
		return callK(kBool, "hasSuffix", args[0], str), nil
	case (a.Name == "lower" || a.Name == "upper") && len(args) == 0:
		return callK(kString, a.Name, str), nil
	case a.Name == "strip" && len(args) == 0:
		return callK(kString, "trim", str), nil
	case a.Name == "replace" && len(args) == 2:
		return callK(kString, "replace", args[0], args[1], str), nil
	case a.Name == "get" && len(args) >= 1 && len(args) <= 2 && recv.path != nil && !recv.path.intKey:
		def := val{s: "nil"}
		if len(args) == 2 {
			def = args[1]
		}
		keys := append(append([]string(nil), recv.path.keys...), args[0].s)
		return call("dig", append(vals(keys), def, val{s: recv.path.root})...), nil
	}
	return val{}, no("the Python method %s() with these arguments", a.Name)
}

func (e *emitter) test(x Test) (val, error) {
	wrap := func(v val) val {
		if x.Not {
			return callK(kBool, "not", v)
		}
		return v
	}
	switch x.Name {
	case "defined", "undefined":
		v, err := e.emit(x.X)
		if err != nil {
			if n, ok := x.X.(Name); ok && e.dead[n.Name] {
				return val{}, err
			}
			return val{}, err
		}
		if v.path == nil {
			return val{}, no("is %s on something other than a variable and its keys", x.Name)
		}
		var d val
		if v.path.local && len(v.path.keys) == 0 {
			d = val{s: "true", k: kBool}
		} else {
			d = call("defined", append([]val{{s: v.path.root}}, vals(v.path.keys)...)...)
			d.k = kBool
		}
		if x.Name == "undefined" {
			d = callK(kBool, "not", d)
		}
		return wrap(d), nil
	}
	v, err := e.emit(x.X)
	if err != nil {
		return val{}, err
	}
	args, err := e.emitAll(x.Args)
	if err != nil {
		return val{}, err
	}
	switch {
	case x.Name == "none" && len(args) == 0:
		return wrap(callK(kBool, "kindIs", litStr("invalid"), v)), nil
	case x.Name == "string" && len(args) == 0:
		return wrap(callK(kBool, "kindIs", litStr("string"), v)), nil
	case (x.Name == "succeeded" || x.Name == "success") && len(args) == 0:
		return wrap(callK(kBool, "not", call("dig", litStr("failed"), val{s: "false"}, v))), nil
	case (x.Name == "failed" || x.Name == "changed" || x.Name == "skipped") && len(args) == 0:
		return wrap(callK(kBool, "dig", litStr(x.Name), val{s: "false"}, v)), nil
	case (x.Name == "match" || x.Name == "search") && len(args) == 1 && args[0].k == kString && args[0].lit:
		re, err := goRegexp(x.Args[0].(Lit).V.(string))
		if err != nil {
			return val{}, err
		}
		if x.Name == "match" {
			re = "^(?:" + re + ")"
		}
		return wrap(callK(kBool, "regexMatch", litStr(re), e.asString(v))), nil
	case x.Name == "divisibleby" && len(args) == 1:
		return wrap(callK(kBool, "eq", call("mod", v, args[0]), val{s: "0"})), nil
	}
	return val{}, no("the test %s in a template", x.Name)
}

func vals(ss []string) []val {
	out := make([]val, len(ss))
	for i, s := range ss {
		out[i] = val{s: s}
	}
	return out
}

// goRegexp checks that a Python regular expression means the same to Go's regexp.
func goRegexp(re string) (string, error) {
	if _, err := regexp.Compile(re); err != nil {
		return "", no("the regular expression %q is not one Go reads the same: %v", re, err)
	}
	// Python-only escapes that Go would read otherwise or refuse.
	for _, bad := range []string{`\Z`, `(?P=`, `(?=`, `(?!`, `(?<=`, `(?<!`} {
		if strings.Contains(re, bad) {
			return "", no("the regular expression %q uses %s, which Go's regexp has not", re, bad)
		}
	}
	return re, nil
}

var pyGroupRef = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

// goReplacement turns a Python re.sub replacement (\1, \g<name>) into regexp's ($1, ${name}).
func goReplacement(repl string) (string, error) {
	repl = strings.ReplaceAll(repl, "$", "$$")
	out := pyGroupRef.ReplaceAllString(repl, "$${$1$2}")
	if strings.Contains(strings.ReplaceAll(out, `\\`, ""), `\`) {
		return "", no("the replacement %q has a backslash escape other than a group reference", repl)
	}
	return strings.ReplaceAll(out, `\\`, `\`), nil
}
