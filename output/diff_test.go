package output

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after string
		context       int
		want          string
	}{
		{name: "equal", before: "a\nb\n", after: "a\nb\n", want: ""},
		{name: "from empty", before: "", after: "a\nb\n", context: 3, want: "@@ -0,0 +1,2 @@\n+a\n+b"},
		{name: "to empty", before: "a\n", after: "", context: 3, want: "@@ -1 +0,0 @@\n-a"},
		{name: "one line changed", before: "a\nb\nc\n", after: "a\nB\nc\n", context: 1, want: "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"},
		{name: "no context", before: "a\nb\nc\n", after: "a\nB\nc\n", context: 0, want: "@@ -2 +2 @@\n-b\n+B"},
		{
			name:    "two hunks",
			before:  "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			after:   "1\nX\n3\n4\n5\n6\n7\nY\n9\n",
			context: 1,
			want:    "@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -7,3 +7,3 @@\n 7\n-8\n+Y\n 9",
		},
		{
			name:    "close changes merge",
			before:  "1\n2\n3\n4\n5\n",
			after:   "1\nX\n3\nY\n5\n",
			context: 1,
			want:    "@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n-4\n+Y\n 5",
		},
		{name: "insert in middle", before: "a\nc\n", after: "a\nb\nc\n", context: 0, want: "@@ -1,0 +2 @@\n+b"},
		{name: "no final newline", before: "a", after: "b", context: 3, want: "@@ -1 +1 @@\n-a\n+b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(UnifiedDiff(tc.before, tc.after, tc.context), "\n")
			if got != tc.want {
				t.Errorf("UnifiedDiff:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestUnifiedDiffLarge(t *testing.T) {
	// Beyond maxDiffCells the middle is shown whole rather than diffed line by line.
	var a, b strings.Builder
	for i := 0; i < 3000; i++ {
		a.WriteString("a line\n")
		b.WriteString("b line\n")
	}
	lines := UnifiedDiff(a.String(), b.String(), 3)
	if len(lines) != 6001 || lines[0] != "@@ -1,3000 +1,3000 @@" {
		t.Fatalf("got %d lines starting %q, want a hunk header and 6000 lines", len(lines), lines[0])
	}
}
