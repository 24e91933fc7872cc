package tmpl

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/utils"
)

// This file rewrites the parsed expression so that it evaluates as Ansible's conditions do:
//
//   - a variable or a key that does not exist is undefined, not nil: x becomes $must($get($env,
//     "x")) and a.b becomes $must($attr(a, "b", ...)), so using it is an error, while the tests
//     defined and undefined and the default filter receive it as it is ($get and $attr without
//     $must);
//   - "in" is Jinja's: a substring of a string, an element of a list, a key of a map ($in);
//   - not, and, or, ! and the ternary's condition take any value by its truth (Python's bool);
//   - filters and tests ($f_ and $t_ methods from the rewrite) become calls of their functions;
//   - any other method call (r.stdout.find('hi')) is refused: conditions have no Python methods.
//
// It also collects the variables the expression names, and which of them it only probes.

// mode says how a node's value is used.
type mode struct {
	// probe: the names under it may be undefined (is defined, default, ??).
	probe bool
	// raw: the value may stay undefined ($get and $attr without $must).
	raw bool
}

var valueMode = mode{}

type astPass struct {
	src   []rune
	bound map[string]bool
	names []string
	pos   map[string][2]int
	// used and probed say where each name appears: as a value, under a probe.
	used, probed map[string]bool
	err          error
}

// remapLocations moves every node's location from the rewritten text to the source.
func remapLocations(root *ast.Node, pm *posMap) {
	if pm == nil {
		return
	}
	ast.Walk(root, visitFunc(func(n *ast.Node) {
		l := (*n).Location()
		(*n).SetLocation(file.Location{From: pm.orig(l.From), To: pm.orig(l.To)})
	}))
}

func newASTPass(src string, root ast.Node) *astPass {
	p := &astPass{src: []rune(src), bound: map[string]bool{}, pos: map[string][2]int{}, used: map[string]bool{}, probed: map[string]bool{}}
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if d, ok := (*n).(*ast.VariableDeclaratorNode); ok {
			p.bound[d.Name] = true
		}
	}))
	return p
}

func (p *astPass) fail(n ast.Node, msg, fix string) {
	if p.err != nil {
		return
	}
	lc := lineCol(p.src, n.Location().From)
	p.err = &CondError{Expr: string(p.src), Msg: msg, Line: lc[0], Col: lc[1], Fix: fix}
}

func (p *astPass) record(name string, m mode, at file.Location) {
	if _, seen := p.pos[name]; !seen {
		p.pos[name] = lineCol(p.src, at.From)
		p.names = append(p.names, name)
	}
	if m.probe {
		p.probed[name] = true
	} else {
		p.used[name] = true
	}
}

// result gives the names in the order they appear in the source, and those only probed:
// a name tested with "is defined" or given a default anywhere in the expression may be
// undefined, even where it is also used as a value (x is defined and x > 1).
func (p *astPass) result() (names, optional []string) {
	names = append([]string(nil), p.names...)
	sort.SliceStable(names, func(i, j int) bool {
		a, b := p.pos[names[i]], p.pos[names[j]]
		return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
	})
	for _, n := range names {
		if p.probed[n] {
			optional = append(optional, n)
		}
	}
	return names, optional
}

func at(n ast.Node, loc file.Location) ast.Node {
	n.SetLocation(loc)
	return n
}

func callFn(name string, loc file.Location, args ...ast.Node) *ast.CallNode {
	c := &ast.CallNode{Callee: at(&ast.IdentifierNode{Value: name}, loc), Arguments: args}
	c.SetLocation(loc)
	return c
}

func strNode(s string, loc file.Location) ast.Node { return at(&ast.StringNode{Value: s}, loc) }

func wrap(fn string, n ast.Node) ast.Node { return callFn(fn, n.Location(), n) }

// transform rewrites n for its mode and returns what replaces it.
func (p *astPass) transform(n ast.Node, m mode) ast.Node {
	if n == nil || p.err != nil {
		return n
	}
	loc := n.Location()
	switch x := n.(type) {
	case *ast.IdentifierNode:
		if x.Value == "$env" || p.bound[x.Value] {
			return x
		}
		p.record(x.Value, m, loc)
		fn := fnVar
		if m.raw {
			fn = fnGet
		}
		return callFn(fn, loc, at(&ast.IdentifierNode{Value: "$env"}, loc), strNode(x.Value, loc))

	case *ast.ChainNode:
		return p.transform(x.Node, m)

	case *ast.MemberNode:
		what, objDesc := p.describe(x), p.describe(x.Node)
		obj := p.transform(x.Node, mode{probe: m.probe, raw: true})
		prop := p.transform(x.Property, valueMode)
		flag := attrPlain
		if x.Optional {
			flag = attrOptional
		} else if inner, ok := obj.(*ast.CallNode); ok && isCallTo(inner, fnAttr) {
			if f, ok := inner.Arguments[2].(*ast.IntegerNode); ok && f.Value != attrPlain {
				flag = attrInChain
			}
		}
		fn := fnKey
		if m.raw {
			fn = fnAttr
		}
		return callFn(fn, loc, obj, prop, at(&ast.IntegerNode{Value: flag}, loc), strNode(what, loc), strNode(objDesc, loc))

	case *ast.CallNode:
		if mem, ok := x.Callee.(*ast.MemberNode); ok {
			if s, ok := mem.Property.(*ast.StringNode); ok && (strings.HasPrefix(s.Value, filterPfx) || strings.HasPrefix(s.Value, testPfx) || strings.HasPrefix(s.Value, notTestPfx)) {
				return p.jinjaCall(x, mem, s.Value, m)
			}
			p.methodCall(x, mem)
			return x
		}
		p.values(x.Arguments)
		return x

	case *ast.BuiltinNode:
		p.values(x.Arguments)
		return x

	case *ast.PredicateNode:
		x.Node = p.transform(x.Node, valueMode)
		return x

	case *ast.BinaryNode:
		switch x.Operator {
		case "in":
			ld, rd := p.describe(x.Left), p.describe(x.Right)
			return callFn(fnIn, loc, p.transform(x.Left, valueMode), p.transform(x.Right, valueMode), strNode(ld, loc), strNode(rd, loc))
		case "??":
			return callFn(fnCoalesce, loc, p.transform(x.Left, mode{probe: true, raw: true}), p.transform(x.Right, valueMode))
		case "and", "or", "&&", "||":
			x.Left = truth(p.transform(x.Left, valueMode))
			x.Right = truth(p.transform(x.Right, valueMode))
			return x
		}
		x.Left = p.transform(x.Left, valueMode)
		x.Right = p.transform(x.Right, valueMode)
		return x

	case *ast.UnaryNode:
		x.Node = p.transform(x.Node, valueMode)
		if x.Operator == "not" || x.Operator == "!" {
			x.Node = truth(x.Node)
		}
		return x

	case *ast.ConditionalNode:
		x.Cond = truth(p.transform(x.Cond, valueMode))
		x.Exp1 = p.transform(x.Exp1, valueMode)
		x.Exp2 = p.transform(x.Exp2, valueMode)
		return x

	case *ast.VariableDeclaratorNode:
		x.Value = p.transform(x.Value, valueMode)
		x.Expr = p.transform(x.Expr, valueMode)
		return x

	case *ast.SliceNode:
		x.Node = p.transform(x.Node, valueMode)
		x.From = p.transform(x.From, valueMode)
		x.To = p.transform(x.To, valueMode)
		return x

	case *ast.SequenceNode:
		p.values(x.Nodes)
		return x

	case *ast.ArrayNode:
		p.values(x.Nodes)
		return x

	case *ast.MapNode:
		p.values(x.Pairs)
		return x

	case *ast.PairNode:
		x.Key = p.transform(x.Key, valueMode)
		x.Value = p.transform(x.Value, valueMode)
		return x
	}
	// Literals and the predicate's # stand for themselves.
	return n
}

// values transforms each node of a list, used as a value.
func (p *astPass) values(ns []ast.Node) {
	for i, n := range ns {
		ns[i] = p.transform(n, valueMode)
	}
}

// truth makes n a truth value by Python's rules ($truthy), unless it is one already.
func truth(n ast.Node) ast.Node {
	switch x := n.(type) {
	case *ast.BoolNode:
		return n
	case *ast.UnaryNode:
		if x.Operator == "not" || x.Operator == "!" {
			return n
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "==", "!=", "<", ">", "<=", ">=", "and", "or", "&&", "||", "contains", "startsWith", "endsWith", "matches":
			return n
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (id.Value == fnIn || id.Value == fnTruthy || strings.HasPrefix(id.Value, testPfx)) {
			return n
		}
	}
	return wrap(fnTruthy, n)
}

func isCallTo(c *ast.CallNode, fn string) bool {
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == fn
}

// jinjaCall turns the method call the rewrite made of a filter or a test into a call of its
// function: value, parameters in order (keyword arguments put in their place), the value's text.
func (p *astPass) jinjaCall(c *ast.CallNode, mem *ast.MemberNode, method string, m mode) ast.Node {
	var f *condFunc
	negate := false
	kind := "filter"
	switch {
	case strings.HasPrefix(method, filterPfx):
		f = filters[strings.TrimPrefix(method, filterPfx)]
	case strings.HasPrefix(method, testPfx):
		f, kind = tests[strings.TrimPrefix(method, testPfx)], "test"
	default:
		f, kind, negate = tests[strings.TrimPrefix(method, notTestPfx)], "test", true
	}
	loc := mem.Location()
	if f == nil {
		p.fail(mem, "unknown "+kind+" "+method, "")
		return c
	}
	desc := p.describe(mem.Node)
	vm := valueMode
	switch {
	case f.probe:
		vm = mode{probe: true, raw: true}
	case f.undefinedFalse:
		vm = mode{raw: true}
	}
	v := p.transform(mem.Node, vm)
	am := valueMode
	if f.rawArgs {
		am = mode{raw: true}
	}
	params := make([]ast.Node, len(f.params))
	sawKeyword := false
	positional := 0
	for _, a := range c.Arguments {
		if kc, ok := a.(*ast.CallNode); ok && isCallTo(kc, fnKw) && len(kc.Arguments) == 2 {
			name := kc.Arguments[0].(*ast.StringNode).Value
			i := indexOf(f.params, name)
			switch {
			case i < 0:
				p.fail(kc, fmt.Sprintf("%s %s has no parameter %s%s", kind, f.name, name, paramList(f)), "")
			case params[i] != nil:
				p.fail(kc, fmt.Sprintf("%s %s: %s is given twice", kind, f.name, name), "")
			default:
				params[i] = p.transform(kc.Arguments[1], am)
			}
			sawKeyword = true
			continue
		}
		if sawKeyword {
			p.fail(a, fmt.Sprintf("%s %s: a positional argument follows a keyword argument", kind, f.name), "")
			break
		}
		if positional >= len(f.params) {
			p.fail(a, fmt.Sprintf("%s %s takes %s", kind, f.name, argCount(len(f.params))), "")
			break
		}
		params[positional] = p.transform(a, am)
		positional++
	}
	literals := make([]any, len(params))
	for i, a := range params {
		if a == nil {
			if i < f.min {
				p.fail(mem, fmt.Sprintf("%s %s needs its %s argument", kind, f.name, f.params[i]), exampleOf(f.name))
			}
			params[i] = at(&ast.ConstantNode{Value: noArg{}}, loc)
			literals[i] = noArg{}
			continue
		}
		literals[i] = literalOf(a)
	}
	if f.check != nil && p.err == nil {
		if err := f.check(literals); err != nil {
			fix := exampleOf(f.name)
			var he *hintError
			if errors.As(err, &he) {
				fix = he.hint
			}
			p.fail(mem, err.Error(), fix)
		}
	}
	args := append(append([]ast.Node{v}, params...), strNode(desc, loc))
	prefix := filterPfx
	if f.test {
		prefix = testPfx
	}
	var out ast.Node = callFn(prefix+f.name, loc, args...)
	if negate {
		out = at(&ast.UnaryNode{Operator: "!", Node: out}, loc)
	}
	if !f.test && !m.raw {
		// A filter may give an undefined value (default's fallback, first of an empty list).
		out = wrap(fnMust, out)
	}
	return out
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func paramList(f *condFunc) string {
	if len(f.params) == 0 {
		return " (it takes none)"
	}
	return " (its parameters are " + strings.Join(f.params, ", ") + ")"
}

func argCount(n int) string {
	switch n {
	case 0:
		return "no arguments"
	case 1:
		return "one argument at most"
	}
	return fmt.Sprintf("%d arguments at most", n)
}

func exampleOf(name string) string {
	switch name {
	case "version":
		return "write e.g. oms_version is version('4.2.3', '>=')"
	case "match", "search", "regex":
		return "write e.g. result.stdout is " + name + "('^ok')"
	case "contains":
		return "write e.g. names is contains('a')"
	}
	return ""
}

// literalOf gives the value of a literal argument, nil for anything computed.
func literalOf(n ast.Node) any {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value
	case *ast.IntegerNode:
		return x.Value
	case *ast.FloatNode:
		return x.Value
	case *ast.BoolNode:
		return x.Value
	}
	return nil
}

// methodCall refuses a method call: the values conditions see are plain data, and Python's
// string and dict methods do not exist here. The message says what to write instead.
func (p *astPass) methodCall(c *ast.CallNode, mem *ast.MemberNode) {
	name := "?"
	if s, ok := mem.Property.(*ast.StringNode); ok {
		name = s.Value
	}
	recv := p.describe(mem.Node)
	arg0 := "'text'"
	if len(c.Arguments) > 0 {
		arg0 = p.describe(c.Arguments[0])
	}
	instead := ""
	switch name {
	case "find", "index", "rfind", "rindex", "count", "__contains__":
		instead = arg0 + " in " + recv
	case "startswith":
		instead = recv + " startsWith " + arg0
	case "endswith":
		instead = recv + " endsWith " + arg0
	case "lower", "upper":
		instead = recv + " | " + name
	case "strip":
		instead = recv + " | trim"
	case "split":
		if len(c.Arguments) == 0 {
			arg0 = "' '"
		}
		instead = "split(" + recv + ", " + arg0 + ")"
	case "splitlines":
		instead = "split(" + recv + `, "\n")`
	case "keys", "values":
		instead = name + "(" + recv + ")"
	case "items":
		instead = "toPairs(" + recv + ")"
	case "get":
		key := arg0
		if len(c.Arguments) == 0 {
			break
		}
		if s, ok := literalOf(c.Arguments[0]).(string); ok && utils.IsValidIdentifier(s) {
			key = recv + "." + s
		} else {
			key = recv + "[" + key + "]"
		}
		instead = key
		if len(c.Arguments) > 1 {
			instead += " | default(" + p.describe(c.Arguments[1]) + ")"
		} else {
			instead += " | default(None)"
		}
	case "isdigit":
		instead = recv + " is match('^[0-9]+$')"
	case "replace":
		instead = "replace(" + recv + ", " + arg0 + ", ...)"
	}
	msg := fmt.Sprintf("%s.%s(...) is a method call, and conditions have no Python methods", recv, name)
	fix := "use a filter (x | lower), a test (x is match('re')), an operator (a in b, a startsWith b) or an expr function (len(x), split(x, ','), keys(x))"
	if instead != "" {
		msg += ": write " + instead
		fix = "write " + instead
	}
	p.fail(mem, msg, fix)
}

// describe gives the text of a parsed node, as the user would write it, for messages.
func (p *astPass) describe(n ast.Node) string {
	switch x := n.(type) {
	case nil:
		return ""
	case *ast.IdentifierNode:
		return x.Value
	case *ast.ChainNode:
		return p.describe(x.Node)
	case *ast.MemberNode:
		sep := "."
		if x.Optional {
			sep = "?."
		}
		if s, ok := x.Property.(*ast.StringNode); ok && utils.IsValidIdentifier(s.Value) && !x.Method {
			if d, ok := p.dotted(x); ok {
				return d
			}
			return p.describe(x.Node) + sep + s.Value
		}
		return p.describe(x.Node) + "[" + p.describe(x.Property) + "]"
	case *ast.StringNode:
		return pyRepr(x.Value)
	case *ast.IntegerNode:
		return strconv.Itoa(x.Value)
	case *ast.FloatNode:
		return pyFloat(x.Value)
	case *ast.BoolNode:
		return strconv.FormatBool(x.Value)
	case *ast.NilNode:
		return "None"
	case *ast.CallNode:
		if mem, ok := x.Callee.(*ast.MemberNode); ok {
			if s, ok := mem.Property.(*ast.StringNode); ok {
				var op, name string
				switch {
				case strings.HasPrefix(s.Value, filterPfx):
					op, name = " | ", strings.TrimPrefix(s.Value, filterPfx)
				case strings.HasPrefix(s.Value, testPfx):
					op, name = " is ", strings.TrimPrefix(s.Value, testPfx)
				case strings.HasPrefix(s.Value, notTestPfx):
					op, name = " is not ", strings.TrimPrefix(s.Value, notTestPfx)
				}
				if op != "" {
					s := p.describe(mem.Node) + op + name
					if len(x.Arguments) > 0 {
						s += "(" + p.describeList(x.Arguments) + ")"
					}
					return s
				}
			}
		}
		if isCallTo(x, fnKw) && len(x.Arguments) == 2 {
			if s, ok := x.Arguments[0].(*ast.StringNode); ok {
				return s.Value + "=" + p.describe(x.Arguments[1])
			}
		}
		return p.describe(x.Callee) + "(" + p.describeList(x.Arguments) + ")"
	case *ast.BuiltinNode:
		return x.Name + "(" + p.describeList(x.Arguments) + ")"
	case *ast.BinaryNode:
		return p.describeOperand(x.Left) + " " + x.Operator + " " + p.describeOperand(x.Right)
	case *ast.UnaryNode:
		if x.Operator == "not" {
			return "not " + p.describeOperand(x.Node)
		}
		return x.Operator + p.describeOperand(x.Node)
	case *ast.ArrayNode:
		return "[" + p.describeList(x.Nodes) + "]"
	}
	return n.String()
}

// dotted gives a plain a.b.c chain as written (a name, then dotted keys).
func (p *astPass) dotted(m *ast.MemberNode) (string, bool) {
	var parts []string
	var n ast.Node = m
	for {
		switch x := n.(type) {
		case *ast.MemberNode:
			s, ok := x.Property.(*ast.StringNode)
			if !ok || x.Optional || !utils.IsValidIdentifier(s.Value) {
				return "", false
			}
			parts = append(parts, s.Value)
			n = x.Node
			continue
		case *ast.IdentifierNode:
			parts = append(parts, x.Value)
		default:
			return "", false
		}
		break
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "."), true
}

func (p *astPass) describeOperand(n ast.Node) string {
	switch n.(type) {
	case *ast.BinaryNode, *ast.ConditionalNode:
		return "(" + p.describe(n) + ")"
	}
	return p.describe(n)
}

func (p *astPass) describeList(ns []ast.Node) string {
	parts := make([]string, len(ns))
	for i, a := range ns {
		parts[i] = p.describe(a)
	}
	return strings.Join(parts, ", ")
}
