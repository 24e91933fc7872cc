package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
	"github.com/omsbook/omsbook/yamlsrc"
)

// parseExtraVars turns -e values ("k=v" with a YAML-typed value, "@file.yml", or an inline
// YAML map) into one map; later values win.
func parseExtraVars(specs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, spec := range specs {
		switch {
		case strings.HasPrefix(spec, "@"):
			path := spec[1:]
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("extra vars %s: %w (give -e @FILE with a readable YAML file)", spec, err)
			}
			m, err := decodeVarsYAML(path, data)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				out[k] = normalize(v)
			}
		case strings.HasPrefix(strings.TrimSpace(spec), "{"):
			if err := boundedYAML(spec); err != nil {
				return nil, err
			}
			var m map[string]any
			if err := yaml.Unmarshal([]byte(spec), &m); err != nil {
				return nil, fmt.Errorf("extra vars %q: %w (write -e k=v, -e @file.yml or -e '{k: v}')", spec, err)
			}
			for k, v := range m {
				out[k] = normalize(v)
			}
		default:
			k, v, ok := strings.Cut(spec, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("extra vars %q: want NAME=VALUE (or @file.yml)", spec)
			}
			if err := boundedYAML(v); err != nil {
				return nil, err
			}
			var val any
			if err := yaml.Unmarshal([]byte(v), &val); err != nil || isComplexYAMLFromPlain(v, val) {
				val = v
			}
			if val == nil && v != "" && v != "null" && v != "~" {
				val = v
			}
			if v == "" {
				val = ""
			}
			out[k] = normalize(val)
		}
	}
	return out, nil
}

// isComplexYAMLFromPlain reports whether YAML made a structure out of a value that the user
// most likely meant as a plain string (e.g. "a: b" parsed as a map): only explicit flow
// collections ("[1,2]", "{a: 1}") become structures.
func isComplexYAMLFromPlain(raw string, v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		t := strings.TrimSpace(raw)
		return !(strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{"))
	}
	return false
}

// normalize is yamlsrc.Plain: decoded YAML in the shapes templates and conditions read.
func normalize(v any) any { return yamlsrc.Plain(v) }

// readVarsFile reads one vars_files entry: a YAML map.
func readVarsFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := decodeVarsYAML(path, data)
	if err != nil {
		return nil, err
	}
	normalize(m)
	return m, nil
}

// decodeVarsYAML decodes a file of variables (a vars_files entry, -e @file): a YAML map of
// names to values. A syntax error or another shape is reported at file:line:column, as every
// other bad input is.
func decodeVarsYAML(file string, data []byte) (map[string]any, error) {
	root, err := playbook.ParseYAML(file, data)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return m, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &playbook.Error{Pos: playbook.NodePos(file, root), Msg: fmt.Sprintf("a vars file must be a mapping of names to values, not %s", playbook.KindName(root)), Fix: "write one name: value per line"}
	}
	if err := root.Decode(&m); err != nil {
		return nil, &playbook.Error{Pos: playbook.NodePos(file, root), Msg: "cannot read the variables: " + err.Error(), Fix: "write one name: value per line", Err: err}
	}
	return m, nil
}

// varError is a variable whose template failed to render; name lets the caller point at the
// place the variable is written.
type varError struct {
	name string
	err  error
}

func (e *varError) Error() string { return fmt.Sprintf("variable %q: %v", e.name, e.err) }
func (e *varError) Unwrap() error { return e.err }

// resolveTemplates renders, in place, every value of vars named in eligible that holds a
// template, against vars itself. Values are resolved in dependency order, so a variable may use
// another that is itself a template; a cycle is an error that names it. Only values written in
// inventories, plays and vars files are eligible: a registered command output that happens to
// hold "{{" is data, not a template.
//
// A variable whose template needs a name only known at run time (runtime reports it: a
// register or set_fact name not set yet) is left as written and listed in lazy, in an order
// that respects their dependencies: the runner renders those before each task.
func resolveTemplates(vars map[string]any, eligible map[string]bool, runtime func(string) bool) (lazy []string, err error) {
	var pending []string
	for k := range eligible {
		if v, ok := vars[k]; ok && tmpl.HasTemplate(v) {
			pending = append(pending, k)
		}
	}
	if len(pending) == 0 {
		return nil, nil
	}
	sort.Strings(pending)
	const (
		resolving = 1
		done      = 2
		deferred  = 3
	)
	state := make(map[string]int, len(pending))
	for _, k := range pending {
		state[k] = 0
	}
	var resolve func(name string, chain []string) error
	resolve = func(name string, chain []string) error {
		st, isPending := state[name]
		if !isPending || st == done || st == deferred {
			return nil
		}
		if st == resolving {
			return fmt.Errorf("variables refer to each other in a cycle: %s -> %s (break the cycle)", strings.Join(chain, " -> "), name)
		}
		state[name] = resolving
		isLazy := false
		for _, ref := range valueRefs(vars[name], name) {
			if err := resolve(ref, append(chain, name)); err != nil {
				return err
			}
			if state[ref] == deferred {
				isLazy = true
			} else if _, ok := vars[ref]; !ok && runtime != nil && runtime(ref) {
				isLazy = true
			}
		}
		if !isLazy {
			out, err := tmpl.RenderDeep(vars[name], vars)
			if err == nil {
				vars[name] = out
				state[name] = done
				return nil
			}
			var te *tmpl.Error
			if !errors.As(err, &te) || te.MissingKey == "" || runtime == nil || !runtime(te.MissingKey) {
				return &varError{name: name, err: err}
			}
		}
		state[name] = deferred
		lazy = append(lazy, name)
		return nil
	}
	for _, k := range pending {
		if err := resolve(k, nil); err != nil {
			return nil, err
		}
	}
	return lazy, nil
}

// valueRefs lists the top-level names the templates inside v, the value of variable self,
// depend on: those they refer to, and those they look up softly ({{ get . "name" }}), so that
// a value that copes with a name being absent is still rendered after the task that sets it
// (a soft look-up of self is no dependency: it reads what is there). Templates that do not
// parse refer to nothing here (rendering reports them).
func valueRefs(v any, self string) []string {
	var out []string
	walkStrings(v, func(s string) {
		if refs, err := cachedRefs(s); err == nil {
			out = append(out, refs...)
		}
		if soft, err := tmpl.SoftRefs(s); err == nil {
			for _, name := range soft {
				if name != self {
					out = append(out, name)
				}
			}
		}
	})
	return out
}

// walkStrings calls f for every string inside v.
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case []string:
		for _, e := range x {
			f(e)
		}
	}
}

// copyMap makes a shallow copy with room for extra entries.
func copyMap(m map[string]any, extra int) map[string]any {
	out := make(map[string]any, len(m)+extra)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// relTo resolves path against dir unless it is absolute.
func relTo(dir, path string) string {
	if filepath.IsAbs(path) || dir == "" {
		return path
	}
	return filepath.Join(dir, path)
}

// boundedYAML refuses an -e value past the bounds every YAML document is held to (size,
// aliases, nesting: an alias bomb given on the command line), before it is decoded. A value
// that is not YAML at all is left to the decoding, which takes it as a string.
func boundedYAML(text string) error {
	if _, err := yamlsrc.ParseYAML("-e", []byte(text)); err != nil && errors.Is(err, yamlsrc.ErrLimit) {
		return fmt.Errorf("extra vars: %w", err)
	}
	return nil
}
