package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/omsbook/omsbook/modules"
)

// SetFact sets variables on the host for later tasks.
type SetFact struct{}

func (SetFact) Name() string { return "set_fact" }

func (SetFact) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Set variables on the host for the tasks that follow",
		Description: "Every key given becomes a variable of the host, with its (rendered) value, " +
			"above play vars and vars_files in precedence (below -e extra vars). Runs on the " +
			"controller and reports ok.",
		CheckMode: "The same as a real run: the variables are set in check mode too, so that " +
			"later conditions see them.",
		Args: []modules.Arg{
			{Name: "cacheable", Type: modules.Bool, Doc: "accepted for Ansible compatibility; omsbook keeps no fact cache"},
		},
		AnyArgs: true,
		Returns: []modules.Field{
			{Name: "ansible_facts", Type: "map", Doc: "the variables that were set"},
		},
		Controller: true,
	}
}

var factName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate requires at least one variable and names usable in templates and expressions.
func (SetFact) Validate(args modules.Args) error {
	n := 0
	for name := range args {
		if name == "cacheable" {
			continue
		}
		if !factName.MatchString(name) {
			return fmt.Errorf("%q is not a valid variable name: use letters, digits and _, not starting with a digit", name)
		}
		n++
	}
	if n == 0 {
		return errors.New("set_fact needs at least one variable: name: value")
	}
	return nil
}

// DefinedVars names the variables set_fact sets: every argument but cacheable.
func (SetFact) DefinedVars(args map[string]any, _ modules.DefineContext) []string {
	var names []string
	for name := range args {
		if name != "cacheable" {
			names = append(names, name)
		}
	}
	return names
}

func (m SetFact) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (m SetFact) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	facts := make(map[string]any, len(args))
	for name, v := range args {
		if name == "cacheable" {
			continue
		}
		facts[name] = v
	}
	shown := make(map[string]any, len(facts))
	for k, v := range facts {
		shown[k] = v
	}
	return modules.Result{Facts: facts, Data: map[string]any{"ansible_facts": shown}}, nil
}
