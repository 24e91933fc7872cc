package yamlsrc

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration converts a decoded value to a duration: a Go duration ("10s", "2m"), or a number
// of seconds (a number, or a string holding one). It is the one duration parser of omsbook:
// task keywords (delay, timeout) and module arguments of type duration both use it.
func Duration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return time.Duration(n * float64(time.Second)), nil
		}
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
		return 0, fmt.Errorf("%q is not a duration: write a Go duration such as 10s or 2m, or a number of seconds", x)
	}
	return 0, fmt.Errorf("want a duration (10s, 2m, or seconds), got a %s", ValueKind(v))
}

// ValueKind names the kind of a decoded value for messages: "string", "number", "bool",
// "list", "map", "null" (the Go type for anything else).
func ValueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int64, uint64, float64:
		return "number"
	case []any, []string:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}
