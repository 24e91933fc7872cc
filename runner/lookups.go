package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

// This file is the loops: loop: a list, and the with_X lookups Ansible playbooks are written
// with, each giving the items Ansible's lookup of that name gives.

// loopValue is the task's loop, whichever keyword wrote it.
func (s *settings) loopValue() (kwValue, bool) {
	for _, v := range s.values {
		if v.kw.Eval == playbook.Items {
			return v, true
		}
	}
	return kwValue{}, false
}

// loopItems renders a loop to its list of items.
func loopItems(loop kwValue, vars map[string]any) ([]any, error) {
	pos, kind := loop.val.Pos, strings.TrimPrefix(loop.kw.Name, "with_")
	var v any
	var err error
	if s, ok := loop.val.V.(string); ok {
		v, err = tmpl.Render(s, vars)
	} else {
		v, err = tmpl.RenderDeep(loop.val.V, vars)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", pos, loop.kw.Name, err)
	}
	items, err := lookupItems(kind, v, vars)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", pos, loop.kw.Name, err)
	}
	return items, nil
}

// lookupItems gives the items of a rendered loop value: loop and with_list as they are,
// with_items flattened one level, with_dict as {key, value} by key, with_fileglob the
// matching files, with_sequence numbers, with_nested every combination, with_subelements
// each element with each element of its key.
func lookupItems(kind string, v any, vars map[string]any) ([]any, error) {
	switch kind {
	case "dict":
		if l, ok := v.([]any); ok && keyValueItems(l) {
			return l, nil // a mapping written in the task: its items in the order written
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("wants a mapping, not %T", v)
		}
		// A mapping from a variable has no order kept: its items go by key.
		return tmpl.DictItems(m), nil
	case "sequence":
		return sequenceItems(fmt.Sprint(v))
	case "fileglob":
		return fileglobItems(v, vars)
	}
	l, ok := toList(v)
	if !ok {
		if s, isString := v.(string); isString && (kind == "items" || kind == "list") {
			return []any{s}, nil // with_items: one string is a list of one, as Ansible takes it
		}
		return nil, fmt.Errorf("gives a %T, not a list", v)
	}
	switch kind {
	case "items":
		var out []any
		for _, e := range l {
			if inner, ok := toList(e); ok && e != nil {
				out = append(out, inner...)
				continue
			}
			out = append(out, e)
		}
		return out, nil
	case "nested":
		return nestedItems(l)
	case "subelements":
		return subelementItems(l)
	}
	return l, nil
}

// nestedItems is every combination of the lists, the first varying slowest.
func nestedItems(lists []any) ([]any, error) {
	out := []any{[]any{}}
	for _, l := range lists {
		items, ok := toList(l)
		if !ok {
			return nil, fmt.Errorf("wants a list of lists, and %v is no list", l)
		}
		var next []any
		for _, prefix := range out {
			for _, e := range items {
				combo := append(append([]any(nil), prefix.([]any)...), e)
				next = append(next, combo)
			}
		}
		out = next
	}
	return out, nil
}

// subelementItems takes [list, key] or [list, key, {skip_missing: true}].
func subelementItems(args []any) ([]any, error) {
	if len(args) < 2 || len(args) > 3 {
		return nil, fmt.Errorf("wants [list, key] or [list, key, {skip_missing: true}]")
	}
	parents, ok := toList(args[0])
	key, isString := args[1].(string)
	if !ok || !isString {
		return nil, fmt.Errorf("wants a list of mappings and the name of a key of theirs")
	}
	skip := false
	if len(args) == 3 {
		if m, ok := args[2].(map[string]any); ok {
			skip, _ = m["skip_missing"].(bool)
		}
	}
	var out []any
	for _, p := range parents {
		m, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is no mapping", p)
		}
		sub, present := m[key]
		if !present {
			if skip {
				continue
			}
			return nil, fmt.Errorf("%q is missing from an element (add {skip_missing: true} to skip those)", key)
		}
		subs, ok := toList(sub)
		if !ok {
			return nil, fmt.Errorf("%q of an element is no list", key)
		}
		// As Ansible: the element comes without the key it was split on.
		parent := make(map[string]any, len(m))
		for k, v := range m {
			if k != key {
				parent[k] = v
			}
		}
		for _, s := range subs {
			out = append(out, []any{parent, s})
		}
	}
	return out, nil
}

// sequenceItems reads Ansible's sequence: start=1 end=10 stride=2 format=web%02d, count=N,
// or the short form 1-10/2:web%02d; the items are strings, as Ansible gives them.
func sequenceItems(spec string) ([]any, error) {
	start, end, stride, count, format := 1, 0, 1, -1, "%d"
	hasEnd := false
	num := func(s string) (int, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		return int(n), err
	}
	spec = strings.TrimSpace(spec)
	if spec != "" && !strings.Contains(spec, "=") {
		// start-end/stride:format
		if i := strings.Index(spec, ":"); i >= 0 {
			spec, format = spec[:i], spec[i+1:]
		}
		if i := strings.Index(spec, "/"); i >= 0 {
			s, err := num(spec[i+1:])
			if err != nil {
				return nil, fmt.Errorf("bad stride in %q", spec)
			}
			spec, stride = spec[:i], s
		}
		a, b, ok := strings.Cut(spec, "-")
		var err1, err2 error
		if start, err1 = num(a); ok {
			end, err2 = num(b)
			hasEnd = true
		} else {
			end, start, hasEnd = start, 1, true
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("cannot read %q: write start=1 end=10 or 1-10", spec)
		}
	} else {
		for _, w := range strings.Fields(spec) {
			k, v, _ := strings.Cut(w, "=")
			var err error
			switch k {
			case "start":
				start, err = num(v)
			case "end":
				end, err = num(v)
				hasEnd = true
			case "stride":
				stride, err = num(v)
			case "count":
				count, err = num(v)
			case "format":
				format = v
			default:
				return nil, fmt.Errorf("unknown option %q (start, end, stride, count, format)", k)
			}
			if err != nil {
				return nil, fmt.Errorf("%s=%s is no number", k, v)
			}
		}
	}
	if count >= 0 {
		if hasEnd {
			return nil, fmt.Errorf("give end or count, not both")
		}
		end, hasEnd = start+(count-1)*stride, true
		if count == 0 {
			return []any{}, nil
		}
	}
	if !hasEnd {
		return nil, fmt.Errorf("give end= or count=")
	}
	if stride == 0 || (stride > 0) != (end >= start) && end != start {
		return nil, fmt.Errorf("stride %d never gets from %d to %d", stride, start, end)
	}
	const most = 100000
	var out []any
	for i := start; (stride > 0 && i <= end) || (stride < 0 && i >= end); i += stride {
		if len(out) == most {
			return nil, fmt.Errorf("more than %d items", most)
		}
		out = append(out, fmt.Sprintf(format, i))
	}
	return out, nil
}

// fileglobItems matches controller files (not directories) as Ansible's fileglob does: a
// relative pattern in the role's files/ first, then the playbook's files/ and its directory.
func fileglobItems(v any, vars map[string]any) ([]any, error) {
	var patterns []string
	switch x := v.(type) {
	case string:
		patterns = []string{x}
	default:
		l, ok := toList(v)
		if !ok {
			return nil, fmt.Errorf("wants a pattern or a list of them")
		}
		for _, e := range l {
			patterns = append(patterns, fmt.Sprint(e))
		}
	}
	var dirs []string
	if role, _ := vars["role_path"].(string); role != "" {
		dirs = append(dirs, filepath.Join(role, "files"), role)
	}
	if pb, _ := vars["playbook_dir"].(string); pb != "" {
		dirs = append(dirs, filepath.Join(pb, "files"), pb)
	}
	out := []any{}
	for _, pat := range patterns {
		cands := []string{pat}
		if !filepath.IsAbs(pat) {
			cands = nil
			for _, d := range dirs {
				cands = append(cands, filepath.Join(d, pat))
			}
		}
		for _, c := range cands {
			matches, err := filepath.Glob(c)
			if err != nil {
				return nil, fmt.Errorf("bad pattern %q: %v", pat, err)
			}
			found := false
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && !st.IsDir() {
					out = append(out, m)
					found = true
				}
			}
			if found {
				break // the first directory with matches wins, as Ansible's search does
			}
		}
	}
	return out, nil
}

// isLoopVar reports whether name is one of the variables a loop sets for each item: the loop
// variable, loop_control's index_var, and ansible_loop with extended.
func (tp *taskPlan) isLoopVar(name string) bool {
	t := tp.t
	return name == tp.loopVar || (t.LoopIndexVar != "" && name == t.LoopIndexVar) || (t.LoopExtended && name == "ansible_loop")
}

// itemVars are the variables a loop sets for item i of items: the loop variable, index_var,
// and with extended, ansible_loop as Ansible fills it.
func (tp *taskPlan) itemVars(items []any, i int) map[string]any {
	t := tp.t
	out := map[string]any{tp.loopVar: items[i]}
	if t.LoopIndexVar != "" {
		out[t.LoopIndexVar] = i
	}
	if t.LoopExtended {
		n := len(items)
		ext := map[string]any{"index": i + 1, "index0": i, "revindex": n - i, "revindex0": n - i - 1,
			"first": i == 0, "last": i == n-1, "length": n, "allitems": items}
		if i > 0 {
			ext["previtem"] = items[i-1]
		}
		if i < n-1 {
			ext["nextitem"] = items[i+1]
		}
		out["ansible_loop"] = ext
	}
	return out
}

// itemLabel is how output shows an item: loop_control's label rendered for it, or the item.
func (tp *taskPlan) itemLabel(item any, vars map[string]any) any {
	if tp.t.LoopLabel == nil {
		return item
	}
	if out, err := tmpl.RenderString(fmt.Sprint(tp.t.LoopLabel.V), vars); err == nil {
		return out
	}
	return item
}

// keyValueItems reports whether l is a mapping already turned into {key, value} items.
func keyValueItems(l []any) bool {
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok || len(m) != 2 {
			return false
		}
		if _, ok := m["key"]; !ok {
			return false
		}
		if _, ok := m["value"]; !ok {
			return false
		}
	}
	return true
}
