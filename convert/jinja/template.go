package jinja

import (
	"fmt"
	"regexp"
	"strings"
)

// Problem is a construct left untranslated (or, for a note, translated with a difference worth
// knowing), at its line in the template (1-based).
type Problem struct {
	Line   int
	Reason string
}

// Result is a translated template.
type Result struct {
	// Text is the Go template; an untranslated construct is written as a call of Marker.
	Text string
	// Problems are the constructs left untranslated.
	Problems []Problem
	// Notes are translations that differ in a way worth knowing (map order).
	Notes []Problem
}

type segKind int

const (
	segText segKind = iota
	segExpr
	segStmt
	segComment
)

type segment struct {
	kind segKind
	text string // the text, or the tag's inside without delimiters and - markers
	raw  string // the tag as written
	line int
	// trimmed: trim_blocks took the newline this text started with.
	trimmed bool
}

// segments splits a template into text and tags, applying whitespace control (- markers) and
// Ansible's trim_blocks (the newline right after a block tag or comment is dropped).
func segments(src string) ([]segment, error) {
	var out []segment
	line := 1
	trimNext, trimBlock := false, false
	for len(src) > 0 {
		i := nextTag(src)
		text := src
		if i >= 0 {
			text = src[:i]
		}
		trimmed := false
		if trimNext {
			text = strings.TrimLeft(text, " \t\r\n")
		} else if trimBlock {
			trimmed = strings.HasPrefix(text, "\n")
			text = strings.TrimPrefix(text, "\n")
		}
		trimNext, trimBlock = false, false
		out = append(out, segment{kind: segText, text: text, line: line, trimmed: trimmed})
		if i < 0 {
			break
		}
		line += strings.Count(src[:i], "\n")
		src = src[i:]
		open := src[:2]
		closer := map[string]string{"{{": "}}", "{%": "%}", "{#": "#}"}[open]
		end := tagEnd(src, closer, open != "{#")
		if end < 0 {
			return nil, fmt.Errorf("line %d: %s without %s", line, open, closer)
		}
		raw := src[:end+2]
		inner := raw[2 : len(raw)-2]
		if strings.HasPrefix(inner, "-") {
			inner = inner[1:]
			last := &out[len(out)-1]
			last.text = strings.TrimRight(last.text, " \t\r\n")
		} else if strings.HasPrefix(inner, "+") {
			inner = inner[1:]
		}
		if strings.HasSuffix(inner, "-") {
			inner = inner[:len(inner)-1]
			trimNext = true
		} else if strings.HasSuffix(inner, "+") {
			inner = inner[:len(inner)-1]
		} else if open != "{{" {
			trimBlock = true
		}
		k := map[string]segKind{"{{": segExpr, "{%": segStmt, "{#": segComment}[open]
		seg := segment{kind: k, text: strings.TrimSpace(inner), raw: raw, line: line}
		out = append(out, seg)
		line += strings.Count(raw, "\n")
		src = src[end+2:]
		if k == segStmt && seg.text == "raw" {
			m := rawEnd.FindStringIndex(src)
			if m == nil {
				return nil, fmt.Errorf("line %d: raw without endraw", line)
			}
			body := src[:m[0]]
			if trimBlock {
				body = strings.TrimPrefix(body, "\n")
			}
			out = append(out, segment{kind: segText, text: body, line: line, raw: "raw"})
			line += strings.Count(src[:m[1]], "\n")
			tag := src[m[0]:m[1]]
			trimBlock = !strings.HasSuffix(tag, "-%}")
			trimNext = strings.HasSuffix(tag, "-%}")
			if strings.HasPrefix(tag, "{%-") {
				out[len(out)-1].text = strings.TrimRight(out[len(out)-1].text, " \t\r\n")
			}
			src = src[m[1]:]
		}
	}
	return out, nil
}

var rawEnd = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

func nextTag(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

// tagEnd finds the closer of the tag at the start of s, skipping string literals and, as
// Jinja's lexer does, the closers inside brackets ({{ {'a': {}} }}).
func tagEnd(s, closer string, strs bool) int {
	var q byte
	depth := 0
	for i := 2; i+1 < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case strs && (c == '\'' || c == '"'):
			q = c
		case strs && (c == '{' || c == '[' || c == '('):
			depth++
		case depth == 0 && s[i:i+2] == closer:
			return i
		case strs && depth > 0 && (c == '}' || c == ']' || c == ')'):
			depth--
		}
	}
	return -1
}

// Options say where the template stands.
type Options struct {
	// Whole: the template is a YAML value, and a template that is exactly one expression
	// keeps the value's type (no str() around it).
	Whole bool
}

// Template translates a Jinja template into a Go template.
func Template(src string, opt Options) Result {
	segs, err := segments(src)
	if err != nil {
		return Result{Text: markerAction(err.Error(), src), Problems: []Problem{{Line: 1, Reason: err.Error()}}}
	}
	keepFinalNewline(segs)
	t := &translator{e: newEmitter()}
	whole := opt.Whole && countNonEmpty(segs) == 1 && onlyExpr(segs)
	for _, s := range segs {
		t.segment(s, whole)
	}
	for len(t.blocks) > 0 {
		b := t.blocks[len(t.blocks)-1]
		t.problem(b.line, "{% "+b.kind+" %} is never closed")
		t.write(markerAction("never closed", "{% "+b.kind+" %}"))
		t.closeBlock()
	}
	t.res.Notes = t.e.notes
	t.res.Text = t.out.String()
	return t.res
}

// keepFinalNewline gives back the newline trim_blocks took after the last tag of a template
// when the text before that tag does not end a line: Ansible's template module adds the
// template's trailing newline back to an output that lacks it.
func keepFinalNewline(segs []segment) {
	n := len(segs)
	if n < 3 || segs[n-1].kind != segText || segs[n-1].text != "" || !segs[n-1].trimmed {
		return
	}
	if prev := segs[n-3]; prev.kind == segText && !strings.HasSuffix(prev.text, "\n") {
		segs[n-1].text = "\n"
	}
}

func onlyExpr(segs []segment) bool {
	for _, s := range segs {
		if s.kind != segText && s.kind != segExpr {
			return false
		}
	}
	return true
}

func countNonEmpty(segs []segment) int {
	n := 0
	for _, s := range segs {
		if s.kind != segText || s.text != "" {
			n++
		}
	}
	return n
}

type block struct {
	kind string // if, for
	line int
	loop *loopInfo
	// hdr is where a for's range header goes, once its body tells whether loop.* is used.
	hdr      int
	target   []string
	sawElse  bool
	rangeSeq string
}

type translator struct {
	e      *emitter
	out    strings.Builder
	parts  []string // pending output while a for's header is not known
	blocks []*block
	res    Result
}

func (t *translator) write(s string) {
	if len(t.parts) > 0 || t.openFor() {
		t.parts = append(t.parts, s)
		return
	}
	t.out.WriteString(s)
}

func (t *translator) openFor() bool {
	for _, b := range t.blocks {
		if b.kind == "for" {
			return true
		}
	}
	return false
}

func (t *translator) problem(line int, reason string) {
	t.res.Problems = append(t.res.Problems, Problem{Line: line, Reason: reason})
}

// markerAction is an untranslated construct, kept visible in the call of Marker.
func markerAction(reason, orig string) string {
	return "{{ " + Marker + " " + quote("untranslated Jinja: "+orig+": "+reason) + " }}"
}

func (t *translator) segment(s segment, whole bool) {
	switch s.kind {
	case segText:
		if s.raw == "raw" && s.text != "" {
			t.write("{{ " + quote(s.text) + " }}")
			return
		}
		t.write(s.text)
	case segComment:
	case segExpr:
		t.expr(s, whole)
	case segStmt:
		t.stmt(s)
	}
}

func (t *translator) expr(s segment, whole bool) {
	n, err := ParseExpr(s.text)
	if err != nil {
		t.untranslated(s, "does not parse as the Jinja subset omsbook convert reads: "+err.Error())
		return
	}
	v, err := t.e.emit(n)
	if err != nil {
		t.untranslated(s, err.Error())
		return
	}
	if !whole && v.k != kString && v.k != kInt {
		v = callK(kString, "str", v)
	}
	t.write("{{ " + unparen(v.s) + " }}")
}

func (t *translator) untranslated(s segment, reason string) {
	t.problem(s.line, fmt.Sprintf("%s: %s", s.raw, reason))
	t.write(markerAction(reason, s.raw))
}

func unparen(s string) string {
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return s
	}
	depth := 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return s // (a).b or (a) (b)
			}
		}
	}
	return s[1 : len(s)-1]
}

var (
	forRe = regexp.MustCompile(`^for\s+([A-Za-z_]\w*)\s*(?:,\s*([A-Za-z_]\w*)\s*)?\s+in\s+(.+)$`)
	setRe = regexp.MustCompile(`^set\s+([A-Za-z_]\w*)\s*=\s*(.+)$`)
)

func (t *translator) stmt(s segment) {
	word, rest, _ := strings.Cut(s.text, " ")
	rest = strings.TrimSpace(rest)
	switch word {
	case "if":
		t.blocks = append(t.blocks, &block{kind: "if", line: s.line})
		t.e.scopes = append(t.e.scopes, &scope{vars: map[string]kind{}})
		t.write("{{ if " + t.cond(s, rest) + " }}")
	case "elif", "else":
		if len(t.blocks) == 0 {
			t.untranslated(s, word+" outside if and for")
			return
		}
		b := t.blocks[len(t.blocks)-1]
		t.endScope()
		t.e.scopes = append(t.e.scopes, &scope{vars: map[string]kind{}})
		switch {
		case word == "else" && b.kind == "for":
			t.forElse(b)
		case word == "else":
			t.write("{{ else }}")
		case b.kind == "if":
			t.write("{{ else if " + t.cond(s, rest) + " }}")
		default:
			t.untranslated(s, "elif inside for")
		}
	case "endif", "endfor":
		if len(t.blocks) == 0 || t.blocks[len(t.blocks)-1].kind != strings.TrimPrefix(word, "end") {
			t.untranslated(s, word+" without its "+strings.TrimPrefix(word, "end"))
			return
		}
		t.closeBlock()
	case "for":
		t.forStmt(s, rest)
	case "set":
		t.setStmt(s)
	case "raw":
		// The text up to endraw follows as a segment of its own.
	default:
		t.untranslated(s, "the statement "+word+" is not translated (only if, elif, else, for, set and raw are)")
	}
}

// cond translates an if's condition; an untranslated one keeps the if's shape, so that the
// blocks still balance, with the marker as its condition.
func (t *translator) cond(s segment, src string) string {
	n, err := ParseExpr(src)
	if err == nil {
		var v val
		if v, err = t.e.emit(n); err == nil {
			return unparen(v.s)
		}
	}
	t.problem(s.line, fmt.Sprintf("%s: %s", s.raw, err))
	return Marker + " " + quote("untranslated Jinja: "+s.raw+": "+err.Error())
}

func (t *translator) endScope() {
	sc := t.e.scopes[len(t.e.scopes)-1]
	t.e.scopes = t.e.scopes[:len(t.e.scopes)-1]
	if !sc.jinja {
		for name := range sc.vars {
			if !t.e.isLocal(name) {
				t.e.dead[name] = true
			}
		}
	}
}

func (t *translator) forStmt(s segment, rest string) {
	b := &block{kind: "for", line: s.line}
	m := forRe.FindStringSubmatch(s.text)
	var seq val
	var err error
	if m == nil {
		err = no("this form of for")
	} else if strings.Contains(m[3], " if ") || strings.HasSuffix(m[3], " recursive") {
		err = no("for with a filter (if) or recursive")
	} else {
		src := m[3]
		if m[2] != "" {
			// for k, v in d.items(): a range over the map (by key in Go).
			if !strings.HasSuffix(strings.TrimSpace(src), ".items()") {
				err = no("for with two names over anything but a mapping's items()")
			} else {
				src = strings.TrimSuffix(strings.TrimSpace(src), ".items()")
			}
		}
		if err == nil {
			var n Node
			if n, err = ParseExpr(src); err == nil {
				seq, err = t.e.emit(n)
			}
		}
	}
	b.loop = &loopInfo{}
	t.e.loopN++
	b.loop.idx = fmt.Sprintf("$i%d", t.e.loopN)
	t.blocks = append(t.blocks, b)
	sc := &scope{vars: map[string]kind{}, jinja: true}
	if err != nil {
		t.problem(s.line, fmt.Sprintf("%s: %s", s.raw, err))
		t.write("{{ range " + Marker + " " + quote("untranslated Jinja: "+s.raw+": "+err.Error()) + " }}")
		b.hdr = -1
	} else {
		if m[2] != "" {
			b.target = []string{m[1], m[2]}
			b.loop.mapLoop = true
			t.e.notes = append(t.e.notes, Problem{Line: s.line, Reason: s.raw + " goes through the mapping by key (a Go map keeps no order; Ansible keeps the order written)"})
		} else {
			b.target = []string{m[1]}
			if seq.k != kList {
				seq = call("elements", seq) // a mapping gives its keys, as Jinja's for does
			}
		}
		b.loop.seq = t.innerSeq(m, seq)
		b.rangeSeq = seq.s
		b.hdr = len(t.parts)
		t.parts = append(t.parts, "")
	}
	for _, name := range b.target {
		sc.vars[name] = kUnknown
	}
	t.e.scopes = append(t.e.scopes, sc)
	t.e.loops = append(t.e.loops, b.loop)
	t.e.ranges++
}

// innerSeq is the loop's sequence as the range's body writes it (the variables as $.x), for
// loop.last and loop.length.
func (t *translator) innerSeq(m []string, outer val) string {
	t.e.ranges++
	defer func() { t.e.ranges-- }()
	n, err := ParseExpr(m[3])
	if err != nil {
		return outer.s
	}
	v, err := t.e.emit(n)
	if err != nil {
		return outer.s
	}
	if v.k != kList {
		v = call("elements", v)
	}
	return v.s
}

func (t *translator) forElse(b *block) {
	b.sawElse = true
	t.write("{{ else }}")
}

func (t *translator) closeBlock() {
	b := t.blocks[len(t.blocks)-1]
	t.blocks = t.blocks[:len(t.blocks)-1]
	t.endScope()
	if b.kind == "for" {
		t.e.loops = t.e.loops[:len(t.e.loops)-1]
		t.e.ranges--
		if b.hdr >= 0 {
			vars := "$" + b.target[0]
			switch {
			case len(b.target) == 2:
				vars = "$" + b.target[0] + ", $" + b.target[1]
			case b.loop.used:
				vars = b.loop.idx + ", $" + b.target[0]
			}
			t.parts[b.hdr] = "{{ range " + vars + " := " + unparen(b.rangeSeq) + " }}"
		}
	}
	t.parts = append(t.parts, "{{ end }}")
	if !t.openFor() {
		for _, p := range t.parts {
			t.out.WriteString(p)
		}
		t.parts = nil
	}
}

func (t *translator) setStmt(s segment) {
	m := setRe.FindStringSubmatch(s.text)
	if m == nil {
		t.untranslated(s, "this form of set (a block set, or several names)")
		return
	}
	n, err := ParseExpr(m[2])
	var v val
	if err == nil {
		v, err = t.e.emit(n)
	}
	if err != nil {
		t.untranslated(s, err.Error())
		return
	}
	op := ":="
	// Inside an if (no Jinja scope) a name the enclosing code declared is assigned, as Jinja
	// does; in a for's body a new one shadows it, as Jinja's loop scope does.
	for i := len(t.e.scopes) - 1; i >= 0; i-- {
		if _, ok := t.e.scopes[i].vars[m[1]]; ok {
			op = "="
			break
		}
		if t.e.scopes[i].jinja {
			break
		}
	}
	if op == ":=" {
		t.e.scopes[len(t.e.scopes)-1].vars[m[1]] = v.k
	} else {
		for i := len(t.e.scopes) - 1; i >= 0; i-- {
			if k, ok := t.e.scopes[i].vars[m[1]]; ok {
				if k != v.k {
					t.e.scopes[i].vars[m[1]] = kUnknown
				}
				break
			}
		}
	}
	delete(t.e.dead, m[1])
	t.write("{{ $" + m[1] + " " + op + " " + unparen(v.s) + " }}")
}

// WholeExpr gives the expression of a template that is exactly one {{ }} (with spaces around
// it at most), and false for any other text.
func WholeExpr(s string) (string, bool) {
	segs, err := segments(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	expr, n := "", 0
	for _, sg := range segs {
		switch {
		case sg.kind == segText && sg.text == "":
		case sg.kind == segExpr:
			expr, n = sg.text, n+1
		default:
			return "", false
		}
	}
	return expr, n == 1
}
