package jinja

import (
	"strings"
	"testing"

	"github.com/omsbook/omsbook/tmpl"
)

// FuzzTemplate: whatever the input, the translator does not panic, a translation without
// problems is a Go template that parses, and one with problems carries the marker.
func FuzzTemplate(f *testing.F) {
	for _, c := range exprCases {
		f.Add(c.jinja)
	}
	for _, c := range templateCases {
		f.Add(c.jinja)
	}
	f.Add("{% for a in b %}{% if x %}{% endfor %}{% endif %}")
	f.Add("{{ '}}' }} {% raw %}{{{% endraw %} {# {{ #}")
	f.Fuzz(func(t *testing.T, src string) {
		r := Template(src, Options{})
		if len(r.Problems) > 0 {
			if !strings.Contains(r.Text, Marker) {
				t.Fatalf("%q: problems %v but no marker in %q", src, r.Problems, r.Text)
			}
			return
		}
		if _, err := tmpl.Refs(r.Text); err != nil {
			t.Fatalf("%q translated to %q, which does not parse: %v", src, r.Text, err)
		}
	})
}
