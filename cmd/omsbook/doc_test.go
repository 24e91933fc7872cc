package main

import (
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules/registry"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		name, in, prefix string
		width            int
		want             string
	}{
		{"fits", "one two three", "", 20, "one two three"},
		{"breaks", "one two three four", "", 9, "one two\nthree\nfour"},
		{"prefix counts", "aaa bbb", "  ", 8, "  aaa\n  bbb"},
		{"paragraphs", "a b\n\nc d", "", 10, "a b\n\nc d"},
		{"joins lines", "a\nb", "", 10, "a b"},
		{"keeps list items", "intro:\n- one\n- two", "", 80, "intro:\n- one\n- two"},
		{"long word alone", "abcdefghij", "", 4, "abcdefghij"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wrap(tc.in, tc.prefix, tc.width); got != tc.want {
				t.Errorf("wrap(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	names := []string{"command", "copy", "shell", "wait_for"}
	for _, tc := range []struct{ in, want string }{
		{"comand", "command"},
		{"shel", "shell"},
		{"wait-for", "wait_for"},
		{"docker_container", ""},
	} {
		if got := closest(tc.in, names); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDocEveryModule renders the list and every module's page, in process, and checks that
// each module documents itself well enough for `omsbook doc`: a summary, a check-mode note,
// and a description for every argument and returned field.
func TestDocEveryModule(t *testing.T) {
	var out, errOut strings.Builder
	if code := Main([]string{"doc"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 0 {
		t.Fatalf("omsbook doc: exit %d: %s", code, errOut.String())
	}
	for _, m := range registry.All() {
		name := m.Name()
		t.Run(name, func(t *testing.T) {
			s := m.Spec()
			if !strings.Contains(out.String(), name+" ") || s.Summary == "" || !strings.Contains(out.String(), s.Summary) {
				t.Errorf("the module list lacks %s with its summary %q", name, s.Summary)
			}
			if s.CheckMode == "" {
				t.Errorf("%s does not say what it does under --check (Spec.CheckMode)", name)
			}
			for _, a := range s.Args {
				if a.Doc == "" {
					t.Errorf("%s: argument %q has no Doc", name, a.Name)
				}
			}
			for _, f := range s.Returns {
				if f.Doc == "" {
					t.Errorf("%s: returned field %q has no Doc", name, f.Name)
				}
			}
			var page, pageErr strings.Builder
			if code := Main([]string{"doc", name}, stdio{in: strings.NewReader(""), out: &page, err: &pageErr}); code != 0 {
				t.Fatalf("omsbook doc %s: exit %d: %s", name, code, pageErr.String())
			}
			for _, want := range []string{name + ": " + s.Summary, "Arguments:", "Returns"} {
				if !strings.Contains(page.String(), want) {
					t.Errorf("omsbook doc %s lacks %q:\n%s", name, want, page.String())
				}
			}
		})
	}
}
