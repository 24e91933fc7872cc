package tmpl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
)

// This file turns the Jinja spellings Ansible users write in conditions into expr syntax, token
// by token, before the expression is parsed:
//
//	x is [not] T(args)  ->  x.$t_T(args)  (x.$nt_T(args) for "is not")
//	x | F(args)         ->  x.$f_F(args)
//	not a == b          ->  not (a == b)   (Python's precedence: not binds looser than ==)
//	None, True, False   ->  nil, true, false
//	name=value          ->  $kw("name", value)   (keyword arguments of filters and tests)
//
// A filter or a test becomes a method call, so it binds to the operand on its left exactly as
// Jinja's do (tighter than any operator); the AST pass (ansible_ast.go) turns those calls into
// calls of the functions of ansible_funcs.go. A literal on the left is put in parentheses, since
// expr gives numbers and true/false no members.

// posMap maps rune offsets of the rewritten text back to the source's.
type posMap struct {
	segs []posSeg
	// next maps further, when the text this one maps to was itself rewritten.
	next *posMap
}

// posSeg is a run of the output: n runes copied from orig, or (n == 0) inserted text that stands
// for the source at orig.
type posSeg struct {
	out, orig, n int
}

// orig gives the source offset of output offset o.
func (m *posMap) orig(o int) int {
	if m == nil {
		return o
	}
	return m.next.orig(m.own(o))
}

func (m *posMap) own(o int) int {
	if len(m.segs) == 0 {
		return o
	}
	i := sort.Search(len(m.segs), func(i int) bool { return m.segs[i].out > o }) - 1
	if i < 0 {
		return 0
	}
	s := m.segs[i]
	if s.n == 0 {
		return s.orig
	}
	if d := o - s.out; d < s.n {
		return s.orig + d
	}
	return s.orig + s.n
}

type rewriter struct {
	// src is the text rewritten; orig the condition as written, pm0 maps the one to the other.
	src  []rune
	orig []rune
	pm0  *posMap
	toks []lexer.Token
	out  []rune
	pm   posMap
	// done is the source offset up to which the output holds the source.
	done int
	// changed is set once the output differs from the source.
	changed bool
}

func (w *rewriter) copyTo(to int) {
	if to <= w.done {
		return
	}
	w.pm.segs = append(w.pm.segs, posSeg{out: len(w.out), orig: w.done, n: to - w.done})
	w.out = append(w.out, w.src[w.done:to]...)
	w.done = to
}

// skipTo drops the source up to offset to (white space before an operator that is rewritten).
func (w *rewriter) skipTo(to int) {
	if to > w.done {
		w.done = to
		w.changed = true
	}
}

func (w *rewriter) insert(text string, at int) {
	w.pm.segs = append(w.pm.segs, posSeg{out: len(w.out), orig: at})
	w.out = append(w.out, []rune(text)...)
	w.changed = true
}

// replace writes text in place of the source [from, to).
func (w *rewriter) replace(from, to int, text string) {
	w.copyTo(from)
	w.insert(text, from)
	w.done = to
}

type frame struct {
	open string
	// args is set for the argument list of a rewritten filter or test call.
	args bool
}

// jinjaRewrite rewrites src; pm is nil when nothing needed to change (out is src). A source
// that does not lex is returned as it is: the parser reports the error.
func jinjaRewrite(src string) (out string, pm *posMap, err error) {
	text, pm0 := pythonEscapes(src)
	toks, lerr := lexer.Lex(file.NewSource(text))
	if lerr != nil {
		return text, pm0, nil // the parser says what is wrong
	}
	w := &rewriter{src: []rune(text), orig: []rune(src), pm0: pm0, toks: toks}
	if err := w.run(); err != nil {
		return "", nil, err
	}
	if !w.changed {
		return text, pm0, nil
	}
	w.copyTo(len(w.src))
	w.pm.next = pm0
	return string(w.out), &w.pm, nil
}

// pythonEscapes doubles the backslash of every escape in a quoted string that Python keeps as
// it is and expr would refuse or read otherwise: '10\.0\.' is a regular expression in Ansible.
// It gives nil when nothing changed.
func pythonEscapes(src string) (string, *posMap) {
	if !strings.Contains(src, `\`) {
		return src, nil
	}
	w := &rewriter{src: []rune(src)}
	var quote rune
	for i := 0; i < len(w.src); i++ {
		r := w.src[i]
		switch {
		case quote == 0 && (r == '\'' || r == '"'):
			quote = r
		case quote == 0 && r == '`':
			quote = r // a raw string: no escapes
		case quote == 0 && r == '/' && i+1 < len(w.src) && (w.src[i+1] == '/' || w.src[i+1] == '*'):
			end := "\n"
			if w.src[i+1] == '*' {
				end = "*/"
			}
			if j := strings.Index(string(w.src[i+2:]), end); j >= 0 {
				i += 2 + len([]rune(string(w.src[i+2:])[:j]))
			} else {
				i = len(w.src)
			}
		case quote == 0:
		case r == quote:
			quote = 0
		case r == '\\' && quote != '`' && i+1 < len(w.src):
			if !strings.ContainsRune(`abfnrtv\'"01234567xuU`, w.src[i+1]) {
				w.copyTo(i)
				w.insert(`\`, i)
			} else {
				i++ // a known escape: its second rune is not a quote that ends the string
			}
		}
	}
	if !w.changed {
		return src, nil
	}
	w.copyTo(len(w.src))
	return string(w.out), &w.pm
}

func (w *rewriter) tok(i int) lexer.Token {
	if i < 0 || i >= len(w.toks) {
		return lexer.Token{Kind: lexer.EOF}
	}
	return w.toks[i]
}

func (w *rewriter) text(t lexer.Token) string { return string(w.src[t.From:t.To]) }

// operandEnd reports whether a token can end an operand (so what follows is an operator).
func operandEnd(t lexer.Token) bool {
	switch t.Kind {
	case lexer.Identifier, lexer.Number, lexer.String, lexer.Bytes:
		return true
	case lexer.Bracket:
		return t.Value == ")" || t.Value == "]" || t.Value == "}"
	case lexer.Operator:
		return t.Value == "#"
	}
	return false
}

// word reports whether t is a name (an identifier, or a word the lexer reads as an operator,
// such as contains).
func word(t lexer.Token) bool {
	if t.Kind == lexer.Identifier {
		return true
	}
	if t.Kind != lexer.Operator || t.Value == "" {
		return false
	}
	for _, r := range t.Value {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

var literalNames = map[string]string{"None": "nil", "none": "nil", "True": "true", "False": "false", "true": "true", "false": "false", "nil": "nil"}

// named reads a filter or test name at token i, with an optional ansible.builtin. prefix; it
// returns the name and the index of its last token.
func (w *rewriter) named(i int) (string, int) {
	t := w.tok(i)
	if t.Value == "ansible" && w.tok(i+1).Value == "." && w.tok(i+2).Value == "builtin" && w.tok(i+3).Value == "." && word(w.tok(i+4)) {
		return w.tok(i + 4).Value, i + 4
	}
	return t.Value, i
}

// jinjaPipe reports whether the | at token i is a Jinja filter (rewritten here) rather than
// expr's own pipe to one of its builtins (x | len()).
func (w *rewriter) jinjaPipe(i int) bool {
	t := w.tok(i)
	if !t.Is(lexer.Operator, "|") || !operandEnd(w.tok(i-1)) || !word(w.tok(i+1)) {
		return false
	}
	name, last := w.named(i + 1)
	if last == i+1 && w.tok(i+2).Value == "." {
		return true // a collection's filter: an error below
	}
	if _, ok := filters[canonical(name, filterAliases)]; ok {
		return true
	}
	return !isExprFunc(name)
}

func isExprFunc(name string) bool {
	if _, ok := builtin.Index[name]; ok {
		return true
	}
	switch name {
	case "all", "none", "any", "one", "filter", "map", "count", "sum", "find", "findIndex",
		"findLast", "findLastIndex", "groupBy", "sortBy", "reduce":
		return true
	}
	return false
}

func canonical(name string, aliases map[string]string) string {
	if c, ok := aliases[name]; ok {
		return c
	}
	return name
}

// isTest reports whether the "is" at token i starts a Jinja test.
func (w *rewriter) isTest(i int) bool {
	t := w.tok(i)
	if !t.Is(lexer.Identifier, "is") || !operandEnd(w.tok(i-1)) {
		return false
	}
	n := w.tok(i + 1)
	return n.Is(lexer.Operator, "not") || word(n)
}

// notEnds reports whether token i ends the operand of a "not" opened at the current depth.
func (w *rewriter) notEnds(i int) bool {
	t := w.tok(i)
	switch t.Kind {
	case lexer.EOF:
		return true
	case lexer.Operator:
		switch t.Value {
		case "and", "or", "&&", "||", "?", ":", ",", ";", "else":
			return true
		case "|":
			return !w.jinjaPipe(i)
		}
	case lexer.Bracket:
		switch t.Value {
		case ")", "]", "}":
			return true
		case "{":
			return operandEnd(w.tok(i - 1)) // the block of if ... { }
		}
	}
	return false
}

func (w *rewriter) errAt(t lexer.Token, msg, fix string) error {
	p := lineCol(w.orig, w.pm0.orig(t.From))
	return &CondError{Expr: string(w.orig), Msg: msg, Line: p[0], Col: p[1], Fix: fix}
}

func (w *rewriter) run() error {
	var stack []frame
	var nots, kws []int // depths where a "not (" or a "$kw(" waits for its ")"
	nextArgs := false   // the next "(" opens a rewritten call's arguments
	for i := 0; i < len(w.toks); i++ {
		t := w.toks[i]
		depth := len(stack)
		if w.notEnds(i) {
			for len(nots) > 0 && nots[len(nots)-1] == depth {
				w.copyTo(w.tok(i - 1).To)
				w.insert(")", t.From)
				nots = nots[:len(nots)-1]
			}
		}
		if (t.Is(lexer.Operator, ",") || t.Is(lexer.Bracket, ")")) && len(kws) > 0 && kws[len(kws)-1] == depth {
			w.copyTo(w.tok(i - 1).To)
			w.insert(")", t.From)
			kws = kws[:len(kws)-1]
		}
		if t.Kind == lexer.EOF {
			break
		}
		prev, next := w.tok(i-1), w.tok(i+1)
		switch {
		case t.Kind == lexer.Identifier && strings.HasPrefix(t.Value, "$") && t.Value != "$env":
			return w.errAt(t, fmt.Sprintf("%s: names starting with $ are reserved", t.Value), "rename the variable")

		case t.Kind == lexer.Bracket && (t.Value == "(" || t.Value == "[" || t.Value == "{"):
			stack = append(stack, frame{open: t.Value, args: nextArgs && t.Value == "("})
			nextArgs = false
			continue

		case t.Kind == lexer.Bracket:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue

		case t.Is(lexer.Operator, "not") && !operandEnd(prev):
			w.copyTo(t.To)
			w.insert(" (", t.To)
			nots = append(nots, depth)
			continue

		case depth > 0 && stack[depth-1].args && t.Kind == lexer.Identifier && next.Is(lexer.Operator, "=") &&
			(prev.Is(lexer.Operator, ",") || prev.Is(lexer.Bracket, "(")):
			w.replace(t.From, next.To, fmt.Sprintf("%s(%q, ", fnKw, t.Value))
			kws = append(kws, depth)
			i++
			continue

		case w.isTest(i) || w.jinjaPipe(i):
			j, err := w.rewriteCall(i)
			if err != nil {
				return err
			}
			i = j
			if w.tok(i+1).Is(lexer.Bracket, "(") {
				nextArgs = true
			} else {
				w.insert("()", w.tok(i).To)
			}
			continue
		}
		// A literal followed by a filter or test is parenthesised: (5).$f_string(), with its
		// sign, as Jinja binds it: -3 | abs is abs(-3).
		lit := t.Kind == lexer.Number || (t.Kind == lexer.Identifier && literalNames[t.Value] != "")
		if lit && (w.isTest(i+1) || w.jinjaPipe(i+1)) {
			text := w.text(t)
			if t.Kind == lexer.Identifier {
				text = literalNames[t.Value]
			}
			from := t.From
			if t.Kind == lexer.Number && (prev.Is(lexer.Operator, "-") || prev.Is(lexer.Operator, "+")) && !operandEnd(w.tok(i-2)) && w.done <= prev.From {
				text, from = prev.Value+text, prev.From
			}
			w.replace(from, t.To, "("+text+")")
			continue
		}
		// expr's own pipe to one of its functions may leave out the parentheses: x | len.
		if t.Is(lexer.Operator, "|") && operandEnd(prev) && word(next) && isExprFunc(next.Value) && !w.tok(i+2).Is(lexer.Bracket, "(") {
			w.copyTo(next.To)
			w.insert("()", next.To)
			i++
			continue
		}
		// Jinja's literals: None, True, False (and none); not a property, a call or a map key.
		if t.Kind == lexer.Identifier && t.Value != literalNames[t.Value] && literalNames[t.Value] != "" &&
			!prev.Is(lexer.Operator, ".") && !prev.Is(lexer.Operator, "?.") && !next.Is(lexer.Bracket, "(") &&
			!(next.Is(lexer.Operator, ":") && depth > 0 && stack[depth-1].open == "{" && (prev.Is(lexer.Bracket, "{") || prev.Is(lexer.Operator, ","))) {
			w.replace(t.From, t.To, literalNames[t.Value])
		}
	}
	return nil
}

// rewriteCall rewrites the test ("is" at i) or the filter ("|" at i) into a method call and
// returns the index of the name's last token.
func (w *rewriter) rewriteCall(i int) (int, error) {
	t := w.toks[i]
	isTest := t.Value == "is"
	j := i + 1
	negate := false
	if isTest && w.tok(j).Is(lexer.Operator, "not") {
		negate, j = true, j+1
		if !word(w.tok(j)) {
			return 0, w.errAt(w.tok(j), "is not: a test name must follow", "write e.g. x is not defined")
		}
	}
	name, last := w.named(j)
	nameTok := w.tok(j)
	if isTest {
		c := canonical(name, testAliases)
		if _, ok := tests[c]; !ok {
			return 0, w.errAt(nameTok, "unknown test "+name, "the tests are "+nameList(tests, testAliases))
		}
		name = c
	} else {
		if last == j && w.tok(j+1).Value == "." {
			return 0, w.errAt(nameTok, "filter "+w.dotted(j)+" is not available here", "the filters are "+nameList(filters, filterAliases)+", and expr's functions (x | len())")
		}
		c := canonical(name, filterAliases)
		if _, ok := filters[c]; !ok {
			return 0, w.errAt(nameTok, "unknown filter "+name, "the filters are "+nameList(filters, filterAliases)+", and expr's functions (x | len())")
		}
		name = c
	}
	pfx := filterPfx
	switch {
	case negate:
		pfx = notTestPfx
	case isTest:
		pfx = testPfx
	}
	// The white space before the operator goes: "x .$t_defined" would still parse, but the
	// method call reads better joined.
	w.copyTo(w.tok(i - 1).To)
	w.skipTo(t.From)
	w.replace(t.From, w.tok(last).To, "."+pfx+name)
	return last, nil
}

// dotted gives the dotted name starting at token i (community.general.json_query).
func (w *rewriter) dotted(i int) string {
	s := w.tok(i).Value
	for w.tok(i+1).Value == "." && word(w.tok(i+2)) {
		s += "." + w.tok(i+2).Value
		i += 2
	}
	return s
}
