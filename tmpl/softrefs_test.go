package tmpl

import (
	"strings"
	"testing"
)

func TestSoftRefs(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{{ get . "a" }}`, "a"},
		{`{{ get . "a" | default "x" }}`, "a"},
		{`{{ get (get . "t1" | default (dict)) "stdout" }}`, "t1"},
		{`{{ hasKey . "b" }} {{ index . "c" }} {{ index $ "d" }}`, "b,c,d"},
		{`{{ ternary (get . "x") 1 (hasKey . "x") }}`, "x"},
		{`{{ range .items }}{{ get . "name" }}{{ get $ "e" }}{{ end }}`, "e"}, // "." is the item there
		{`{{ get .m "a" }}`, ""},
		{`{{ .a }}`, ""},
		{`no template`, ""},
	}
	for _, tt := range tests {
		got, err := SoftRefs(tt.src)
		if err != nil {
			t.Fatalf("SoftRefs(%q): %v", tt.src, err)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("SoftRefs(%q) = %v, want %s", tt.src, got, tt.want)
		}
	}
}
