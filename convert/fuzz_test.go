package convert

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzConvertYAML: whatever YAML a file holds, converting it does not panic and writes YAML
// that reads back.
func FuzzConvertYAML(f *testing.F) {
	for _, c := range yamlCases {
		f.Add(c.file, c.in)
	}
	f.Add("site.yml", "- hosts: all\n  roles: [{role: x, when: a is defined}]\n  tasks: [{block: [{debug: msg={{ x }}}]}]\n")
	f.Fuzz(func(t *testing.T, file, in string) {
		var orig any
		if len(in) > 1<<14 || yaml.Unmarshal([]byte(in), &orig) != nil {
			return // too big, or no YAML a playbook could be
		}
		fc := &fileConv{file: file, rep: &Report{}, role: roleFile(file)}
		out, err := fc.convertYAML([]byte(in))
		if err != nil {
			return // not YAML
		}
		var v any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("%q converted to %q, which does not read back: %v", in, out, err)
		}
	})
}
