package registry

import "testing"

// TestOMSModuleSpecs checks what validate and doc rely on: every OMS module is registered,
// its argument names are unique, passwords and DSNs are secret, and defaults pass Coerce.
func TestOMSModuleSpecs(t *testing.T) {
	for _, name := range []string{"docker_image", "docker_container", "mysqldump", "mysql_exec", "oms_param", "wait_online"} {
		t.Run(name, func(t *testing.T) {
			m, ok := Lookup(name)
			if !ok {
				t.Fatalf("%s is not registered", name)
			}
			spec := m.Spec()
			if spec.Summary == "" || spec.CheckMode == "" || len(spec.Returns) == 0 {
				t.Errorf("%s: summary, check mode and returns must be documented", name)
			}
			seen := map[string]bool{}
			for _, a := range spec.Args {
				if seen[a.Name] {
					t.Errorf("%s: argument %q declared twice", name, a.Name)
				}
				seen[a.Name] = true
				if a.Doc == "" {
					t.Errorf("%s: argument %q has no doc", name, a.Name)
				}
				if (a.Name == "password" || a.Name == "dsn") && !a.Secret {
					t.Errorf("%s: argument %q must be secret", name, a.Name)
				}
				if a.Default != nil {
					if _, err := a.Type.Coerce(a.Default); err != nil {
						t.Errorf("%s: default of %q does not fit its type: %v", name, a.Name, err)
					}
				}
			}
			if _, err := spec.Coerce(map[string]any{"no_such_argument": 1}, nil); err == nil {
				t.Errorf("%s: an unknown argument was accepted", name)
			}
		})
	}
}
