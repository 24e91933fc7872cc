package tmpl

import (
	"errors"
	"regexp"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Conditions are expr expressions that also read as Ansible users write them (see
// ansible_rewrite.go and ansible_ast.go): compiling one is rewrite, parse, transform, check and
// compile, with the functions below.

var condOptions = sync.OnceValue(func() []expr.Option {
	opts := []expr.Option{
		expr.AllowUndefinedVariables(),
		expr.Function(fnGet, func(a ...any) (any, error) { return variable(a[0], a[1].(string)), nil }),
		expr.Function(fnVar, func(a ...any) (any, error) { return mustDefined(variable(a[0], a[1].(string))) }),
		expr.Function(fnAttr, func(a ...any) (any, error) { return attr(a), nil }),
		expr.Function(fnKey, func(a ...any) (any, error) { return mustDefined(attr(a)) }),
		expr.Function(fnMust, func(a ...any) (any, error) { return mustDefined(a[0]) }),
		expr.Function(fnTruthy, func(a ...any) (any, error) { return truthy(a[0]) }),
		expr.Function(fnIn, func(a ...any) (any, error) { return inOp(a[0], a[1], a[2].(string), a[3].(string)) }),
		expr.Function(fnCoalesce, func(a ...any) (any, error) {
			if a[0] == nil || isUndefined(a[0]) {
				return a[1], nil
			}
			return a[0], nil
		}),
	}
	for _, table := range []map[string]*condFunc{filters, tests} {
		for _, f := range table {
			pfx := filterPfx
			if f.test {
				pfx = testPfx
			}
			opts = append(opts, expr.Function(pfx+f.name, func(a ...any) (any, error) {
				return f.fn(a[0], a[1:len(a)-1], a[len(a)-1].(string))
			}))
		}
	}
	return opts
})

// compiledCond is what compiling a condition gives.
type compiledCond struct {
	prog     *vm.Program
	tree     ast.Node
	names    []string
	optional []string
	namePos  map[string][2]int
}

// compileCond compiles src with Ansible's meaning of its spellings.
func compileCond(src string) (*compiledCond, error) {
	text, pm, err := jinjaRewrite(src)
	if err != nil {
		return nil, err
	}
	config := conf.CreateNew()
	for _, op := range condOptions() {
		op(config)
	}
	config.Optimize = false // the tree is kept for CheckTypes; conditions are small
	config.Check()
	tree, err := parser.ParseWithConfig(text, config)
	if err != nil {
		return nil, mappedError(src, pm, err)
	}
	remapLocations(&tree.Node, pm)
	p := newASTPass(src, tree.Node)
	root := p.transform(tree.Node, valueMode)
	if p.err != nil {
		return nil, p.err
	}
	tree.Node = root
	tree.Source = file.NewSource(src)
	if _, err := checker.Check(tree, config); err != nil {
		return nil, condError(src, err)
	}
	prog, err := compiler.Compile(tree, config)
	if err != nil {
		return nil, condError(src, err)
	}
	c := &compiledCond{prog: prog, tree: root, namePos: p.pos}
	c.names, c.optional = p.result()
	return c, nil
}

var internalName = regexp.MustCompile(`\$(?:f|t|nt)_(\w+)`)

// mappedError is a parse error of the rewritten text, placed in the source.
func mappedError(src string, pm *posMap, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &CondError{Expr: src, Msg: err.Error()}
	}
	if pm == nil {
		return condError(src, err)
	}
	lc := lineCol([]rune(src), pm.orig(fe.From))
	return &CondError{Expr: src, Msg: internalName.ReplaceAllString(fe.Message, "$1"), Line: lc[0], Col: lc[1]}
}

// variable is $get($env, name): the variable, or undefined.
func variable(env any, name string) any {
	vars, _ := env.(map[string]any)
	if v, ok := vars[name]; ok {
		return v
	}
	return &undefinedValue{what: name, name: name}
}

// attr is $attr(obj, key, mode, what, objDesc): Jinja's lookup, with expr's ?. (nil when the
// object is nil or undefined, or has no such key).
func attr(a []any) any {
	obj, key := a[0], a[1]
	switch a[2].(int) {
	case attrOptional:
		if obj == nil || isUndefined(obj) {
			return nil
		}
		if v := lookup(obj, key, a[3].(string), a[4].(string)); !isUndefined(v) {
			return v
		}
		return nil
	case attrInChain:
		if obj == nil {
			return nil
		}
	}
	return lookup(obj, key, a[3].(string), a[4].(string))
}
