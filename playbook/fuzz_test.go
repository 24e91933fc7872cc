package playbook

import (
	"errors"
	"testing"

	"github.com/omsbook/omsbook/yamlsrc"
)

// FuzzPlaybookParse: whatever the bytes, the loader returns a playbook or an *Error with a
// position, and never panics or runs away (the YAML bounds of yamlsrc hold).
func FuzzPlaybookParse(f *testing.F) {
	f.Add([]byte("- hosts: all\n  tasks:\n    - debug: {msg: hi}\n"))
	opts := fakeOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := Parse("fuzz.yml", data, opts)
		if err != nil {
			var pe *yamlsrc.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *yamlsrc.Error: %v", err, err)
			}
			if pe.Pos.File == "" {
				t.Fatalf("error without a file: %v", err)
			}
			return
		}
		if pb == nil {
			t.Fatal("no playbook and no error")
		}
	})
}
