package secret

import (
	"reflect"
	"sync"
	"testing"
)

func TestMask(t *testing.T) {
	var s Set
	s.Add("hunter2-pw")
	s.Add("hunter2-pw-longer") // contains the other: masked whole, not in part
	s.Add("ab")                // too short to mask
	s.Add("")
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"password=hunter2-pw;", "password=********;"},
		{"x hunter2-pw-longer y", "x ******** y"},
		{"ab stays", "ab stays"},
		{"hunter2-pw hunter2-pw", "******** ********"},
	}
	for _, tt := range tests {
		if got := s.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

func TestMaskValue(t *testing.T) {
	var s Set
	s.Add("s3cret!")
	in := map[string]any{
		"stdout": "pw is s3cret!",
		"list":   []any{"s3cret!", 3, map[string]any{"k": "a s3cret! b"}},
		"lines":  []string{"s3cret!"},
		"n":      42,
	}
	want := map[string]any{
		"stdout": "pw is ********",
		"list":   []any{"********", 3, map[string]any{"k": "a ******** b"}},
		"lines":  []string{"********"},
		"n":      42,
	}
	if got := s.MaskValue(in); !reflect.DeepEqual(got, want) {
		t.Errorf("MaskValue = %#v, want %#v", got, want)
	}
	if in["stdout"] != "pw is s3cret!" {
		t.Error("MaskValue changed its input")
	}
}

func TestNilAndEmptySets(t *testing.T) {
	var nilSet *Set
	if got := nilSet.Mask("x"); got != "x" {
		t.Errorf("nil set masked %q", got)
	}
	var empty Set
	if got := empty.Mask("x"); got != "x" {
		t.Errorf("empty set masked %q", got)
	}
}

func TestConcurrentAddAndMask(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); s.Add("value-" + string(rune('a'+i))) }()
		go func() { defer wg.Done(); _ = s.Mask("value-a value-b") }()
	}
	wg.Wait()
	if got := s.Mask("value-a"); got != Mask {
		t.Errorf("Mask after concurrent adds = %q", got)
	}
}
