package shellquote

import (
	"os/exec"
	"strings"
	"testing"
)

var words = []struct{ in, quoted, ifNeeded string }{
	{"", "''", "''"},
	{"abc", "'abc'", "abc"},
	{"/usr/bin/x", "'/usr/bin/x'", "/usr/bin/x"},
	{"/data/x.sql", "'/data/x.sql'", "/data/x.sql"},
	{"k=v,x", "'k=v,x'", "k=v,x"},
	{"user@host:22", "'user@host:22'", "user@host:22"},
	{"50%+1", "'50%+1'", "50%+1"},
	{"a b", "'a b'", "'a b'"},
	{"it's", `'it'\''s'`, `'it'\''s'`},
	{"''", `''\'''\'''`, `''\'''\'''`},
	{"$HOME", "'$HOME'", "'$HOME'"},
	{"`id`", "'`id`'", "'`id`'"},
	{"$(id)", "'$(id)'", "'$(id)'"},
	{"a;b", "'a;b'", "'a;b'"},
	{"a|b&c", "'a|b&c'", "'a|b&c'"},
	{"*", "'*'", "'*'"},
	{"~root", "'~root'", "'~root'"},
	{"x\ny", "'x\ny'", "'x\ny'"},
	{"tab\there", "'tab\there'", "'tab\there'"},
	{`back\slash`, `'back\slash'`, `'back\slash'`},
	{"été", "'été'", "'été'"},
}

func TestQuote(t *testing.T) {
	for _, tt := range words {
		if got := Quote(tt.in); got != tt.quoted {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.quoted)
		}
		if got := QuoteIfNeeded(tt.in); got != tt.ifNeeded {
			t.Errorf("QuoteIfNeeded(%q) = %s, want %s", tt.in, got, tt.ifNeeded)
		}
	}
}

// TestQuotedWordsReachTheProgram runs the quoted words through the machine's /bin/sh and checks
// that each arrives as one word, unchanged.
func TestQuotedWordsReachTheProgram(t *testing.T) {
	var in []string
	for _, tt := range words {
		in = append(in, tt.in)
	}
	for name, line := range map[string]string{
		"Join":  Join(in...),
		"Quote": strings.Join(apply(Quote, in), " "),
	} {
		out, err := exec.Command("/bin/sh", "-c", "set -- "+line+`; for w in "$@"; do printf '%s\0' "$w"; done`).Output()
		if err != nil {
			t.Fatalf("%s: /bin/sh: %v", name, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if strings.Join(got, "\x00") != strings.Join(in, "\x00") {
			t.Errorf("%s: the shell saw %q, want %q", name, got, in)
		}
	}
}

func apply(f func(string) string, in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
