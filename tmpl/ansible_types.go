package tmpl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// CheckTypes checks, before the run, the operations of the condition whose operands are known
// now: vars holds the variables whose values are known (leave out those a task may set at run
// time, with register or set_fact: their type is unknown until then; a name vars lacks is of
// any type). It finds what would fail on every host when the condition runs: a string compared
// with a number (port > 80 with port "8080"), in on a value that has no members ('x' in 42), a
// key a known map does not have, length of a number, a result test (is succeeded) on something
// that is not a registered result. The error is a *CondError with the position and a Fix.
// Filters and tests whose values are all known are evaluated, exactly as at run time.
func (p *Program) CheckTypes(vars map[string]any) error {
	if p == nil || p.constant != nil || p.tree == nil {
		return nil
	}
	tc := &typeCheck{src: []rune(p.Source), vars: vars}
	_, err := tc.eval(p.tree)
	return err
}

// tval is what the check knows of a value: the value itself, or only its kind, or nothing.
type tval struct {
	known bool
	v     any
	// kind is typeName's word when the kind is known without the value ("" when unknown).
	kind string
}

func known(v any) tval { return tval{known: true, v: v, kind: typeName(v)} }

func kindOnly(kind string) tval { return tval{kind: kind} }

var anyValue = tval{}

type typeCheck struct {
	src  []rune
	vars map[string]any
}

func (tc *typeCheck) errAt(n ast.Node, msg, fix string) error {
	lc := lineCol(tc.src, n.Location().From)
	return &CondError{Expr: string(tc.src), Msg: msg, Line: lc[0], Col: lc[1], Fix: fix}
}

func (tc *typeCheck) evalAll(ns []ast.Node) ([]tval, error) {
	out := make([]tval, len(ns))
	for i, n := range ns {
		v, err := tc.eval(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (tc *typeCheck) eval(n ast.Node) (tval, error) {
	switch x := n.(type) {
	case nil:
		return anyValue, nil
	case *ast.NilNode:
		return known(nil), nil
	case *ast.BoolNode:
		return known(x.Value), nil
	case *ast.IntegerNode:
		return known(x.Value), nil
	case *ast.FloatNode:
		return known(x.Value), nil
	case *ast.StringNode:
		return known(x.Value), nil
	case *ast.ConstantNode:
		return known(x.Value), nil
	case *ast.CallNode:
		return tc.call(x)
	case *ast.UnaryNode:
		v, err := tc.eval(x.Node)
		if err != nil {
			return v, err
		}
		if x.Operator == "-" || x.Operator == "+" {
			if v.kind != "" && v.kind != "a number" {
				return v, tc.errAt(x, fmt.Sprintf("%s%s: %s is %s, not a number", x.Operator, tdesc(x.Node), tdesc(x.Node), v.kind), "convert it first: "+x.Operator+"("+tdesc(x.Node)+" | int)")
			}
			return kindOnly("a number"), nil
		}
		return kindOnly("a boolean"), nil
	case *ast.BinaryNode:
		return tc.binary(x)
	case *ast.ConditionalNode:
		if _, err := tc.evalAll([]ast.Node{x.Cond, x.Exp1, x.Exp2}); err != nil {
			return anyValue, err
		}
		return anyValue, nil
	case *ast.BuiltinNode:
		if _, err := tc.evalAll(x.Arguments); err != nil {
			return anyValue, err
		}
		if x.Name == "len" {
			return kindOnly("a number"), nil
		}
		return anyValue, nil
	case *ast.PredicateNode:
		_, err := tc.eval(x.Node)
		return anyValue, err
	case *ast.VariableDeclaratorNode:
		if _, err := tc.evalAll([]ast.Node{x.Value, x.Expr}); err != nil {
			return anyValue, err
		}
		return anyValue, nil
	case *ast.SequenceNode:
		vs, err := tc.evalAll(x.Nodes)
		if err != nil || len(vs) == 0 {
			return anyValue, err
		}
		return vs[len(vs)-1], nil
	case *ast.SliceNode:
		v, err := tc.eval(x.Node)
		if err != nil {
			return v, err
		}
		if _, err := tc.evalAll([]ast.Node{x.From, x.To}); err != nil {
			return anyValue, err
		}
		return kindOnly(v.kind), nil
	case *ast.ArrayNode:
		_, err := tc.evalAll(x.Nodes)
		return kindOnly("a list"), err
	case *ast.MapNode:
		_, err := tc.evalAll(x.Pairs)
		return kindOnly("a map"), err
	case *ast.PairNode:
		_, err := tc.evalAll([]ast.Node{x.Key, x.Value})
		return anyValue, err
	}
	// Identifiers left (let names, $env), # in predicates.
	return anyValue, nil
}

func (tc *typeCheck) call(c *ast.CallNode) (tval, error) {
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok {
		_, err := tc.evalAll(c.Arguments)
		return anyValue, err
	}
	if id.Value == fnGet || id.Value == fnVar {
		name := c.Arguments[1].(*ast.StringNode).Value
		if v, ok := tc.vars[name]; ok {
			return known(v), nil
		}
		return anyValue, nil
	}
	args, err := tc.evalAll(c.Arguments)
	if err != nil {
		return anyValue, err
	}
	switch id.Value {
	case fnKey:
		v, err := tc.attr(args)
		if err == nil && v.known && isUndefined(v.v) {
			err = tc.funcError(c, &undefinedError{v.v.(*undefinedValue)}, "")
		}
		return v, err
	case fnAttr:
		return tc.attr(args)
	case fnMust:
		if v := args[0]; v.known && isUndefined(v.v) {
			return anyValue, tc.funcError(c, &undefinedError{v.v.(*undefinedValue)}, "")
		}
		return args[0], nil
	case fnTruthy:
		return kindOnly("a boolean"), nil
	case fnCoalesce:
		if a := args[0]; a.known {
			if a.v == nil || isUndefined(a.v) {
				return args[1], nil
			}
			return a, nil
		}
		return anyValue, nil
	case fnIn:
		return tc.in(c, args)
	}
	if f := funcOf(id.Value); f != nil {
		return tc.jinja(c, f, args)
	}
	return anyValue, nil
}

// funcOf gives the filter or test an internal name calls.
func funcOf(name string) *condFunc {
	switch {
	case strings.HasPrefix(name, filterPfx):
		return filters[strings.TrimPrefix(name, filterPfx)]
	case strings.HasPrefix(name, testPfx):
		return tests[strings.TrimPrefix(name, testPfx)]
	}
	return nil
}

// filterKinds are the kinds filters give whatever their value.
var filterKinds = map[string]string{
	"length": "a number", "int": "a number", "float": "a number", "abs": "a number", "bool": "a boolean",
	"string": "a string", "lower": "a string", "upper": "a string", "trim": "a string",
}

func (tc *typeCheck) jinja(c *ast.CallNode, f *condFunc, args []tval) (tval, error) {
	all := true
	vals := make([]any, len(args))
	for i, a := range args {
		all = all && a.known
		vals[i] = a.v
	}
	if all {
		// Everything is known: the function gives what it will give at run time.
		out, err := f.fn(vals[0], vals[1:len(vals)-1], vals[len(vals)-1].(string))
		if err != nil {
			return anyValue, tc.funcError(c, err, exampleOf(f.name))
		}
		return known(out), nil
	}
	if f.test {
		return kindOnly("a boolean"), nil
	}
	return kindOnly(filterKinds[f.name]), nil
}

// funcError is the error a function gave on known values, with its hint as the fix.
func (tc *typeCheck) funcError(c ast.Node, err error, fix string) error {
	var ue *undefinedError
	var he *hintError
	switch {
	case errors.As(err, &ue):
		return tc.errAt(c, err.Error(), "check the spelling; "+undefinedFix(ue.u.what))
	case errors.As(err, &he):
		return tc.errAt(c, he.msg, he.hint)
	}
	return tc.errAt(c, err.Error(), fix)
}

func (tc *typeCheck) in(c *ast.CallNode, args []tval) (tval, error) {
	needle, hay := args[0], args[1]
	nd, hd := args[2].v.(string), args[3].v.(string)
	fix := "in looks for a substring in a string, an element in a list or a key in a map"
	switch {
	case needle.known && hay.known:
		v, err := inOp(needle.v, hay.v, nd, hd)
		if err != nil {
			return anyValue, tc.funcError(c, err, fix)
		}
		return known(v), nil
	case hay.kind == "a number" || hay.kind == "a boolean" || hay.kind == "null":
		return anyValue, tc.errAt(c, fmt.Sprintf("in: %s is %s, which has no members", hd, hay.kind), fix)
	case hay.kind == "a string" && needle.kind != "" && needle.kind != "a string":
		return anyValue, tc.errAt(c, fmt.Sprintf("in: to look for %s (%s) in the string %s, the left side must be a string too", nd, needle.kind, hd), "convert it: "+nd+" | string in "+hd)
	}
	return kindOnly("a boolean"), nil
}

func (tc *typeCheck) binary(b *ast.BinaryNode) (tval, error) {
	l, err := tc.eval(b.Left)
	if err != nil {
		return l, err
	}
	r, err := tc.eval(b.Right)
	if err != nil {
		return r, err
	}
	ld, rd := tdesc(b.Left), tdesc(b.Right)
	what := ld + " " + b.Operator + " " + rd
	sides := [2]struct {
		d string
		v tval
	}{{ld, l}, {rd, r}}
	mismatch := func(why string) error {
		return tc.errAt(b, fmt.Sprintf("%s: %s is %s and %s %s, %s", what, showT(ld, l), l.kind, showT(rd, r), r.kind, why), convertFix(b, ld, rd, l, r))
	}
	switch b.Operator {
	case "==", "!=", "and", "or", "&&", "||":
		return kindOnly("a boolean"), nil
	case "<", ">", "<=", ">=":
		if l.kind != "" && r.kind != "" && !(l.kind == r.kind && (l.kind == "a number" || l.kind == "a string")) {
			return anyValue, mismatch("which do not compare")
		}
		for _, side := range sides {
			switch side.v.kind {
			case "null", "a map", "a list", "a boolean":
				return anyValue, tc.errAt(b, fmt.Sprintf("%s: %s is %s, which does not compare with %s", what, showT(side.d, side.v), side.v.kind, b.Operator), "compare numbers or strings")
			}
		}
		return kindOnly("a boolean"), nil
	case "+":
		if l.kind == "a list" && r.kind == "a list" {
			return anyValue, tc.errAt(b, what+": lists do not add up with +", "join them with concat("+ld+", "+rd+")")
		}
		if l.kind != "" && r.kind != "" && !(l.kind == r.kind && (l.kind == "a number" || l.kind == "a string")) {
			return anyValue, mismatch("which do not add up")
		}
		return kindOnly(l.kind), nil
	case "-", "*", "/", "%", "**", "^":
		for _, side := range sides {
			if side.v.kind != "" && side.v.kind != "a number" {
				return anyValue, tc.errAt(b, fmt.Sprintf("%s: %s is %s, not a number", what, showT(side.d, side.v), side.v.kind), convertFix(b, ld, rd, l, r))
			}
		}
		return kindOnly("a number"), nil
	case "contains", "startsWith", "endsWith", "matches":
		for _, side := range sides {
			if side.v.kind != "" && side.v.kind != "a string" {
				fix := b.Operator + " works on strings"
				if b.Operator == "contains" && side.d == ld && side.v.kind == "a list" {
					fix = "for an element of a list write " + rd + " in " + ld
				}
				return anyValue, tc.errAt(b, fmt.Sprintf("%s: %s is %s, not a string", what, showT(side.d, side.v), side.v.kind), fix)
			}
		}
		return kindOnly("a boolean"), nil
	case "..":
		return kindOnly("a list"), nil
	}
	return anyValue, nil
}

// showT writes an operand with its value when it is known and differs from its text.
func showT(desc string, v tval) string {
	if v.known {
		if lit := pyLiteral(v.v); lit != desc {
			return fmt.Sprintf("%s (%s)", desc, lit)
		}
	}
	return desc
}

// convertFix suggests converting the string side of a mismatch to a number.
func convertFix(b *ast.BinaryNode, ld, rd string, l, r tval) string {
	conv := func(d string, v tval) string {
		if s, ok := v.v.(string); ok {
			if _, isInt := pyParseInt(s, 10); !isInt {
				if _, isFloat := pyParseFloat(s); isFloat {
					return d + " | float"
				}
			}
		}
		return d + " | int"
	}
	switch {
	case l.kind == "a string" && r.kind == "a number":
		return "convert the string first: " + conv(ld, l) + " " + b.Operator + " " + rd
	case r.kind == "a string" && l.kind == "a number":
		return "convert the string first: " + ld + " " + b.Operator + " " + conv(rd, r)
	case l.kind == "a string" && b.Operator != "+":
		return "convert the string first: " + conv(ld, l) + " " + b.Operator + " " + rd
	case r.kind == "a string" && b.Operator != "+":
		return "convert the string first: " + ld + " " + b.Operator + " " + conv(rd, r)
	case b.Operator == "+" && (l.kind == "a string" || r.kind == "a string"):
		return "make both strings: " + ld + " | string + " + rd + " | string"
	}
	return "give both sides the same type (| int, | float, | string)"
}

// tdesc gives the text of a transformed node, as the user wrote it, for messages.
func tdesc(n ast.Node) string {
	switch x := n.(type) {
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok {
			break
		}
		switch id.Value {
		case fnMust, fnTruthy:
			return tdesc(x.Arguments[0])
		case fnGet, fnVar:
			return x.Arguments[1].(*ast.StringNode).Value
		case fnAttr, fnKey:
			return x.Arguments[3].(*ast.StringNode).Value
		case fnIn:
			return x.Arguments[2].(*ast.StringNode).Value + " in " + x.Arguments[3].(*ast.StringNode).Value
		case fnCoalesce:
			return tdesc(x.Arguments[0]) + " ?? " + tdesc(x.Arguments[1])
		}
		if f := funcOf(id.Value); f != nil {
			op := " | "
			if f.test {
				op = " is "
			}
			s := x.Arguments[len(x.Arguments)-1].(*ast.StringNode).Value + op + f.name
			var params []string
			for _, a := range x.Arguments[1 : len(x.Arguments)-1] {
				if c, ok := a.(*ast.ConstantNode); ok {
					if _, missing := c.Value.(noArg); missing {
						continue
					}
				}
				params = append(params, tdesc(a))
			}
			if len(params) > 0 {
				s += "(" + strings.Join(params, ", ") + ")"
			}
			return s
		}
	case *ast.BinaryNode:
		return tdescOperand(x.Left) + " " + x.Operator + " " + tdescOperand(x.Right)
	case *ast.UnaryNode:
		if x.Operator == "not" {
			return "not " + tdescOperand(x.Node)
		}
		return x.Operator + tdescOperand(x.Node)
	case *ast.StringNode:
		return pyRepr(x.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return (&astPass{}).describe(n)
	}
	return n.String()
}

func tdescOperand(n ast.Node) string {
	if _, ok := n.(*ast.BinaryNode); ok {
		return "(" + tdesc(n) + ")"
	}
	return tdesc(n)
}

// attr is what $attr gives on what the check knows of its arguments.
func (tc *typeCheck) attr(args []tval) (tval, error) {
	obj, key := args[0], args[1]
	what, objDesc := args[3].v.(string), args[4].v.(string)
	flag := args[2].v.(int)
	if !obj.known {
		return anyValue, nil
	}
	if flag != attrPlain && obj.v == nil {
		return known(nil), nil
	}
	if flag == attrOptional && isUndefined(obj.v) {
		return known(nil), nil
	}
	switch {
	case key.known:
		v := lookup(obj.v, key.v, what, objDesc)
		if flag == attrOptional && isUndefined(v) {
			return known(nil), nil
		}
		return known(v), nil
	case isUndefined(obj.v):
		return obj, nil
	case obj.kind != "a map" && obj.kind != "a list" && obj.kind != "a string":
		return known(lookup(obj.v, "?", what, objDesc)), nil
	}
	return anyValue, nil
}
