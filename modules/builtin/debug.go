package builtin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/omsbook/omsbook/modules"
)

// Debug shows a message or a variable.
type Debug struct{}

func (Debug) Name() string { return "debug" }

func (Debug) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Show a message or the value of a variable",
		Description: "With `msg` (any value; templates in it are rendered like any argument), the " +
			"task shows it and registers it as msg. With `var`, the expression (usually a variable " +
			"name) is evaluated and registered under that name, as Ansible does. Runs on the controller.",
		CheckMode: "The same as a real run.",
		Args: []modules.Arg{
			{Name: "msg", Type: modules.Any, Doc: "what to show (default \"Hello world!\")"},
			{Name: "var", Type: modules.String, Doc: "a variable name or expression to show (instead of msg)"},
		},
		Returns: []modules.Field{
			{Name: "msg", Type: "any", Doc: "the message, with msg"},
			{Name: "VAR", Type: "any", Doc: "the value, under the name given in var"},
		},
		Controller: true,
	}
}

// Validate forbids giving both msg and var.
func (Debug) Validate(args modules.Args) error {
	if args.Has("msg") && args.Has("var") {
		return fmt.Errorf("give either msg or var, not both")
	}
	return nil
}

func (m Debug) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Debug) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if name := args.String("var"); name != "" {
		if h.Eval == nil {
			return modules.Result{}, fmt.Errorf("debug: no expression evaluator for host %s", h.Name)
		}
		v, err := h.Eval(name)
		if err != nil {
			return modules.Fail(fmt.Sprintf("debug var %q: %v", name, err), nil), nil
		}
		return modules.Result{Msg: name + ": " + showValue(v), Data: map[string]any{name: v}}, nil
	}
	msg, ok := args["msg"]
	if !ok || msg == nil {
		msg = "Hello world!"
	}
	return modules.Result{Msg: showValue(msg), Data: map[string]any{"msg": msg}}, nil
}

// showValue formats a value for a message: strings as they are, anything else as indented JSON.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
