package omssim

import (
	"strconv"
	"strings"
)

// compareVersions compares dotted versions such as "4.2.2" or "4.2.2-CE" numerically: -1 when
// a < b, 0 when equal, 1 when a > b. A suffix after '-' is ignored.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

func versionParts(v string) []int {
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "V"), "v")
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	var parts []int
	for _, s := range strings.Split(v, ".") {
		n, _ := strconv.Atoi(s)
		parts = append(parts, n)
	}
	return parts
}
