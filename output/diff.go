package output

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the work of the line diff (lines before x lines after, once the common
// head and tail are cut off); beyond it the changed middle is shown as removed then added.
const maxDiffCells = 4_000_000

// UnifiedDiff compares two texts line by line and returns unified-diff lines ("@@ -a,b +c,d
// @@" hunk headers, then " ", "-" and "+" lines) with context lines of context around each
// change. Equal texts give no lines.
func UnifiedDiff(before, after string, context int) []string {
	if before == after {
		return nil
	}
	a, b := splitLines(before), splitLines(after)
	ops := diffOps(a, b)
	return hunks(ops, context)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// op is one line of an edit script: kind ' ', '-' or '+', and the line's numbers in a and b
// (1-based; for '+' lines ai is the line it follows, for '-' lines bi likewise).
type op struct {
	kind   byte
	text   string
	ai, bi int
}

// diffOps computes an edit script by longest common subsequence on the part between the
// common head and tail, which is all that differs in the usual config-file change.
func diffOps(a, b []string) []op {
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	ma, mb := a[head:len(a)-tail], b[head:len(b)-tail]

	var ops []op
	for i := 0; i < head; i++ {
		ops = append(ops, op{' ', a[i], i + 1, i + 1})
	}
	ops = append(ops, middleOps(ma, mb, head)...)
	for i := 0; i < tail; i++ {
		ai, bi := len(a)-tail+i, len(b)-tail+i
		ops = append(ops, op{' ', a[ai], ai + 1, bi + 1})
	}
	return ops
}

func middleOps(a, b []string, offset int) []op {
	var ops []op
	if len(a)*len(b) > maxDiffCells {
		for i, l := range a {
			ops = append(ops, op{'-', l, offset + i + 1, offset})
		}
		for j, l := range b {
			ops = append(ops, op{'+', l, offset + len(a), offset + j + 1})
		}
		return ops
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], offset + i + 1, offset + j + 1})
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			// Deletions before insertions on a tie, as diff -u shows a replaced line.
			ops = append(ops, op{'-', a[i], offset + i + 1, offset + j})
			i++
		default:
			ops = append(ops, op{'+', b[j], offset + i, offset + j + 1})
			j++
		}
	}
	return ops
}

// hunks groups the changes with their context into unified-diff hunks.
func hunks(ops []op, context int) []string {
	var out []string
	n := len(ops)
	i := 0
	for i < n {
		// Find the next change.
		for i < n && ops[i].kind == ' ' {
			i++
		}
		if i == n {
			break
		}
		start := max(i-context, 0)
		// Extend the hunk while the next change is within 2*context equal lines.
		end := i
		for {
			for end < n && ops[end].kind != ' ' {
				end++
			}
			next := end
			for next < n && ops[next].kind == ' ' {
				next++
			}
			if next < n && next-end <= 2*context {
				end = next
				continue
			}
			end = min(end+context, n)
			break
		}
		out = append(out, hunkHeader(ops[start:end]))
		for _, o := range ops[start:end] {
			out = append(out, string(o.kind)+o.text)
		}
		i = end
	}
	return out
}

func hunkHeader(ops []op) string {
	var aStart, bStart, aLen, bLen int
	for _, o := range ops {
		if o.kind != '+' {
			if aLen == 0 {
				aStart = o.ai
			}
			aLen++
		}
		if o.kind != '-' {
			if bLen == 0 {
				bStart = o.bi
			}
			bLen++
		}
	}
	// An empty side is numbered by the line it follows, as diff -u does.
	if aLen == 0 {
		aStart = ops[0].ai
	}
	if bLen == 0 {
		bStart = ops[0].bi
	}
	return fmt.Sprintf("@@ -%s +%s @@", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
