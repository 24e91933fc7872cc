package builtin

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		line    string
		want    []string
		wantErr string
	}{
		{line: "ls -l /tmp", want: []string{"ls", "-l", "/tmp"}},
		{line: "  echo   a\tb  ", want: []string{"echo", "a", "b"}},
		{line: `echo 'a b' "c d"`, want: []string{"echo", "a b", "c d"}},
		{line: `echo "it's" 'say "hi"'`, want: []string{"echo", "it's", `say "hi"`}},
		{line: `echo a\ b`, want: []string{"echo", "a b"}},
		{line: `echo "a\"b" "c\d" "\$HOME"`, want: []string{"echo", `a"b`, `c\d`, "$HOME"}},
		{line: `echo $HOME '*' | x`, want: []string{"echo", "$HOME", "*", "|", "x"}},
		{line: `echo ''`, want: []string{"echo", ""}},
		{line: `echo a""b`, want: []string{"echo", "ab"}},
		{line: "echo a \\\nb", want: []string{"echo", "a", "b"}},
		{line: "", want: nil},
		{line: `echo 'unterminated`, wantErr: "unterminated ' quote"},
		{line: `echo "unterminated`, wantErr: `unterminated " quote`},
		{line: `echo \`, wantErr: "lone backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := splitCommandLine(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnsibleDelta(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00:00.000000"},
		{1500 * time.Microsecond, "0:00:00.001500"},
		{61*time.Second + 5*time.Millisecond, "0:01:01.005000"},
		{2*time.Hour + 3*time.Minute + 4*time.Second, "2:03:04.000000"},
	}
	for _, tt := range tests {
		if got := ansibleDelta(tt.d); got != tt.want {
			t.Errorf("ansibleDelta(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestOutputLines(t *testing.T) {
	if got := outputLines(""); got == nil || len(got) != 0 {
		t.Fatalf("outputLines(\"\") = %#v, want an empty non-nil list", got)
	}
	if got, want := outputLines("a\r\nb"), []any{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestTrimFinalNewline: stdout and stderr are registered as Ansible's command module gives
// them, without the line breaks at their end (all of them), and nothing else trimmed.
func TestTrimFinalNewline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a\n", "a"},
		{"a\r\n", "a"},
		{"a\n\n", "a"},
		{"a\n\r\n\n", "a"},
		{"\n", ""},
		{"a\nb\n", "a\nb"},
		{"  a  \n", "  a  "},
		{"\na", "\na"},
	}
	for _, tt := range tests {
		if got := trimFinalNewline(tt.in); got != tt.want {
			t.Errorf("trimFinalNewline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
