// Package shellquote quotes words for a POSIX shell (sh, dash, bash, busybox ash). It is the
// one quoting rule of omsbook: the ssh transport, the modules, the shquote template function
// and the resume hint all quote with it.
package shellquote

import "strings"

// Quote puts s in single quotes, so that the shell passes it on as one word whatever it holds:
// nothing inside single quotes is special, and each single quote of s ends the quoted part, is
// escaped with a backslash and starts the next one.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteIfNeeded leaves a word made only of characters no shell treats specially (ASCII letters
// and digits and - _ . / : = @ % + ,) as it is, which keeps command lines readable, and quotes
// any other word, the empty one included, with Quote.
func QuoteIfNeeded(s string) string {
	if s == "" || strings.IndexFunc(s, special) >= 0 {
		return Quote(s)
	}
	return s
}

// special reports whether r may mean something to the shell outside quotes.
func special(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
}

// Join quotes every word with QuoteIfNeeded and joins them with spaces into one command line.
func Join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = QuoteIfNeeded(w)
	}
	return strings.Join(q, " ")
}
