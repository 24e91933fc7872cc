package tmpl

import (
	"text/template/parse"
)

// Refs returns the top-level variable names template s refers to, in the order they first
// appear: "{{ .a.b }}" refers to "a", "{{ $.a }}" too, in actions, pipelines, function
// arguments and the conditions and bodies of if, range and with. Inside the body of range and
// with, "." is the element, not the variables, so only "$." references count there. A string
// without "{{" refers to nothing. A parse error is returned as an *Error with its line.
func Refs(s string) ([]string, error) {
	if !IsTemplate(s) {
		return nil, nil
	}
	c := compile(s)
	if c.err != nil {
		return nil, c.err
	}
	w := refWalker{seen: map[string]bool{}}
	w.list(c.t.Tree.Root, true)
	return w.names, nil
}

type refWalker struct {
	names []string
	seen  map[string]bool
}

func (w *refWalker) add(name string) {
	if name == "" || w.seen[name] {
		return
	}
	w.seen[name] = true
	w.names = append(w.names, name)
}

// list walks a list of nodes; dotIsRoot says whether "." still means the variables there.
func (w *refWalker) list(l *parse.ListNode, dotIsRoot bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dotIsRoot)
	}
}

func (w *refWalker) node(n parse.Node, dotIsRoot bool) {
	switch x := n.(type) {
	case *parse.ActionNode:
		w.pipe(x.Pipe, dotIsRoot)
	case *parse.IfNode:
		w.pipe(x.Pipe, dotIsRoot)
		w.list(x.List, dotIsRoot)
		w.list(x.ElseList, dotIsRoot)
	case *parse.RangeNode:
		w.pipe(x.Pipe, dotIsRoot)
		w.list(x.List, false)
		w.list(x.ElseList, dotIsRoot)
	case *parse.WithNode:
		w.pipe(x.Pipe, dotIsRoot)
		w.list(x.List, false)
		w.list(x.ElseList, dotIsRoot)
	case *parse.TemplateNode:
		w.pipe(x.Pipe, dotIsRoot)
	case *parse.ListNode:
		w.list(x, dotIsRoot)
	case *parse.PipeNode:
		w.pipe(x, dotIsRoot)
	case *parse.CommandNode:
		for _, a := range x.Args {
			w.node(a, dotIsRoot)
		}
	case *parse.FieldNode:
		if dotIsRoot && len(x.Ident) > 0 {
			w.add(x.Ident[0])
		}
	case *parse.VariableNode:
		// $.a is the variables' a wherever it stands; $x.a is a template variable.
		if len(x.Ident) > 1 && x.Ident[0] == "$" {
			w.add(x.Ident[1])
		}
	case *parse.ChainNode:
		// (.a).b: the chain starts at .a; (.).b or (index ...).b cannot be resolved here.
		if _, ok := x.Node.(*parse.DotNode); ok && dotIsRoot && len(x.Field) > 0 {
			w.add(x.Field[0])
			return
		}
		w.node(x.Node, dotIsRoot)
	}
}

func (w *refWalker) pipe(p *parse.PipeNode, dotIsRoot bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		w.node(c, dotIsRoot)
	}
}
