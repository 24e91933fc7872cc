package secret

import (
	"encoding/json"
	"errors"
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

type namedString string

type hostInfo struct {
	Name string `json:"name"`
	Pin  int    `json:"pin"`
}

func TestMaskValueByType(t *testing.T) {
	var s Set
	s.AddAll(map[string]any{"pin": 739164, "pass": "s3cret!", "enabled": true})
	s.Add("true") // a string secret "true" masks strings, never booleans
	pin := 739164
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"int", 739164, Mask},
		{"int64", int64(739164), Mask},
		{"int32", int32(739164), Mask},
		{"uint", uint(739164), Mask},
		{"uint64", uint64(739164), Mask},
		{"float64 as decoded from JSON", float64(739164), Mask},
		{"float64 with a fraction contains it", 739164.25, Mask},
		{"huge float in exponent form", 7.39164e+20, Mask},
		{"float32", float32(739164), Mask},
		{"json.Number", json.Number("739164"), Mask},
		{"number containing the secret", 17391640, Mask},
		{"other number", 73916, 73916},
		{"small number", 42, 42},
		{"bool true stays", true, true},
		{"bool false stays", false, false},
		{"string true is masked", "true", Mask},
		{"text with the number", "pin=739164", "pin=" + Mask},
		{"derived text", "https://u:s3cret!@db/x", "https://u:" + Mask + "@db/x"},
		{"named string", namedString("s3cret!"), Mask},
		{"bytes", []byte("pw s3cret!"), "pw " + Mask},
		{"error", errors.New("login with s3cret! failed"), "login with " + Mask + " failed"},
		{"pointer to int", &pin, Mask},
		{"nil", nil, nil},
		{"[]int with the secret", []int{1, 739164}, []any{1, Mask}},
		{"[]int without it keeps its type", []int{1, 2}, []int{1, 2}},
		{"[]float64", []float64{739164}, []any{Mask}},
		{"map[string]int", map[string]int{"pin": 739164, "n": 5}, map[string]any{"pin": Mask, "n": 5}},
		{"map[string]string", map[string]string{"k": "s3cret!"}, map[string]any{"k": Mask}},
		{"map[int]any", map[int]any{1: 739164}, map[string]any{"1": Mask}},
		{"struct in its JSON form", hostInfo{Name: "hz-1", Pin: 739164}, map[string]any{"name": "hz-1", "pin": Mask}},
		{"struct without secrets stays", hostInfo{Name: "hz-1", Pin: 5}, hostInfo{Name: "hz-1", Pin: 5}},
		{"nested anywhere", map[string]any{
			"results": []any{map[string]any{"rc": 0, "data": []map[string]any{{"pin": 739164, "ok": true}}}},
			"typed":   []map[string]any{{"v": []any{[]int{739164}}}},
		}, map[string]any{
			"results": []any{map[string]any{"rc": 0, "data": []map[string]any{{"pin": Mask, "ok": true}}}},
			"typed":   []map[string]any{{"v": []any{[]any{Mask}}}},
		}},
		{"map keys", map[string]any{"s3cret!": 1, "other": 2}, map[string]any{Mask: 1, "other": 2}},
		{"keys masked alike stay apart", map[string]any{"a s3cret!": 1, "a 739164": 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.MaskValue(tt.in)
			if tt.want == nil && tt.in != nil {
				m, ok := got.(map[string]any)
				if !ok || len(m) != 2 {
					t.Fatalf("MaskValue(%#v) = %#v, want two keys kept apart", tt.in, got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MaskValue(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddAllRegistersNumbersNotBooleans(t *testing.T) {
	var s Set
	s.AddAll(map[string]any{"pin": 739164, "ratio": 0.125, "big": float64(1e21), "on": true, "off": false, "list": []int{4711}, "m": map[string]int{"k": 31337}})
	tests := []struct{ in, want string }{
		{"pin 739164", "pin " + Mask},
		{"ratio 0.125", "ratio " + Mask},
		{"big 1e+21", "big " + Mask},
		{"big 1000000000000000000000", "big " + Mask},
		{"typed list 4711 and map 31337", "typed list " + Mask + " and map " + Mask},
		{"changed: true, failed: false", "changed: true, failed: false"},
	}
	for _, tt := range tests {
		if got := s.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := s.MaskValue(map[string]any{"changed": true}); !reflect.DeepEqual(got, map[string]any{"changed": true}) {
		t.Errorf("a boolean secret masked booleans: %#v", got)
	}
}

func TestMaskValueLeavesInputAlone(t *testing.T) {
	var s Set
	s.AddAll(739164)
	in := map[string]any{"a": []int{739164}, "b": map[string]int{"pin": 739164}}
	_ = s.MaskValue(in)
	if !reflect.DeepEqual(in, map[string]any{"a": []int{739164}, "b": map[string]int{"pin": 739164}}) {
		t.Fatalf("MaskValue changed its input: %#v", in)
	}
	var nilSet *Set
	if got := nilSet.MaskValue(739164); got != 739164 {
		t.Errorf("nil set masked %v", got)
	}
}
