package inventory

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads INI inventory text the way Ansible's ini plugin does: a host line is split
// into words as Python's shlex.split(line, comments=True) splits it, and every value (inline
// host vars and [group:vars] lines alike) is typed by Python's ast.literal_eval, falling back
// to the text itself when it is no Python literal.

// shWord is one word of a host line and the byte offset in the line where it starts.
type shWord struct {
	text string
	off  int
}

// shlexSplit splits line as Python's shlex does in POSIX mode with comments: words separated by
// blanks, '...' and "..." quoting, backslash escapes, and '#' starting a comment, also inside
// a word.
func shlexSplit(line string) ([]shWord, error) {
	const (
		blank  = ' '
		word   = 'a'
		escape = '\\'
	)
	var (
		words   []shWord
		tok     strings.Builder
		start   = -1
		quoted  bool
		state   = rune(blank)
		escaped rune // the state an escape returns to
	)
	emit := func() {
		if tok.Len() > 0 || quoted {
			words = append(words, shWord{text: tok.String(), off: start})
		}
		tok.Reset()
		start, quoted = -1, false
	}
	begin := func(i int) {
		if start < 0 {
			start = i
		}
	}
	for i, r := range line {
		switch state {
		case blank, word:
			switch {
			case r == ' ' || r == '\t' || r == '\r' || r == '\n':
				if state == word {
					emit()
				}
				state = blank
			case r == '#':
				emit()
				return words, nil
			case r == '\'' || r == '"':
				begin(i)
				quoted, state = true, r
			case r == escape:
				begin(i)
				escaped, state = word, escape
			default:
				begin(i)
				tok.WriteRune(r)
				state = word
			}
		case '\'', '"':
			switch {
			case r == state:
				state = word
			case r == escape && state == '"':
				escaped, state = '"', escape
			default:
				tok.WriteRune(r)
			}
		case escape:
			// Inside double quotes a backslash escapes only '"' and '\'; elsewhere it stays.
			if escaped == '"' && r != '"' && r != escape {
				tok.WriteRune(escape)
			}
			tok.WriteRune(r)
			state = escaped
		}
	}
	switch state {
	case '\'', '"':
		return nil, errors.New("no closing quotation")
	case escape:
		return nil, errors.New("no escaped character after the final backslash")
	}
	emit()
	return words, nil
}

// pyValue types an INI value as Ansible does: a Python literal (number, string, bool, None,
// list, tuple, set, dict) becomes that value; anything else stays the text as written.
func pyValue(s string) any {
	v, err := pyLiteral(s)
	if err != nil {
		return s
	}
	return v
}

// errNotLiteral says the text is no Python literal that omsbook reads.
var errNotLiteral = errors.New("not a python literal")

// pyLiteral evaluates s as Python's ast.literal_eval does, for the values an inventory can
// hold: str and bytes (bytes become text), int, float, True, False, None, tuples, lists and
// sets (lists), dicts with str, int, bool or None keys (text keys), unary + and - on numbers,
// and Python comments. Complex numbers, f-strings and names are not literals here.
func pyLiteral(s string) (any, error) {
	p := &pyParser{src: strings.TrimLeft(s, " \t")}
	if err := p.next(); err != nil {
		return nil, err
	}
	v, err := p.testlist()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != pyEOF {
		return nil, errNotLiteral
	}
	return v, nil
}

type pyKind int

const (
	pyEOF pyKind = iota
	pyNumber
	pyString
	pyBytes
	pyName
	pyOp
)

type pyToken struct {
	kind pyKind
	text string // the operator or name; the decoded string
	num  any    // int or float64 for numbers
}

type pyParser struct {
	src string
	pos int
	tok pyToken
}

// next reads the next token into p.tok.
func (p *pyParser) next() error {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\f' {
			p.pos++
			continue
		}
		if c == '#' {
			p.pos = len(p.src)
			break
		}
		break
	}
	if p.pos >= len(p.src) {
		p.tok = pyToken{kind: pyEOF}
		return nil
	}
	rest := p.src[p.pos:]
	c := rest[0]
	switch {
	case strings.HasPrefix(rest, "..."):
		p.pos += 3
		p.tok = pyToken{kind: pyOp, text: "..."}
		return nil
	case c >= '0' && c <= '9' || c == '.' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
		return p.number()
	case strings.ContainsRune("()[]{},:+-", rune(c)):
		p.pos++
		p.tok = pyToken{kind: pyOp, text: string(c)}
		return nil
	case c == '\'' || c == '"':
		return p.str("")
	}
	r, size := utf8.DecodeRuneInString(rest)
	if !isPyIdentStart(r) {
		return errNotLiteral
	}
	end := size
	for end < len(rest) {
		r, size := utf8.DecodeRuneInString(rest[end:])
		if !isPyIdentStart(r) && (r < '0' || r > '9') {
			break
		}
		end += size
	}
	name := rest[:end]
	if end < len(rest) && (rest[end] == '\'' || rest[end] == '"') && len(name) <= 2 {
		p.pos += end
		return p.str(strings.ToLower(name))
	}
	p.pos += end
	p.tok = pyToken{kind: pyName, text: name}
	return nil
}

func isPyIdentStart(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > utf8.RuneSelf && r != utf8.RuneError
}

// number reads a Python int or float literal.
func (p *pyParser) number() error {
	rest := p.src[p.pos:]
	end := 0
	digits := func(ok func(byte) bool) bool {
		// digits with single underscores between them
		n := 0
		for end < len(rest) {
			c := rest[end]
			switch {
			case ok(c):
				end++
				n++
			case c == '_' && n > 0 && end+1 < len(rest) && ok(rest[end+1]):
				end++
			default:
				return n > 0
			}
		}
		return n > 0
	}
	dec := func(c byte) bool { return c >= '0' && c <= '9' }
	var v any
	if len(rest) > 1 && rest[0] == '0' && strings.ContainsRune("xXoObB", rune(rest[1])) {
		base, ok := 16, func(c byte) bool { return dec(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
		switch rest[1] {
		case 'o', 'O':
			base, ok = 8, func(c byte) bool { return c >= '0' && c <= '7' }
		case 'b', 'B':
			base, ok = 2, func(c byte) bool { return c == '0' || c == '1' }
		}
		end = 2
		if end < len(rest) && rest[end] == '_' {
			end++
		}
		if !digits(ok) {
			return errNotLiteral
		}
		v = pyInt(strings.ReplaceAll(rest[2:end], "_", ""), base)
	} else {
		isFloat := false
		intPart := digits(dec)
		if end < len(rest) && rest[end] == '.' {
			isFloat = true
			end++
			if !digits(dec) && !intPart {
				return errNotLiteral
			}
		}
		if end < len(rest) && (rest[end] == 'e' || rest[end] == 'E') {
			isFloat = true
			end++
			if end < len(rest) && (rest[end] == '+' || rest[end] == '-') {
				end++
			}
			if !digits(dec) {
				return errNotLiteral
			}
		}
		text := strings.ReplaceAll(rest[:end], "_", "")
		if isFloat {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return errNotLiteral
			}
			v = f
		} else {
			if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0") != "" {
				return errNotLiteral // leading zeros in a decimal integer are a syntax error
			}
			v = pyInt(text, 10)
		}
	}
	// A letter or digit right after a number (1abc, 1j for complex) is no literal we read.
	if end < len(rest) {
		if r, _ := utf8.DecodeRuneInString(rest[end:]); isPyIdentStart(r) || dec(rest[end]) {
			return errNotLiteral
		}
	}
	p.pos += end
	p.tok = pyToken{kind: pyNumber, num: v}
	return nil
}

// pyInt is an integer as a Go int, or a float64 when it does not fit.
func pyInt(digits string, base int) any {
	if i, err := strconv.ParseInt(digits, base, 64); err == nil {
		return int(i)
	}
	b, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return 0
	}
	f, _ := new(big.Float).SetInt(b).Float64()
	return f
}

// str reads a string literal with the given (lowercased) prefix; p.pos is at its quote.
func (p *pyParser) str(prefix string) error {
	raw, isBytes := false, false
	switch prefix {
	case "", "u":
	case "r":
		raw = true
	case "b":
		isBytes = true
	case "br", "rb":
		raw, isBytes = true, true
	default:
		return errNotLiteral // f-strings and unknown prefixes
	}
	rest := p.src[p.pos:]
	q := rest[:1]
	if strings.HasPrefix(rest, q+q+q) {
		q = q + q + q
	}
	i := len(q)
	var b strings.Builder
	for {
		if i >= len(rest) {
			return errNotLiteral // unterminated
		}
		if strings.HasPrefix(rest[i:], q) {
			i += len(q)
			break
		}
		c := rest[i]
		if isBytes && c >= utf8.RuneSelf {
			return errNotLiteral // bytes literals hold ASCII only
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(rest) {
			return errNotLiteral
		}
		if raw {
			b.WriteString(rest[i : i+2])
			i += 2
			continue
		}
		n, err := pyEscape(&b, rest[i:], isBytes)
		if err != nil {
			return err
		}
		i += n
	}
	p.pos += i
	kind := pyString
	if isBytes {
		kind = pyBytes
	}
	p.tok = pyToken{kind: kind, text: b.String()}
	return nil
}

// pySimpleEscapes are the one-character escapes of Python strings; a backslash before a
// newline joins the lines.
var pySimpleEscapes = map[byte]string{'\n': "", '\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}

// pyEscape decodes the escape sequence at the start of s (which begins with a backslash) into
// b and returns its length.
func pyEscape(b *strings.Builder, s string, isBytes bool) (int, error) {
	c := s[1]
	if v, ok := pySimpleEscapes[c]; ok {
		b.WriteString(v)
		return 2, nil
	}
	hex := func(n int) (rune, bool) {
		if len(s) < 2+n {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:2+n], 16, 32)
		return rune(v), err == nil
	}
	switch {
	case c >= '0' && c <= '7':
		n := 2
		for n < 4 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(s[1:n], 8, 32)
		if isBytes {
			if v > 0xff {
				return 0, errNotLiteral
			}
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		return n, nil
	case c == 'x':
		v, ok := hex(2)
		if !ok {
			return 0, errNotLiteral
		}
		if isBytes {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(v)
		}
		return 4, nil
	case (c == 'u' || c == 'U') && !isBytes:
		n := 4
		if c == 'U' {
			n = 8
		}
		v, ok := hex(n)
		if !ok || v > utf8.MaxRune {
			return 0, errNotLiteral
		}
		b.WriteRune(v)
		return 2 + n, nil
	case c == 'N' && !isBytes:
		return 0, errNotLiteral // \N{NAME} needs Unicode's name table
	}
	// An unknown escape keeps its backslash.
	b.WriteByte('\\')
	return 1, nil
}

// testlist reads one value, or values separated by commas: a tuple, read as a list.
func (p *pyParser) testlist() (any, error) {
	if p.tok.kind == pyEOF {
		return nil, errNotLiteral
	}
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []any{first}
	for p.isOp(",") {
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == pyEOF || p.isOp(")") {
			break
		}
		v, err := p.unary()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

func (p *pyParser) isOp(op string) bool { return p.tok.kind == pyOp && p.tok.text == op }

// unary reads an atom, or a sign and a number.
func (p *pyParser) unary() (any, error) {
	if p.isOp("-") || p.isOp("+") {
		neg := p.isOp("-")
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind != pyNumber {
			return nil, errNotLiteral
		}
		v := p.tok.num
		if neg {
			switch n := v.(type) {
			case int:
				if n == math.MinInt {
					v = -float64(n)
				} else {
					v = -n
				}
			case float64:
				v = -n
			}
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return v, p.noBinOp()
	}
	v, err := p.atom()
	if err != nil {
		return nil, err
	}
	return v, p.noBinOp()
}

// noBinOp rejects a + or - after a value: Python literals allow it only for complex numbers.
func (p *pyParser) noBinOp() error {
	if p.isOp("+") || p.isOp("-") {
		return errNotLiteral
	}
	return nil
}

func (p *pyParser) atom() (any, error) {
	t := p.tok
	switch t.kind {
	case pyNumber:
		return t.num, p.next()
	case pyString, pyBytes:
		// Adjacent literals of one kind are one string.
		var b strings.Builder
		for p.tok.kind == pyString || p.tok.kind == pyBytes {
			if p.tok.kind != t.kind {
				return nil, errNotLiteral
			}
			b.WriteString(p.tok.text)
			if err := p.next(); err != nil {
				return nil, err
			}
		}
		return b.String(), nil
	case pyName:
		var v any
		switch t.text {
		case "True":
			v = true
		case "False":
			v = false
		case "None":
			v = nil
		case "set":
			// set() is the empty set.
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.isOp("(") {
				return nil, errNotLiteral
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, errNotLiteral
			}
			return []any{}, p.next()
		default:
			return nil, errNotLiteral
		}
		return v, p.next()
	case pyOp:
		switch t.text {
		case "...":
			return "...", p.next()
		case "(":
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				return []any{}, p.next()
			}
			v, err := p.testlist()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, errNotLiteral
			}
			return v, p.next()
		case "[":
			items, err := p.items("]")
			if err != nil {
				return nil, err
			}
			return items, nil
		case "{":
			return p.dictOrSet()
		}
	}
	return nil, errNotLiteral
}

// items reads values separated by commas up to the closing bracket (already past the opening).
func (p *pyParser) items(closing string) ([]any, error) {
	if err := p.next(); err != nil {
		return nil, err
	}
	out := []any{}
	for !p.isOp(closing) {
		v, err := p.unary()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.isOp(",") {
			if err := p.next(); err != nil {
				return nil, err
			}
			continue
		}
		if !p.isOp(closing) {
			return nil, errNotLiteral
		}
	}
	return out, p.next()
}

func (p *pyParser) dictOrSet() (any, error) {
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.isOp("}") {
		return map[string]any{}, p.next()
	}
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	if !p.isOp(":") {
		// A set: its items, each once, as a list.
		set := []any{first}
		for p.isOp(",") {
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.isOp("}") {
				break
			}
			v, err := p.unary()
			if err != nil {
				return nil, err
			}
			if !containsValue(set, v) {
				set = append(set, v)
			}
		}
		if !p.isOp("}") {
			return nil, errNotLiteral
		}
		return set, p.next()
	}
	out := map[string]any{}
	key := first
	for {
		if !p.isOp(":") {
			return nil, errNotLiteral
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.unary()
		if err != nil {
			return nil, err
		}
		k, ok := pyKey(key)
		if !ok {
			return nil, errNotLiteral
		}
		out[k] = v
		if p.isOp("}") {
			break
		}
		if !p.isOp(",") {
			return nil, errNotLiteral
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.isOp("}") {
			break
		}
		if key, err = p.unary(); err != nil {
			return nil, err
		}
	}
	return out, p.next()
}

// pyKey is a dict key as JSON writes it: str as is, int in decimal, bool and None as
// true, false and null. Other keys (floats, tuples) are not read.
func pyKey(k any) (string, bool) {
	switch x := k.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "null", true
	}
	return "", false
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if fmt.Sprintf("%T %v", x, x) == fmt.Sprintf("%T %v", v, v) {
			return true
		}
	}
	return false
}
