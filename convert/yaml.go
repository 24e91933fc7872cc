package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/convert/jinja"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

// fileConv converts the YAML documents of one file.
type fileConv struct {
	file string
	rep  *Report
	// role is the part of a role the file is (tasks, handlers, defaults, vars, meta), or "".
	role string
}

func (c *fileConv) problem(n *yaml.Node, format string, a ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{File: c.file, Line: n.Line, Reason: fmt.Sprintf(format, a...)})
}

func (c *fileConv) note(n *yaml.Node, format string, a ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{File: c.file, Line: n.Line, Reason: fmt.Sprintf(format, a...), Note: true})
}

func (c *fileConv) convertYAML(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		docs = append(docs, &d)
	}
	if len(docs) == 0 {
		return data, nil
	}
	for _, d := range docs {
		if len(d.Content) == 1 {
			c.document(d.Content[0])
		}
	}
	return encodeYAML(docs, data)
}

func (c *fileConv) document(root *yaml.Node) {
	switch c.role {
	case "tasks", "handlers":
		c.taskList(root)
		return
	case "defaults", "vars":
		c.deep(root, true)
		return
	case "meta":
		c.deepKeywords(root)
		return
	}
	if root.Kind == yaml.SequenceNode {
		if isPlaybook(root) {
			for _, p := range root.Content {
				c.play(p)
			}
			return
		}
		c.taskList(root)
		return
	}
	c.deep(root, true)
}

func isPlaybook(root *yaml.Node) bool {
	for _, item := range root.Content {
		if item.Kind == yaml.MappingNode && (mapKey(item, "hosts") != nil || mapKey(item, "import_playbook") != nil || mapKey(item, "ansible.builtin.import_playbook") != nil) {
			return true
		}
	}
	return false
}

func mapKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ansibleOnly are play and task keywords of Ansible that omsbook has not: kept, so that
// validate refuses them, and reported.
func (c *fileConv) unknownKey(k *yaml.Node, where string) {
	c.problem(k, "%s %s is not one omsbook reads (kept as it is: validate stops at it)", where, k.Value)
}

func (c *fileConv) play(p *yaml.Node) {
	if p.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		k, v := p.Content[i], p.Content[i+1]
		switch k.Value {
		case "tasks", "pre_tasks", "post_tasks", "handlers":
			c.taskList(v)
		case "roles":
			if v.Kind == yaml.SequenceNode {
				for _, r := range v.Content {
					c.deepKeywords(r)
				}
			}
		case "name":
			c.deep(v, false)
		case "import_playbook", "ansible.builtin.import_playbook":
			k.Value = "import_playbook"
			c.deep(v, false)
		default:
			kw, ok := playbook.LookupKeyword(k.Value)
			if !ok {
				c.unknownKey(k, "the play keyword")
			}
			c.staticTemplate(k, v, kw)
			c.deepKeywords(v)
		}
	}
}

// markedKey is what a key omsbook would not render is renamed to: no keyword, so that
// validate stops at it.
const markedKey = "omsbook_convert_untranslated_"

// unrendered are the keywords omsbook takes as written that Ansible renders (the other Static
// ones are rendered where they are used: loop_control's label, args, include_tasks' file, ...).
var unrendered = map[string]bool{
	"hosts": true, "become": true, "become_user": true, "remote_user": true, "check_mode": true,
	"ignore_errors": true, "no_log": true, "run_once": true, "throttle": true, "retries": true,
	"delay": true, "serial": true, "any_errors_fatal": true, "max_fail_percentage": true,
	"gather_facts": true, "order": true, "strategy": true, "timeout": true, "tags": true,
	"register": true, "force_handlers": true,
}

// staticTemplate marks a keyword that omsbook reads as it is written (Static: hosts,
// become_user, ...) when Ansible would render a template in it: omsbook would take the
// template's text for the value.
func (c *fileConv) staticTemplate(k, v *yaml.Node, kw playbook.Keyword) {
	if kw.Eval != playbook.Static || !unrendered[kw.Name] || !hasJinja(v) {
		return
	}
	c.problem(k, "%s holds a template, which omsbook does not render in %s (write the value itself): the key is renamed %s%s, so that validate stops at it", k.Value, k.Value, markedKey, k.Value)
	k.Value = markedKey + k.Value
}

func hasJinja(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return isJinja(n.Value)
	}
	for _, e := range n.Content {
		if hasJinja(e) {
			return true
		}
	}
	return false
}

func (c *fileConv) taskList(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		return
	}
	for _, t := range n.Content {
		c.task(t)
	}
}

var conditionKeys = map[string]bool{"when": true, "failed_when": true, "changed_when": true, "until": true}

func (c *fileConv) task(t *yaml.Node) {
	if t.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(t.Content); i += 2 {
		k, v := t.Content[i], t.Content[i+1]
		switch {
		case k.Value == "block" || k.Value == "rescue" || k.Value == "always":
			c.taskList(v)
		case conditionKeys[k.Value]:
			c.conditions(v)
		case strings.HasPrefix(k.Value, "with_"):
			c.withLoop(k, v, t, i)
		case k.Value == "name":
			c.deep(v, false)
		default:
			if kw, ok := playbook.LookupKeyword(k.Value); ok {
				c.staticTemplate(k, v, kw)
				c.deep(v, true)
				continue
			}
			c.module(k, v)
		}
	}
}

// module converts a module's key and arguments.
func (c *fileConv) module(k, v *yaml.Node) {
	name := strings.TrimPrefix(strings.TrimPrefix(k.Value, "ansible.builtin."), "ansible.legacy.")
	m, ok := registry.Lookup(name)
	if !ok {
		c.unknownKey(k, "the task keyword or module")
		c.deep(v, true)
		return
	}
	spec := m.Spec()
	if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && spec.FreeForm == "" {
		c.kvArgs(k, v)
	}
	if v.Kind == yaml.ScalarNode {
		c.deep(v, false)
		return
	}
	if v.Kind != yaml.MappingNode {
		c.deep(v, true)
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		an, av := v.Content[i], v.Content[i+1]
		if isCondArg(spec, name, an.Value) {
			c.conditions(av)
			continue
		}
		c.deep(av, true)
	}
}

func isCondArg(spec modules.Spec, module, arg string) bool {
	if module == "debug" && arg == "var" {
		return true
	}
	for _, a := range spec.Args {
		if a.Name == arg {
			return a.Cond
		}
	}
	return false
}

// kvArgs turns name=value arguments into a mapping, each value a string as Ansible reads it.
func (c *fileConv) kvArgs(k, v *yaml.Node) {
	pairs, others, err := playbook.SplitKV(v.Value)
	if err != nil || len(others) > 0 || len(pairs) == 0 {
		why := "it has words that are not name=value"
		if err != nil {
			why = err.Error()
		}
		c.problem(v, "the arguments of %s are not name=value pairs (%s): kept as written", k.Value, why)
		return
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column, HeadComment: v.HeadComment, FootComment: v.FootComment}
	if k.LineComment == "" {
		k.LineComment = v.LineComment // the encoder writes a mapping's line comment nowhere
	}
	at := map[string]int{}
	for _, p := range pairs {
		if i, seen := at[p[0]]; seen {
			m.Content[i+1].Value = p[1] // a name given twice: the last value, as Ansible's parse_kv
			continue
		}
		at[p[0]] = len(m.Content)
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p[0], Line: v.Line},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p[1], Line: v.Line})
	}
	*v = *m
}

// withLoop turns with_items, with_list and with_dict into loop, as Ansible's porting guide
// writes them; the other lookups omsbook runs as they are.
func (c *fileConv) withLoop(k, v, task *yaml.Node, i int) {
	switch k.Value {
	case "with_list":
		k.Value = "loop"
		c.deep(v, true)
	case "with_items":
		c.withItems(k, v)
	case "with_dict":
		c.withDict(k, v)
	case "with_fileglob", "with_sequence", "with_nested", "with_subelements":
		c.deep(v, true)
	default:
		c.unknownKey(k, "the lookup")
	}
	_ = task
	_ = i
}

func (c *fileConv) withItems(k, v *yaml.Node) {
	switch v.Kind {
	case yaml.SequenceNode:
		// A list written out: loop is the same when no item is a list or a template (which
		// with_items would flatten); otherwise omsbook's with_items flattens as Ansible's.
		for _, it := range v.Content {
			if it.Kind == yaml.SequenceNode || it.Kind == yaml.AliasNode || it.Kind == yaml.ScalarNode && isJinja(it.Value) {
				c.deep(v, true)
				return
			}
		}
		k.Value = "loop"
		c.deep(v, true)
	case yaml.ScalarNode:
		expr, ok := jinja.WholeExpr(v.Value)
		if !ok {
			c.deep(v, true) // one string is a list of one, as omsbook's with_items takes it
			return
		}
		k.Value = "loop"
		c.setTemplate(v, "{{ ("+expr+") | flatten(levels=1) }}", true)
	default:
		c.deep(v, true)
	}
}

func (c *fileConv) withDict(k, v *yaml.Node) {
	switch v.Kind {
	case yaml.MappingNode:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		for j := 0; j+1 < len(v.Content); j += 2 {
			item := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: v.Content[j].Line}
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Content[j].Value, Line: v.Content[j].Line}
			item.Content = []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "key"}, key,
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "value"}, v.Content[j+1],
			}
			if v.Content[j+1].Kind != yaml.ScalarNode {
				item.Style = 0
			}
			c.deep(v.Content[j+1], true)
			seq.Content = append(seq.Content, item)
		}
		k.Value = "loop"
		*v = *seq
	case yaml.ScalarNode:
		expr, ok := jinja.WholeExpr(v.Value)
		if !ok {
			c.problem(v, "with_dict over %q, which is no template of a mapping", v.Value)
			return
		}
		k.Value = "loop"
		c.setTemplate(v, "{{ ("+expr+") | dict2items }}", true)
		c.note(v, "with_dict over a variable: omsbook goes through the mapping by key (Ansible: in the order written)")
	default:
		c.deep(v, true)
	}
}

func isJinja(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "{%") }

// deep converts every template string in n; whole says a string that is one expression keeps
// its value's type.
func (c *fileConv) deep(n *yaml.Node, whole bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, e := range n.Content {
			c.deep(e, true)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isJinja(n.Content[i].Value) {
				c.problem(n.Content[i], "a template as a mapping key (%s) is not translated", n.Content[i].Value)
			}
			c.deep(n.Content[i+1], true)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" && isJinja(n.Value) {
			c.setTemplate(n, n.Value, whole)
		}
	}
}

// deepKeywords is deep, with the conditions of role entries and dependencies (when) read as
// conditions.
func (c *fileConv) deepKeywords(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			c.deepKeywords(e)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if conditionKeys[n.Content[i].Value] {
				c.conditions(n.Content[i+1])
				continue
			}
			c.deepKeywords(n.Content[i+1])
		}
	default:
		c.deep(n, true)
	}
}

// setTemplate writes the translation of the Jinja template src into the scalar n.
func (c *fileConv) setTemplate(n *yaml.Node, src string, whole bool) {
	r := jinja.Template(src, jinja.Options{Whole: whole})
	first := n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		first++
	}
	for _, p := range r.Problems {
		c.rep.Problems = append(c.rep.Problems, Problem{File: c.file, Line: first + p.Line - 1, Reason: p.Reason})
	}
	for _, p := range r.Notes {
		c.rep.Problems = append(c.rep.Problems, Problem{File: c.file, Line: first + p.Line - 1, Reason: p.Reason, Note: true})
	}
	setScalar(n, r.Text)
}

func setScalar(n *yaml.Node, s string) {
	n.Value = s
	n.Tag = "!!str"
	// A double-quoted Go template reads better single-quoted; the encoder quotes what a plain
	// scalar cannot hold.
	if n.Style == yaml.DoubleQuotedStyle && strings.Contains(s, `"`) && !strings.ContainsAny(s, "'\n") {
		n.Style = yaml.SingleQuotedStyle
	}
}

// conditions checks a condition or a list of them: omsbook reads Ansible's conditions as they
// are written (is defined, in, and / or / not, | length, ...), so what compiles stays; a
// condition in {{ }} loses its braces; anything else is marked.
func (c *fileConv) conditions(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			c.conditions(e)
		}
		return
	case yaml.ScalarNode:
	default:
		c.problem(n, "a condition that is %s", kindName(n))
		return
	}
	if n.Tag != "!!str" {
		return // true, false, a number
	}
	src := strings.TrimSpace(n.Value)
	if expr, ok := jinja.WholeExpr(src); ok {
		src = strings.TrimSpace(expr)
	}
	reason := ""
	if isJinja(src) {
		reason = "a template inside a condition (write the expression without {{ }})"
	} else if _, err := jinja.ParseExpr(src); err != nil {
		reason = "it does not parse as a Jinja expression: " + err.Error()
	} else if _, err := tmpl.Compile(src, nil); err != nil {
		reason = "omsbook's conditions do not read it: " + err.Error()
	}
	if reason != "" {
		c.problem(n, "the condition %q: %s", n.Value, reason)
		// Two words: a condition that does not parse, which validate refuses at load, showing it.
		setScalar(n, jinja.Marker+" "+strconv.Quote("untranslated Jinja: "+n.Value+": "+reason))
		return
	}
	if src != n.Value {
		setScalar(n, src)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "an alias"
}
