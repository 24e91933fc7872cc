package modules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/yamlsrc"
)

// Type is the declared type of a module argument.
type Type string

// The argument types. Values are coerced to: string, int, bool, []any, []string,
// map[string]any, time.Duration, or left as they are (Any).
const (
	String     Type = "string"
	Int        Type = "int"
	Bool       Type = "bool"
	List       Type = "list"
	StringList Type = "list of strings"
	Map        Type = "map"
	Duration   Type = "duration"
	Any        Type = "any"
)

// Spec documents a module: `omsbook doc` prints it and validate checks arguments against it.
type Spec struct {
	Summary     string
	Description string
	// CheckMode says what Check does, for `omsbook doc`.
	CheckMode string
	// FreeForm names the argument a bare string value stands for (`command: ls -l` means
	// `command: {cmd: "ls -l"}`). Empty: the module takes a map only.
	FreeForm string
	Args     []Arg
	Returns  []Field
	// Controller is true for modules that need no connection to the target (debug,
	// set_fact, assert, fail, pause).
	Controller bool
	// AnyArgs accepts argument names the spec does not declare, kept as they are (set_fact
	// takes any variable names). Declared Args are still checked and coerced.
	AnyArgs bool
}

// Arg declares one module argument.
type Arg struct {
	Name     string
	Type     Type
	Required bool
	Default  any
	// Secret values are masked everywhere and never reach an argv.
	Secret  bool
	Choices []string
	Doc     string
	// Cond marks an argument whose strings are conditions in the expr language (assert's
	// that): the runner compiles them and checks the names they use before the first
	// connection, as it does for when.
	Cond bool
}

// Field documents one registered result field.
type Field struct {
	Name string
	Type string
	Doc  string
}

// Arg looks up an argument by name.
func (s Spec) Arg(name string) (Arg, bool) {
	for _, a := range s.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

// Args are a module's arguments after templating and coercion to their declared types.
type Args map[string]any

// Has reports whether the argument was given (or has a default).
func (a Args) Has(name string) bool { _, ok := a[name]; return ok }

// String returns a string argument, "" when absent.
func (a Args) String(name string) string { s, _ := a[name].(string); return s }

// Int returns an int argument, 0 when absent.
func (a Args) Int(name string) int { n, _ := a[name].(int); return n }

// Bool returns a bool argument, false when absent.
func (a Args) Bool(name string) bool { b, _ := a[name].(bool); return b }

// Duration returns a duration argument, 0 when absent.
func (a Args) Duration(name string) time.Duration { d, _ := a[name].(time.Duration); return d }

// List returns a list argument, nil when absent.
func (a Args) List(name string) []any { l, _ := a[name].([]any); return l }

// Strings returns a list-of-strings argument, nil when absent.
func (a Args) Strings(name string) []string { l, _ := a[name].([]string); return l }

// Map returns a map argument, nil when absent.
func (a Args) Map(name string) map[string]any { m, _ := a[name].(map[string]any); return m }

// ScalarString is the text of a scalar value of decoded YAML (a string, number or bool), as
// an argument that takes text reads it; ok is false for maps, lists and nil.
func ScalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// Coerce checks raw arguments (as decoded from YAML and rendered) against the spec: unknown
// names, missing required ones, wrong types and choices are errors; defaults are filled in.
// Values for which deferred reports true (templates that can only be rendered at run time)
// are type-checked later and kept as they are.
func (s Spec) Coerce(raw map[string]any, deferred func(name string, v any) bool) (Args, error) {
	out := make(Args, len(s.Args))
	var unknown []string
	for name, v := range raw {
		if _, ok := s.Arg(name); !ok {
			if s.AnyArgs {
				out[name] = v
				continue
			}
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown argument %s (this module takes: %s)", strings.Join(quoteAll(unknown), ", "), strings.Join(s.argNames(), ", "))
	}
	for _, a := range s.Args {
		v, ok := raw[a.Name]
		if !ok || v == nil {
			if a.Required {
				return nil, fmt.Errorf("missing required argument %q (%s)", a.Name, a.Doc)
			}
			if a.Default != nil {
				out[a.Name] = a.Default
			}
			continue
		}
		if deferred != nil && deferred(a.Name, v) {
			out[a.Name] = v
			continue
		}
		cv, err := a.Type.Coerce(v)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %w", a.Name, err)
		}
		if len(a.Choices) > 0 {
			str := fmt.Sprint(cv)
			found := false
			for _, c := range a.Choices {
				if c == str {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("argument %q is %q; it must be one of: %s", a.Name, str, strings.Join(a.Choices, ", "))
			}
		}
		out[a.Name] = cv
	}
	return out, nil
}

func (s Spec) argNames() []string {
	names := make([]string, len(s.Args))
	for i, a := range s.Args {
		names[i] = a.Name
	}
	return names
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// Coerce converts one value to the type t as Spec.Coerce does each argument's (a number for an
// Int may be written as a string, a single string stands for a list of one); a value that does
// not fit is an error that names both types.
func (t Type) Coerce(v any) (any, error) {
	switch t {
	case Any, "":
		return v, nil
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case uint64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return n, nil
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "on", "1":
				return true, nil
			case "false", "no", "off", "0":
				return false, nil
			}
		}
	case Duration:
		return yamlsrc.Duration(v)
	case List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		}
	case StringList:
		switch x := v.(type) {
		case []string:
			return x, nil
		case string:
			return []string{x}, nil
		case []any:
			out := make([]string, len(x))
			for i, e := range x {
				switch s := e.(type) {
				case string:
					out[i] = s
				case int, int64, float64, bool:
					out[i] = fmt.Sprint(s)
				default:
					return nil, fmt.Errorf("item %d is a %s, want a string", i, yamlsrc.ValueKind(e))
				}
			}
			return out, nil
		}
	case Map:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("want a %s, got a %s (%v)", t, yamlsrc.ValueKind(v), v)
}
