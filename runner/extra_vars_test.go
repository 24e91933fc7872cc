package runner

import (
	"errors"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/yamlsrc"
)

// TestExtraVarsBounded: an alias bomb given with -e, inline or as a k=v value, is refused by
// the bounds every YAML document is held to, before it is decoded.
func TestExtraVarsBounded(t *testing.T) {
	bomb := "[&a [x,x,x,x,x,x,x,x,x], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], [*e,*e,*e,*e,*e,*e,*e,*e,*e]]"
	for _, spec := range []string{"{x: " + bomb + "}", "x=" + bomb} {
		_, err := parseExtraVars([]string{spec})
		if !errors.Is(err, yamlsrc.ErrLimit) || !strings.Contains(err.Error(), "aliases") {
			t.Errorf("-e %.30s...: %v, want refused by the YAML bounds", spec, err)
		}
	}
	// Ordinary values keep their YAML types, and a value that is no YAML stays a string.
	got, err := parseExtraVars([]string{"n=7", "s=a: b", "l=[1, 2]", "{k: v}", "bad=[unclosed"})
	if err != nil || got["n"] != 7 || got["s"] != "a: b" || len(got["l"].([]any)) != 2 || got["k"] != "v" || got["bad"] != "[unclosed" {
		t.Fatalf("parseExtraVars = %v, %v", got, err)
	}
}
