package omsutil

import (
	"strings"
	"testing"
)

func TestLooksSecret(t *testing.T) {
	tests := map[string]bool{"OMS_META_PASSWORD": true, "DB_PASSWD": true, "API_TOKEN": true, "OMS_HOST_IP": false, "IS_UPGRADE": false, "secret_key": true}
	for name, want := range tests {
		if got := LooksSecret(name); got != want {
			t.Errorf("LooksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestObjectMergeKeepsOrderAndUnknownKeys(t *testing.T) {
	const in = `{"enable":true,"enableHost":false,"x":{"a":[1,2]},"refetchStoreIntervalMin":30}`
	tests := []struct {
		name    string
		set     map[string]any
		want    string
		changed bool
	}{
		{"no change", map[string]any{"enable": true}, in, false},
		{"same number", map[string]any{"refetchStoreIntervalMin": 30.0}, in, false},
		{"flip in place", map[string]any{"enable": false}, `{"enable":false,"enableHost":false,"x":{"a":[1,2]},"refetchStoreIntervalMin":30}`, true},
		{"append new key", map[string]any{"perceiveStoreClientCheckpoint": true}, in[:len(in)-1] + `,"perceiveStoreClientCheckpoint":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObject(in)
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			for _, k := range SortedKeys(tt.set) {
				c, err := o.Set(k, tt.set[k])
				if err != nil {
					t.Fatal(err)
				}
				changed = changed || c
			}
			if changed != tt.changed || o.String() != tt.want {
				t.Fatalf("got %v %s, want %v %s", changed, o.String(), tt.changed, tt.want)
			}
		})
	}
}

func TestParseObjectErrors(t *testing.T) {
	for _, in := range []string{``, `[1]`, `{"a":1`, `{"a":1} x`, `"s"`, `{"a":}`} {
		if _, err := ParseObject(in); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
			t.Errorf("ParseObject(%q) error = %v, want malformed JSON", in, err)
		}
	}
}

func TestObjectMapAndPretty(t *testing.T) {
	o, err := ParseObject(`{"b":1,"a":1.5,"c":"s"}`)
	if err != nil {
		t.Fatal(err)
	}
	m := o.Map()
	if m["b"] != 1 || m["a"] != 1.5 || m["c"] != "s" {
		t.Fatalf("Map = %#v", m)
	}
	if got, want := o.Pretty(), "{\n  \"b\": 1,\n  \"a\": 1.5,\n  \"c\": \"s\"\n}\n"; got != want {
		t.Fatalf("Pretty = %q, want %q", got, want)
	}
}
