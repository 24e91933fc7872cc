package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled condition (when, until, failed_when, changed_when, assert's that),
// reusable for every host and safe for concurrent use.
type Program struct {
	// Source is the expression as written ("true" or "false" for a constant).
	Source string
	// Names are the top-level variables it refers to, in order of first use.
	Names []string
	prog  *vm.Program
	// constant is set for a bool written as such (when: false).
	constant *bool
}

// CondError is an expression that does not compile or fails to evaluate.
type CondError struct {
	Expr string
	Msg  string
	// Line and Col are the position inside the expression (0 when unknown).
	Line, Col int
	// Unknown is the undefined variable's name when that is the cause.
	Unknown string
}

func (e *CondError) Error() string {
	s := fmt.Sprintf("condition %q: %s", e.Expr, e.Msg)
	if e.Col > 0 && !strings.Contains(e.Expr, "\n") {
		s += fmt.Sprintf(" (col %d)", e.Col)
	} else if e.Line > 0 {
		s += fmt.Sprintf(" (line %d col %d)", e.Line, e.Col)
	}
	return s
}

type compiledExpr struct {
	prog  *vm.Program
	names []string
	// namePos is where each free name first appears, for "unknown name" errors.
	namePos map[string][2]int
	err     error
}

var exprCache sync.Map // source -> *compiledExpr

// Compile compiles expression src once (cached by its source). When known is not nil, every
// top-level variable the expression uses must be one of its keys, else the error says
// "unknown name x". The program evaluates dynamically: the values' types may differ from host
// to host.
func Compile(src string, known map[string]any) (*Program, error) {
	c := compileExpr(src)
	if c.err != nil {
		return nil, c.err
	}
	if known != nil {
		for _, n := range c.names {
			if _, ok := known[n]; !ok {
				p := c.namePos[n]
				return nil, &CondError{Expr: src, Msg: "unknown name " + n, Line: p[0], Col: p[1], Unknown: n}
			}
		}
	}
	return &Program{Source: src, Names: c.names, prog: c.prog}, nil
}

// CompileValue compiles a condition as YAML gives it: a bool stands for itself, a string
// "true"/"false" too, and so do YAML 1.1's yes/no/on/off (Ansible playbooks write
// changed_when: no; the YAML library reads that as the string "no"); any other string is an
// expression.
func CompileValue(v any, known map[string]any) (*Program, error) {
	switch x := v.(type) {
	case bool:
		return Const(x), nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on":
			return Const(true), nil
		case "false", "no", "off":
			return Const(false), nil
		}
		return Compile(x, known)
	case nil:
		return nil, &CondError{Expr: "", Msg: "empty condition: write an expression such as result.rc == 0, or true/false"}
	}
	return nil, &CondError{Expr: fmt.Sprint(v), Msg: fmt.Sprintf("a condition must be an expression string or true/false, not a %T", v)}
}

// Const is a program that always gives b.
func Const(b bool) *Program {
	return &Program{Source: fmt.Sprint(b), constant: &b}
}

func compileExpr(src string) *compiledExpr {
	if c, ok := exprCache.Load(src); ok {
		return c.(*compiledExpr)
	}
	c := &compiledExpr{}
	if strings.TrimSpace(src) == "" {
		c.err = &CondError{Expr: src, Msg: "empty condition: write an expression such as result.rc == 0, or true/false"}
	} else if tree, err := parser.Parse(src); err != nil {
		c.err = condError(src, err)
	} else {
		c.names, c.namePos = freeNames(src, tree.Node)
		opts := []expr.Option{expr.AllowUndefinedVariables()}
		for _, n := range c.names {
			// A variable named like a builtin (count, max, keys) is the variable here.
			if isBuiltin(n) {
				opts = append(opts, expr.DisableBuiltin(n))
			}
		}
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			c.err = condError(src, err)
		} else {
			c.prog = prog
		}
	}
	if exprCacheFull() {
		return c
	}
	actual, _ := exprCache.LoadOrStore(src, c)
	return actual.(*compiledExpr)
}

var exprCount struct {
	sync.Mutex
	n int
}

func exprCacheFull() bool {
	exprCount.Lock()
	defer exprCount.Unlock()
	if exprCount.n >= maxCached {
		return true
	}
	exprCount.n++
	return false
}

// freeNames lists the identifiers that name variables: not called functions, not let-bound
// names, not the special $env.
func freeNames(src string, root ast.Node) ([]string, map[string][2]int) {
	v := &nameVisitor{src: []rune(src), callees: map[ast.Node]bool{}, bound: map[string]bool{}, pos: map[string][2]int{}}
	// A first pass finds what is not a variable, the second collects the rest in order.
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		switch x := (*n).(type) {
		case *ast.CallNode:
			v.callees[x.Callee] = true
		case *ast.VariableDeclaratorNode:
			v.bound[x.Name] = true
		}
	}))
	ast.Walk(&root, v)
	return v.names, v.pos
}

type visitFunc func(n *ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

type nameVisitor struct {
	src     []rune
	callees map[ast.Node]bool
	bound   map[string]bool
	names   []string
	pos     map[string][2]int
}

func (v *nameVisitor) Visit(n *ast.Node) {
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok || v.callees[*n] || v.bound[id.Value] || id.Value == "$env" {
		return
	}
	if _, seen := v.pos[id.Value]; seen {
		return
	}
	v.pos[id.Value] = lineCol(v.src, id.Location().From)
	v.names = append(v.names, id.Value)
}

func isBuiltin(name string) bool {
	_, ok := builtin.Index[name]
	return ok
}

// lineCol turns a rune offset into a 1-based line and column.
func lineCol(src []rune, offset int) [2]int {
	line, col := 1, 1
	for i := 0; i < offset && i < len(src); i++ {
		if src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return [2]int{line, col}
}

func condError(src string, err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &CondError{Expr: src, Msg: fe.Message, Line: fe.Line, Col: fe.Column + 1}
	}
	return &CondError{Expr: src, Msg: err.Error()}
}

// Eval runs the program against vars and returns its value.
func Eval(p *Program, vars map[string]any) (any, error) {
	if p == nil {
		return nil, errors.New("condition: no program (compile it first)")
	}
	if p.constant != nil {
		return *p.constant, nil
	}
	if vars == nil {
		vars = map[string]any{}
	}
	out, err := expr.Run(p.prog, vars)
	if err != nil {
		return nil, condError(p.Source, err)
	}
	return out, nil
}

// Truth runs the program and requires a bool result.
func Truth(p *Program, vars map[string]any) (bool, error) {
	v, err := Eval(p, vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &CondError{Expr: p.Source, Msg: fmt.Sprintf("gave %v (a %s), want true or false: compare it, e.g. x == 1 or x != nil", v, kindOf(v))}
	}
	return b, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case int, int64, float64, uint64:
		return "number"
	case []any, []string:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}
