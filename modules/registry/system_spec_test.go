package registry

import "testing"

// TestSystemModuleSpecs checks that every system module is registered and documents itself
// fully: summary, description, check mode, each argument's type and doc, each returned field.
func TestSystemModuleSpecs(t *testing.T) {
	for _, name := range []string{"service", "systemd", "package", "apt", "dnf", "yum", "user", "group", "cron", "authorized_key", "sysctl", "hostname"} {
		t.Run(name, func(t *testing.T) {
			m, ok := Lookup(name)
			if !ok {
				t.Fatalf("%s is not registered", name)
			}
			s := m.Spec()
			if s.Summary == "" || s.Description == "" || s.CheckMode == "" || s.Controller {
				t.Errorf("incomplete spec: %+v", s)
			}
			for _, a := range s.Args {
				if a.Doc == "" || a.Type == "" {
					t.Errorf("argument %q lacks a type or doc", a.Name)
				}
				if a.Default != nil {
					if _, err := a.Type.Coerce(a.Default); err != nil {
						t.Errorf("default of %q does not fit its type: %v", a.Name, err)
					}
				}
			}
			if len(s.Returns) == 0 {
				t.Error("no registered fields documented")
			}
			for _, f := range s.Returns {
				if f.Name == "" || f.Doc == "" {
					t.Errorf("return field %+v lacks a name or doc", f)
				}
			}
		})
	}
}
