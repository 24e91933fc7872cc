package modules

import (
	"reflect"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var got []string
	w := NewLineWriter("stdout", func(stream, line string) { got = append(got, stream+":"+line) })
	for _, chunk := range []string{"one\r\ntw", "o\n", "", "thr", "ee"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"stdout:one", "stdout:two"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("before flush: %q, want %q", got, want)
	}
	w.Flush()
	if want := []string{"stdout:one", "stdout:two", "stdout:three"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after flush: %q, want %q", got, want)
	}
}
