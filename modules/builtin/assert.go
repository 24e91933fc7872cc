package builtin

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Assert fails when a condition does not hold.
type Assert struct{}

func (Assert) Name() string { return "assert" }

func (Assert) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Check that conditions hold, and fail naming the first that does not",
		Description: "Evaluates each expression of `that` (expr language, the same as when) " +
			"against the host's variables, in order. The first one that is false fails the task " +
			"with `fail_msg` (or \"assertion failed: EXPR\"); when all hold the task is ok with " +
			"`success_msg`. Runs on the controller.",
		CheckMode: "The same as a real run: assert only reads variables.",
		Args: []modules.Arg{
			{Name: "that", Type: modules.StringList, Required: true, Cond: true, Doc: "an expression, or a list of them, that must all be true"},
			{Name: "fail_msg", Type: modules.String, Doc: "the message when an expression is false"},
			{Name: "msg", Type: modules.String, Doc: "the same as fail_msg (Ansible's older name)"},
			{Name: "success_msg", Type: modules.String, Default: "All assertions passed", Doc: "the message when all are true"},
			{Name: "quiet", Type: modules.Bool, Default: false, Doc: "leave out the success message"},
		},
		Returns: []modules.Field{
			{Name: "assertion", Type: "string", Doc: "the first expression that was false"},
			{Name: "evaluated_to", Type: "any", Doc: "what that expression gave"},
		},
		Controller: true,
	}
}

func (m Assert) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Assert) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if h.Eval == nil {
		return modules.Result{}, fmt.Errorf("assert: no expression evaluator for host %s", h.Name)
	}
	for _, expr := range args.Strings("that") {
		v, err := h.Eval(expr)
		if err != nil {
			return modules.Fail(fmt.Sprintf("assertion %q could not be evaluated: %v", expr, err), map[string]any{"assertion": expr}), nil
		}
		if !truthy(v) {
			msg := args.String("fail_msg")
			if msg == "" {
				msg = args.String("msg")
			}
			if msg == "" {
				msg = "assertion failed: " + expr
			}
			return modules.Fail(msg, map[string]any{"assertion": expr, "evaluated_to": v}), nil
		}
	}
	res := modules.Result{Data: map[string]any{}}
	if !args.Bool("quiet") {
		res.Msg = args.String("success_msg")
	}
	return res, nil
}

// truthy says whether a value counts as true in a condition: booleans as they are; nil, zero
// numbers, empty strings (and "false", "no", "0"), and empty lists and maps are false.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "", "false", "no", "off", "0":
			return false
		}
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() > 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}
