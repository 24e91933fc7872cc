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
	return walkRefs(s, func(w *refWalker, root *parse.ListNode) { w.list(root, true) })
}

// walkRefs parses s and collects the names walk adds.
func walkRefs(s string, walk func(w *refWalker, root *parse.ListNode)) ([]string, error) {
	if !IsTemplate(s) {
		return nil, nil
	}
	c := compile(s)
	if c.err != nil {
		return nil, c.err
	}
	w := refWalker{seen: map[string]bool{}}
	walk(&w, c.t.Tree.Root)
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

// SoftRefs returns the top-level names template s looks up by a literal key on the variables
// themselves, as in {{ get . "name" }}, {{ hasKey . "name" }} or {{ index . "name" }}: the
// template copes with the name being absent, so it is no hard reference (Refs leaves it out),
// but its value still depends on the name, once it is set.
func SoftRefs(s string) ([]string, error) {
	return walkRefs(s, func(w *refWalker, root *parse.ListNode) { w.soft(root, true) })
}

// softLookups are the functions whose (variables, "name") arguments look a name up softly.
var softLookups = map[string]bool{"get": true, "hasKey": true, "index": true}

// soft walks every node for soft lookups; dotIsRoot says whether "." means the variables.
func (w *refWalker) soft(n parse.Node, dotIsRoot bool) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x != nil {
			for _, c := range x.Nodes {
				w.soft(c, dotIsRoot)
			}
		}
	case *parse.ActionNode:
		w.soft(x.Pipe, dotIsRoot)
	case *parse.IfNode:
		w.soft(x.Pipe, dotIsRoot)
		w.soft(x.List, dotIsRoot)
		if x.ElseList != nil {
			w.soft(x.ElseList, dotIsRoot)
		}
	case *parse.RangeNode:
		w.soft(x.Pipe, dotIsRoot)
		w.soft(x.List, false)
		if x.ElseList != nil {
			w.soft(x.ElseList, dotIsRoot)
		}
	case *parse.WithNode:
		w.soft(x.Pipe, dotIsRoot)
		w.soft(x.List, false)
		if x.ElseList != nil {
			w.soft(x.ElseList, dotIsRoot)
		}
	case *parse.PipeNode:
		if x != nil {
			for _, c := range x.Cmds {
				w.soft(c, dotIsRoot)
			}
		}
	case *parse.CommandNode:
		if len(x.Args) >= 3 {
			fn, isFn := x.Args[0].(*parse.IdentifierNode)
			key, isKey := x.Args[2].(*parse.StringNode)
			if isFn && isKey && softLookups[fn.Ident] && isRootVars(x.Args[1], dotIsRoot) {
				w.add(key.Text)
			}
		}
		for _, a := range x.Args {
			w.soft(a, dotIsRoot)
		}
	}
}

// isRootVars reports whether n stands for the variables: "." where it means them, or "$".
func isRootVars(n parse.Node, dotIsRoot bool) bool {
	switch x := n.(type) {
	case *parse.DotNode:
		return dotIsRoot
	case *parse.VariableNode:
		return len(x.Ident) == 1 && x.Ident[0] == "$"
	}
	return false
}
