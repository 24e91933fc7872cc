package main

import "testing"

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
