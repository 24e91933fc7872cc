// Package jinja reads the subset of Jinja that Ansible playbooks and templates use (variables,
// attribute and index access, filters, tests, operators, if / for / set) and writes it as an
// omsbook Go template. What it cannot write with the same meaning it reports as Untranslated,
// never as something close.
package jinja

import (
	"fmt"
	"strconv"
	"strings"
)

// Node is an expression.
type Node interface{ node() }

type (
	// Name is a variable.
	Name struct{ Name string }
	// Lit is a literal: string, int64, float64, bool or nil (none).
	Lit struct{ V any }
	// Attr is x.name.
	Attr struct {
		X    Node
		Name string
	}
	// Index is x[i].
	Index struct{ X, I Node }
	// Call is f(args) or x.method(args).
	Call struct {
		Fn   Node
		Args []Node
		Kw   []Kw
	}
	// Filter is x | name(args).
	Filter struct {
		X    Node
		Name string
		Args []Node
		Kw   []Kw
	}
	// Test is x is [not] name(args).
	Test struct {
		X    Node
		Name string
		Not  bool
		Args []Node
	}
	// Bin is a binary operator: or and == != < <= > >= in "not in" + - * / // % ** ~.
	Bin struct {
		Op   string
		L, R Node
	}
	// Unary is not x or -x.
	Unary struct {
		Op string
		X  Node
	}
	// CondExpr is a if c else b.
	CondExpr struct{ Then, If, Else Node }
	// List is [a, b].
	List struct{ Items []Node }
	// Dict is {k: v}.
	Dict struct{ Keys, Vals []Node }
)

// Kw is a keyword argument name=value.
type Kw struct {
	Name string
	V    Node
}

func (Name) node()     {}
func (Lit) node()      {}
func (Attr) node()     {}
func (Index) node()    {}
func (Call) node()     {}
func (Filter) node()   {}
func (Test) node()     {}
func (Bin) node()      {}
func (Unary) node()    {}
func (CondExpr) node() {}
func (List) node()     {}
func (Dict) node()     {}

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tStr
	tInt
	tFloat
	tOp
)

type token struct {
	kind tokKind
	s    string
}

var ops = []string{"**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "="}

func tokenize(src string) ([]token, error) {
	var out []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			out = append(out, token{tName, src[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			isFloat := false
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '_' || src[j] == '.' && !isFloat && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9') {
				if src[j] == '.' {
					isFloat = true
				}
				j++
			}
			k := tInt
			if isFloat {
				k = tFloat
			}
			out = append(out, token{k, strings.ReplaceAll(src[i:j], "_", "")})
			i = j
		case c == '\'' || c == '"':
			s, n, err := readString(src[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, token{tStr, s})
			i += n
		default:
			matched := false
			for _, op := range ops {
				if strings.HasPrefix(src[i:], op) {
					out = append(out, token{tOp, op})
					i += len(op)
					matched = true
					break
				}
			}
			if !matched {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
		}
	}
	return append(out, token{kind: tEOF}), nil
}

// readString reads a Python string literal at the start of s: its value and its length.
func readString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		if n, ok := octal(s[i:]); ok > 0 {
			b.WriteRune(rune(n))
			i += ok - 1
			continue
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i]]
			if i+n >= len(s) {
				return "", 0, fmt.Errorf("a truncated \\%c escape", s[i])
			}
			r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", 0, fmt.Errorf("a bad \\%c escape", s[i])
			}
			b.WriteRune(rune(r))
			i += n
		case 'N':
			return "", 0, fmt.Errorf("\\N{...} escapes are not translated")
		default:
			// Python keeps an unknown escape as it is (regular expressions rely on it).
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// octal reads Python's \ooo escape (1 to 3 octal digits): its value and how many digits.
func octal(s string) (int, int) {
	n, i := 0, 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '7' {
		n = n*8 + int(s[i]-'0')
		i++
	}
	return n, i
}

type parser struct {
	toks []token
	pos  int
}

// ParseExpr parses one Jinja expression.
func ParseExpr(src string) (Node, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, fmt.Errorf("unexpected %q after the expression", p.peek().s)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) isOp(s string) bool   { t := p.peek(); return t.kind == tOp && t.s == s }
func (p *parser) isName(s string) bool { t := p.peek(); return t.kind == tName && t.s == s }

func (p *parser) expect(s string) error {
	if !p.isOp(s) {
		return fmt.Errorf("expected %q, found %q", s, p.peek().s)
	}
	p.pos++
	return nil
}

func (p *parser) expr() (Node, error) {
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.isName("if") {
		p.pos++
		cond, err := p.or()
		if err != nil {
			return nil, err
		}
		var els Node
		if p.isName("else") {
			p.pos++
			if els, err = p.expr(); err != nil {
				return nil, err
			}
		}
		return CondExpr{Then: n, If: cond, Else: els}, nil
	}
	return n, nil
}

func (p *parser) binLeft(sub func() (Node, error), names, opers []string) (Node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		for _, n := range names {
			if p.isName(n) {
				op = n
			}
		}
		for _, o := range opers {
			if p.isOp(o) {
				op = o
			}
		}
		if op == "" {
			return l, nil
		}
		p.pos++
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = Bin{Op: op, L: l, R: r}
	}
}

func (p *parser) or() (Node, error)  { return p.binLeft(p.and, []string{"or"}, nil) }
func (p *parser) and() (Node, error) { return p.binLeft(p.not, []string{"and"}, nil) }

func (p *parser) not() (Node, error) {
	if p.isName("not") {
		p.pos++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return Unary{Op: "not", X: x}, nil
	}
	return p.compare()
}

func (p *parser) compare() (Node, error) {
	l, err := p.math1()
	if err != nil {
		return nil, err
	}
	for {
		var op string
		switch t := p.peek(); {
		case t.kind == tOp && (t.s == "==" || t.s == "!=" || t.s == "<" || t.s == "<=" || t.s == ">" || t.s == ">="):
			op = t.s
			p.pos++
		case t.kind == tName && t.s == "in":
			op = "in"
			p.pos++
		case t.kind == tName && t.s == "not" && p.toks[p.pos+1].kind == tName && p.toks[p.pos+1].s == "in":
			op = "not in"
			p.pos += 2
		case t.kind == tName && t.s == "is":
			p.pos++
			if l, err = p.test(l); err != nil {
				return nil, err
			}
			continue
		default:
			return l, nil
		}
		r, err := p.math1()
		if err != nil {
			return nil, err
		}
		l = Bin{Op: op, L: l, R: r}
	}
}

func (p *parser) test(x Node) (Node, error) {
	t := Test{X: x}
	if p.isName("not") {
		p.pos++
		t.Not = true
	}
	name := p.next()
	if name.kind != tName {
		return nil, fmt.Errorf("expected a test name after is, found %q", name.s)
	}
	t.Name = name.s
	switch {
	case p.isOp("("):
		args, kw, err := p.args()
		if err != nil {
			return nil, err
		}
		if len(kw) > 0 {
			return nil, fmt.Errorf("test %s with keyword arguments", t.Name)
		}
		t.Args = args
	case p.peek().kind == tStr || p.peek().kind == tInt || p.peek().kind == tFloat:
		a, err := p.primary()
		if err != nil {
			return nil, err
		}
		t.Args = []Node{a}
	}
	return t, nil
}

func (p *parser) math1() (Node, error)  { return p.binLeft(p.concat, nil, []string{"+", "-"}) }
func (p *parser) concat() (Node, error) { return p.binLeft(p.math2, nil, []string{"~"}) }
func (p *parser) math2() (Node, error) {
	return p.binLeft(p.pow, nil, []string{"*", "/", "//", "%"})
}
func (p *parser) pow() (Node, error) { return p.binLeft(p.unary, nil, []string{"**"}) }

func (p *parser) unary() (Node, error) {
	if p.isOp("-") || p.isOp("+") {
		op := p.next().s
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return Unary{Op: op, X: x}, nil
	}
	x, err := p.postfix()
	if err != nil {
		return nil, err
	}
	for p.isOp("|") {
		p.pos++
		name := p.next()
		if name.kind != tName {
			return nil, fmt.Errorf("expected a filter name after |, found %q", name.s)
		}
		f := Filter{X: x, Name: name.s}
		if p.isOp("(") {
			if f.Args, f.Kw, err = p.args(); err != nil {
				return nil, err
			}
		}
		x = f
	}
	return x, nil
}

func (p *parser) postfix() (Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.pos++
			t := p.next()
			switch t.kind {
			case tName:
				x = Attr{X: x, Name: t.s}
			case tInt:
				n, _ := strconv.ParseInt(t.s, 10, 64)
				x = Index{X: x, I: Lit{V: n}}
			default:
				return nil, fmt.Errorf("expected a name after '.', found %q", t.s)
			}
		case p.isOp("["):
			p.pos++
			i, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.isOp(":") {
				return nil, fmt.Errorf("slices ([a:b]) are not translated")
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			x = Index{X: x, I: i}
		case p.isOp("("):
			args, kw, err := p.args()
			if err != nil {
				return nil, err
			}
			x = Call{Fn: x, Args: args, Kw: kw}
		default:
			return x, nil
		}
	}
}

func (p *parser) args() ([]Node, []Kw, error) {
	if err := p.expect("("); err != nil {
		return nil, nil, err
	}
	var args []Node
	var kw []Kw
	for !p.isOp(")") {
		if p.peek().kind == tName && p.toks[p.pos+1].kind == tOp && p.toks[p.pos+1].s == "=" {
			name := p.next().s
			p.pos++
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			kw = append(kw, Kw{Name: name, V: v})
		} else {
			if len(kw) > 0 {
				return nil, nil, fmt.Errorf("a positional argument after a keyword argument")
			}
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, v)
		}
		if !p.isOp(",") {
			break
		}
		p.pos++
	}
	return args, kw, p.expect(")")
}

func (p *parser) primary() (Node, error) {
	t := p.next()
	switch t.kind {
	case tStr:
		s := t.s
		for p.peek().kind == tStr { // 'a' 'b' is 'ab', as in Python
			s += p.next().s
		}
		return Lit{V: s}, nil
	case tInt:
		n, err := strconv.ParseInt(t.s, 10, 64)
		if err != nil {
			return nil, err
		}
		return Lit{V: n}, nil
	case tFloat:
		f, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, err
		}
		return Lit{V: f}, nil
	case tName:
		switch t.s {
		case "true", "True":
			return Lit{V: true}, nil
		case "false", "False":
			return Lit{V: false}, nil
		case "none", "None":
			return Lit{V: nil}, nil
		}
		return Name{Name: t.s}, nil
	case tOp:
		switch t.s {
		case "(":
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.isOp(",") {
				return nil, fmt.Errorf("tuples are not translated")
			}
			return x, p.expect(")")
		case "[":
			var l List
			for !p.isOp("]") {
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				l.Items = append(l.Items, v)
				if !p.isOp(",") {
					break
				}
				p.pos++
			}
			return l, p.expect("]")
		case "{":
			var d Dict
			for !p.isOp("}") {
				k, err := p.expr()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				d.Keys, d.Vals = append(d.Keys, k), append(d.Vals, v)
				if !p.isOp(",") {
					break
				}
				p.pos++
			}
			return d, p.expect("}")
		}
	}
	if t.kind == tEOF {
		return nil, fmt.Errorf("unexpected end of the expression")
	}
	return nil, fmt.Errorf("unexpected %q", t.s)
}
