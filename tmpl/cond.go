package tmpl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled condition (when, until, failed_when, changed_when, assert's that),
// reusable for every host and safe for concurrent use. Conditions are expr expressions that
// also accept the spellings Ansible users write: x is defined, x | default(y), 'a' in s,
// r is succeeded, x is version('4.2.3', '>='), with Ansible's meaning (see ansible_funcs.go).
type Program struct {
	// Source is the expression as written ("true" or "false" for a constant).
	Source string
	// Names are the top-level variables it refers to, in the order they appear.
	Names []string
	// Optional are the Names it tests with is defined or undefined, or gives a default (x |
	// default(y), x ?? y): they may be undefined when the condition runs, so a check before the
	// run must not require them. The others (Required) must be defined.
	Optional []string
	prog     *vm.Program
	tree     ast.Node
	// constant is set for a bool written as such (when: false).
	constant *bool
}

// Required are the Names that are not Optional: each must be defined when the condition runs.
func (p *Program) Required() []string {
	if len(p.Optional) == 0 {
		return p.Names
	}
	out := make([]string, 0, len(p.Names))
	for _, n := range p.Names {
		if !slices.Contains(p.Optional, n) {
			out = append(out, n)
		}
	}
	return out
}

// CondError is an expression that does not compile, has the wrong types or fails to evaluate.
type CondError struct {
	Expr string
	Msg  string
	// Line and Col are the position inside the expression (0 when unknown).
	Line, Col int
	// Unknown is the undefined variable's name when that is the cause.
	Unknown string
	// Fix says what to write instead, when the error knows ("" otherwise).
	Fix string
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
	*compiledCond
	err error
}

var exprCache sync.Map // source -> *compiledExpr

// Compile compiles expression src once (cached by its source). When known is not nil, every
// top-level variable the expression requires must be one of its keys, else the error says
// "unknown name x" (names it only tests with is defined or gives a default need not be). The
// program evaluates dynamically: the values' types may differ from host to host.
func Compile(src string, known map[string]any) (*Program, error) {
	c := compileExpr(src)
	if c.err != nil {
		return nil, c.err
	}
	p := &Program{Source: src, Names: c.names, Optional: c.optional, prog: c.prog, tree: c.tree}
	if known != nil {
		for _, n := range p.Required() {
			if _, ok := known[n]; !ok {
				pos := c.namePos[n]
				return nil, &CondError{Expr: src, Msg: "unknown name " + n, Line: pos[0], Col: pos[1], Unknown: n}
			}
		}
	}
	return p, nil
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
	} else {
		c.compiledCond, c.err = compileCond(src)
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

type visitFunc func(n *ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

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
	ce := &CondError{Expr: src, Msg: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		ce.Msg, ce.Line, ce.Col = fe.Message, fe.Line, fe.Column+1
	}
	var ue *undefinedError
	var he *hintError
	switch {
	case errors.As(err, &ue):
		ce.Unknown, ce.Fix = ue.u.name, undefinedFix(ue.u.what)
	case errors.As(err, &he):
		ce.Fix = he.hint
	}
	return ce
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
