package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/playbook"
)

// TestEveryPerHostKeywordIsChecked holds the promise that everything is checked before the
// first connection: for every keyword the table declares as rendered or evaluated per host,
// and every place it may stand, a playbook that uses it with a name nothing defines is refused
// at load, naming that name. A keyword whose values the check does not walk fails here.
func TestEveryPerHostKeywordIsChecked(t *testing.T) {
	scopes := []struct {
		name  string
		scope playbook.Scope
		pb    string
	}{
		{"play", playbook.InPlay, "- hosts: hz-1\n  %s\n  tasks:\n    - name: t\n      rec: hi\n"},
		{"block", playbook.InBlock, "- hosts: hz-1\n  tasks:\n    - name: b\n      %s\n      block:\n        - name: t\n          rec: hi\n"},
		{"task", playbook.InTask, "- hosts: hz-1\n  tasks:\n    - name: t\n      rec: hi\n      %s\n"},
	}
	checked := 0
	for _, kw := range playbook.AllKeywords() {
		if kw.Eval == playbook.Static {
			continue
		}
		for _, sc := range scopes {
			if kw.Scope&sc.scope == 0 {
				continue
			}
			checked++
			t.Run(kw.Name+"/"+sc.name, func(t *testing.T) {
				var tried []string
				for _, value := range undefinedSamples(kw.Eval) {
					pb := fmt.Sprintf(sc.pb, kw.Name+": "+value)
					_, err := loadEnv(t, pb, Options{}, nil)
					if err != nil && strings.Contains(err.Error(), "nope_undefined") {
						return
					}
					tried = append(tried, fmt.Sprintf("%s: %v", value, err))
				}
				t.Fatalf("%s in a %s with an undefined name was not refused at load naming it:\n%s", kw.Name, sc.name, strings.Join(tried, "\n"))
			})
		}
	}
	if checked < 8 {
		t.Fatalf("only %d keyword places are rendered per host: the table lost its kinds", checked)
	}
}

// undefinedSamples are values of a keyword of kind e that use the undefined name nope_undefined,
// in the shapes such a keyword may take (a mapping, a list, a scalar).
func undefinedSamples(e playbook.Eval) []string {
	const tmplRef = `"{{ .nope_undefined }}"`
	switch e {
	case playbook.Condition, playbook.ResultCondition:
		return []string{"nope_undefined == 1"}
	case playbook.Vars:
		return []string{"{v: " + tmplRef + "}"}
	case playbook.Items, playbook.HostName:
		return []string{tmplRef}
	}
	return []string{"{K: " + tmplRef + "}", "[" + tmplRef + "]", tmplRef}
}
