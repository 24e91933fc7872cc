package registry

import (
	"testing"
)

// TestGenericModuleSpecs checks that every generic module is registered under its name and
// documents itself fully, since `omsbook doc` and validate rely on the Spec alone.
func TestGenericModuleSpecs(t *testing.T) {
	controller := map[string]bool{"assert": true, "debug": true, "set_fact": true, "fail": true, "pause": true}
	freeForm := map[string]string{"command": "cmd", "shell": "cmd"}
	for _, name := range []string{"command", "shell", "copy", "fetch", "stat", "template", "assert", "debug", "set_fact", "fail", "pause", "wait_for", "expect"} {
		t.Run(name, func(t *testing.T) {
			m, ok := Lookup(name)
			if !ok {
				t.Fatalf("%s is not registered", name)
			}
			s := m.Spec()
			if s.Summary == "" || s.Description == "" || s.CheckMode == "" {
				t.Errorf("summary, description or check-mode text missing: %+v", s)
			}
			if s.Controller != controller[name] {
				t.Errorf("Controller = %v, want %v", s.Controller, controller[name])
			}
			if s.FreeForm != freeForm[name] {
				t.Errorf("FreeForm = %q, want %q", s.FreeForm, freeForm[name])
			}
			seen := map[string]bool{}
			for _, a := range s.Args {
				if a.Doc == "" || a.Type == "" {
					t.Errorf("argument %q lacks a type or doc", a.Name)
				}
				if seen[a.Name] {
					t.Errorf("argument %q declared twice", a.Name)
				}
				seen[a.Name] = true
				if a.Default != nil {
					if _, err := a.Type.Coerce(a.Default); err != nil {
						t.Errorf("default of %q does not fit its type: %v", a.Name, err)
					}
				}
			}
			for _, f := range s.Returns {
				if f.Name == "" || f.Doc == "" {
					t.Errorf("return field %+v lacks a name or doc", f)
				}
			}
			if s.FreeForm != "" {
				if _, ok := s.Arg(s.FreeForm); !ok {
					t.Errorf("free-form argument %q is not declared", s.FreeForm)
				}
			}
		})
	}
}
