package playbook

import (
	"fmt"
	"slices"
	"strings"
)

// rawOptions are the options Ansible takes out of a free-form command line (command: ls
// chdir=/tmp) when the module declares them; everything else stays the command.
var rawOptions = []string{"chdir", "creates", "removes", "executable", "stdin", "stdin_add_newline", "strip_empty_ends", "warn"}

// word is one word of a free-form string and where it stands in it.
type word struct {
	text       string
	start, end int // byte offsets in the string
}

// splitArgs splits a free-form argument string into words as Ansible does: on white space,
// but not inside single or double quotes or inside a {{ }} template, the quotes kept.
func splitArgs(s string) ([]word, error) {
	var words []word
	var quote byte
	depth := 0 // {{ }} nesting
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		case depth > 0:
			if c == '}' && i+1 < len(s) && s[i+1] == '}' {
				i++
				depth--
			}
			continue
		}
		isSpace := c == ' ' || c == '\t' || c == '\n' || c == '\r'
		if isSpace {
			if start >= 0 {
				words = append(words, word{s[start:i], start, i})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			i++
			depth++
		case c == '"' || c == '\'':
			quote = c
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote", quote)
	}
	if depth > 0 {
		return nil, fmt.Errorf("unclosed {{")
	}
	if start >= 0 {
		words = append(words, word{s[start:], start, len(s)})
	}
	return words, nil
}

// kvWord splits one word written key=value; ok is false for a word that is no such pair.
func kvWord(w string) (key, value string, ok bool) {
	i := strings.IndexByte(w, '=')
	if i <= 0 || !identRe.MatchString(w[:i]) {
		return "", "", false
	}
	return w[:i], decodeEscapes(unquote(w[i+1:])), true
}

// decodeEscapes turns the backslash escapes Ansible decodes in name=value arguments (\n,
// \t, \\, \", ...) into the characters they stand for; others stay as written.
func decodeEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if r, ok := escapes[s[i+1]]; ok {
			b.WriteByte(r)
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var escapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\', '\'': '\'', '"': '"', 'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v'}

// unquote drops one pair of matching outer quotes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// freeFormArgs reads a module's free-form string as Ansible does:
//   - a module without a free-form argument takes name=value pairs only
//     (template: src=a.conf dest=/etc/a.conf mode=0644);
//   - a command-like module (one that declares a raw option: chdir, creates, removes, ...)
//     has those options taken out wherever they stand, the rest, as written, is its command
//     (command: ls -l chdir=/tmp);
//   - another module with a free-form argument takes name=value pairs when every word is
//     one of its arguments (debug: msg="hi"), else the whole string is that argument.
//
// freeForm is "" when the string gave no free-form value.
func freeFormArgs(s string, info ModuleInfo) (args map[string]string, freeForm string, err error) {
	words, err := splitArgs(s)
	if err != nil {
		if info.FreeForm != "" {
			// Not words at all: the whole string is the free form (a template in it that does
			// not parse is reported as one).
			return map[string]string{}, s, nil
		}
		return nil, "", err
	}
	args = map[string]string{}
	declared := func(k string) bool { return slices.Contains(info.Args, k) }
	raw := info.FreeForm != "" && slices.ContainsFunc(info.Args, func(a string) bool { return slices.Contains(rawOptions, a) })
	switch {
	case info.FreeForm == "":
		for _, w := range words {
			k, v, ok := kvWord(w.text)
			if !ok {
				return nil, "", fmt.Errorf("%q is not written as name=value", w.text)
			}
			args[k] = v
		}
		return args, "", nil
	case raw:
		// Cut the options out of the string itself, so that the command keeps its spacing
		// and line breaks.
		var b strings.Builder
		last := 0
		for _, w := range words {
			if k, v, ok := kvWord(w.text); ok && slices.Contains(rawOptions, k) && declared(k) {
				args[k] = v
				b.WriteString(s[last:w.start])
				last = w.end
			}
		}
		b.WriteString(s[last:])
		if len(args) == 0 {
			return args, s, nil
		}
		return args, strings.TrimSpace(b.String()), nil
	}
	for _, w := range words {
		k, v, ok := kvWord(w.text)
		if !ok || !declared(k) {
			return map[string]string{}, s, nil
		}
		args[k] = v
	}
	if len(args) == 0 {
		return args, s, nil
	}
	return args, "", nil
}
