package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

const undefinedFix = "define it in the inventory vars, the play's vars or vars_files, with register or set_fact in an earlier task, or with -e"

// templateSyntaxFix is the hint for a template that does not parse (a typo, an unknown function).
const templateSyntaxFix = "write Go template syntax such as {{ .name }} or {{ .name | upper }}; the functions are sprig's plus env, now, shquote, toYaml, fromYaml, toJson, fromJson and collect"

// templateValueFix is the hint for a template that parses but fails on the values it is given.
const templateValueFix = "check the types of the values the template uses and the arguments of the functions it calls"

// fixFor is the hint for an error met while rendering or checking a template or condition:
// define the variable when one is missing, else correct the template. Telling a user to define
// a variable for a syntax error sends them looking in the wrong place.
func fixFor(err error) string {
	var te *tmpl.Error
	if errors.As(err, &te) && te.MissingKey == "" {
		if te.Parse {
			return templateSyntaxFix
		}
		return templateValueFix
	}
	return undefinedFix
}

// checker checks one host's view of a task: templates render (or refer only to names that
// exist at run time), arguments coerce to the module's types, conditions refer to known names,
// delegate_to names a host.
type checker struct {
	p    *plan
	tp   *taskPlan
	host string
	vars map[string]any // the host's play vars plus the task's vars
	// lazy are variables of this host and task only known at run time: play or task vars
	// whose templates use register or set_fact names.
	lazy map[string]bool
}

// hostCheck is one host's view of a play while checking.
type hostCheck struct {
	h    *inventory.Host
	vars map[string]any
	lazy map[string]bool
}

// checkTasks checks tasks (recursively through blocks) for one host.
func (p *plan) checkTasks(pp *playPlan, tasks []*taskPlan, hc *hostCheck) error {
	for _, tp := range tasks {
		if tp.t.IsBlock() {
			for _, list := range [][]*taskPlan{tp.block, tp.rescue, tp.always} {
				if err := p.checkTasks(pp, list, hc); err != nil {
					return err
				}
			}
			continue
		}
		if !tp.selected {
			continue
		}
		if err := p.checkTask(pp, tp, hc); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) checkTask(pp *playPlan, tp *taskPlan, hc *hostCheck) error {
	t, h := tp.t, hc.h
	c := &checker{p: p, tp: tp, host: h.Name, vars: hc.vars, lazy: hc.lazy}
	if len(tp.vars) > 0 {
		c.vars = copyMap(hc.vars, len(tp.vars))
		for _, k := range tp.varOrder {
			v := tp.vars[k]
			deferred, err := c.classifyValue(v.V, t.Loop != nil)
			if err != nil {
				return taskError(t, v.Pos, h.Name, fmt.Sprintf("vars %q: %v", k, err), fixFor(err), err)
			}
			if deferred {
				// Known at run time only: templates that use it are checked then.
				delete(c.vars, k)
				c.lazy = copyBoolMap(c.lazy)
				c.lazy[k] = true
				continue
			}
			r, later, err := c.renderIfStatic(normalize(v.V))
			if err != nil {
				return taskError(t, v.Pos, h.Name, fmt.Sprintf("vars %q: %v", k, err), fixFor(err), err)
			}
			if later {
				delete(c.vars, k)
				c.lazy = copyBoolMap(c.lazy)
				c.lazy[k] = true
				continue
			}
			c.vars[k] = r
		}
	}
	if t.Loop != nil {
		d, err := c.classifyValue(t.Loop.V, false)
		if err != nil {
			return taskError(t, t.Loop.Pos, h.Name, "loop: "+err.Error(), fixFor(err), err)
		}
		if s, ok := t.Loop.V.(string); ok && !d {
			r, err := tmpl.Render(s, c.vars)
			if err != nil {
				return taskError(t, t.Loop.Pos, h.Name, "loop: "+err.Error(), fixFor(err), err)
			}
			if _, ok := toList(r); !ok {
				return taskError(t, t.Loop.Pos, h.Name, fmt.Sprintf("loop: %q gives a %T, not a list", s, r), "give loop a list, or a template that renders to one", nil)
			}
		}
	}

	// Module arguments: render what can be rendered now, defer what needs run-time names.
	// Once one host passed the full check of a task whose templated arguments are all declared
	// strings without choices, the other hosts only need their templates rendered: coercion
	// and the Validator would see the same shape. A module with template files has them
	// rendered for every host, so it is always checked in full.
	_, hasTemplateFiles := tp.mod.(modules.TemplateFiler)
	if hasTemplateFiles || !tp.argsShapeChecked || c.renderArgsOnly() != nil {
		if err := c.checkArgs(); err != nil {
			return err
		}
		tp.argsShapeChecked = tp.argsStringShaped
	}

	// Conditions.
	for _, progs := range []struct {
		list       []*tmpl.Program
		vals       []playbook.Value
		withResult bool
	}{
		{tp.when, t.When, false},
		{tp.failedWhen, t.FailedWhen, true},
		{tp.changedWhen, t.ChangedWhen, true},
	} {
		for i, prog := range progs.list {
			if err := c.checkCond(prog, progs.withResult); err != nil {
				return taskError(t, progs.vals[i].Pos, h.Name, err.Error(), fixFor(err), err)
			}
		}
	}
	if tp.until != nil {
		if err := c.checkCond(tp.until, true); err != nil {
			return taskError(t, t.Until.Pos, h.Name, err.Error(), fixFor(err), err)
		}
	}

	// delegate_to must name a host.
	if t.DelegateTo != nil {
		d, err := c.classifyValue(t.DelegateTo.V, t.Loop != nil)
		if err != nil {
			return taskError(t, t.DelegateTo.Pos, h.Name, "delegate_to: "+err.Error(), fixFor(err), err)
		}
		if !d {
			name, err := renderHostName(t.DelegateTo.V, c.vars)
			if err != nil {
				return taskError(t, t.DelegateTo.Pos, h.Name, "delegate_to: "+err.Error(), fixFor(err), err)
			}
			if _, ok := p.hostByName[name]; !ok {
				return taskError(t, t.DelegateTo.Pos, h.Name, fmt.Sprintf("delegate_to %q: no such host in the inventory", name),
					"name a node of the inventory or localhost", nil)
			}
		}
	}

	// environment values are templates too.
	for _, env := range []map[string]playbook.Value{pp.play.Environment, t.Environment} {
		for k, v := range env {
			if _, err := c.classifyValue(v.V, t.Loop != nil); err != nil {
				return taskError(t, v.Pos, h.Name, fmt.Sprintf("environment %q: %v", k, err), fixFor(err), err)
			}
		}
	}
	return nil
}

// checkArgs renders the module arguments for this host (deferring those that need run-time
// names), coerces them with the module's Spec and runs its Validator.
func (c *checker) checkArgs() error {
	t, p, host := c.tp.t, c.p, c.host
	raw := make(map[string]any, len(t.Args))
	var deferredArgs map[string]bool
	for _, name := range c.tp.argNames {
		v := t.Args[name]
		d, err := c.classifyValue(v.V, t.Loop != nil)
		if err != nil {
			return taskError(t, v.Pos, host, fmt.Sprintf("argument %q: %v", name, err), fixFor(err), err)
		}
		later := d
		r := v.V
		if !d {
			if r, later, err = c.renderIfStatic(normalize(v.V)); err != nil {
				return taskError(t, v.Pos, host, fmt.Sprintf("argument %q: %v", name, err), fixFor(err), err)
			}
		}
		raw[name] = r
		if later {
			if deferredArgs == nil {
				deferredArgs = map[string]bool{}
			}
			deferredArgs[name] = true
		}
	}
	// Secret arguments are registered before coercion: its errors may quote a value.
	for _, a := range c.tp.spec.Args {
		if a.Secret && !deferredArgs[a.Name] {
			p.secrets.AddAll(raw[a.Name])
		}
	}
	args, err := c.tp.spec.Coerce(raw, func(name string, _ any) bool { return deferredArgs[name] })
	if err != nil {
		return taskError(t, t.ModulePos, host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
	}
	if v, ok := c.tp.mod.(modules.Validator); ok {
		if err := v.Validate(args); err != nil {
			return taskError(t, t.ModulePos, host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
		}
	}
	if err := c.checkCondArgs(args, deferredArgs); err != nil {
		return err
	}
	return c.checkTemplateFiles(args, deferredArgs)
}

// checkTemplateText checks one template file's text for this host: it parses, every name it
// uses is defined now or at run time, and when all are defined now it renders.
func (c *checker) checkTemplateText(text string) error {
	refs, err := cachedRefs(text)
	if err != nil {
		return err
	}
	deferred := false
	var undefined []string
	for _, r := range refs {
		_, defined := c.vars[r]
		switch {
		case defined:
		case c.p.runtimeNames[r] || c.lazy[r] || (c.tp.t.Loop != nil && r == c.tp.loopVar):
			deferred = true
		default:
			undefined = append(undefined, r)
		}
	}
	if deferred && len(undefined) == 0 {
		return nil // rendered when the task runs
	}
	// Render even with an undefined name: its error says the line and column.
	if _, later, err := c.renderIfStatic(text); err != nil || later {
		return err
	}
	if len(undefined) > 0 {
		// Not rendered (a branch not taken here), but a name nothing defines is still a
		// mistake: say where it first appears.
		e := &tmpl.Error{Msg: fmt.Sprintf("undefined variable %q", undefined[0]), MissingKey: undefined[0]}
		if i := strings.Index(text, "."+undefined[0]); i >= 0 {
			e.Line = strings.Count(text[:i], "\n") + 1
			e.Col = i - strings.LastIndex(text[:i], "\n")
		}
		return e
	}
	return nil
}

// checkTemplateFiles reads and renders, for this host, the controller files a module renders
// as templates (template's src): a missing file, a template that does not parse or an
// undefined variable in one is bad input. A file whose template needs run-time names is
// rendered when the task runs.
func (c *checker) checkTemplateFiles(args modules.Args, deferredArgs map[string]bool) error {
	tf, ok := c.tp.mod.(modules.TemplateFiler)
	if !ok || len(deferredArgs) > 0 {
		return nil
	}
	t := c.tp.t
	paths, err := tf.TemplateFiles(&modules.Host{Name: c.host, Vars: c.vars}, args)
	if err != nil {
		return taskError(t, t.ModulePos, c.host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
	}
	for _, path := range paths {
		text, err := c.p.templateFile(path)
		if err != nil {
			return taskError(t, t.ModulePos, c.host, fmt.Sprintf("module %s: %v", t.Module, err), "check that the template file is readable", err)
		}
		if err := c.checkTemplateText(text); err != nil {
			// Point into the template file when the error knows where.
			pos := playbook.Pos{File: path}
			var te *tmpl.Error
			if errors.As(err, &te) && te.Line > 0 {
				pos.Line, pos.Col = te.Line, te.Col
				if pos.Col == 0 {
					pos.Col = 1 // a parse error knows its line only
				}
			}
			return taskError(t, pos, c.host, fmt.Sprintf("module %s: template file: %v", t.Module, err), fixFor(err), err)
		}
	}
	return nil
}

// checkCondArgs checks the arguments that hold conditions (assert's that) as when is checked:
// each compiles, and names only variables that exist now or at run time.
func (c *checker) checkCondArgs(args modules.Args, deferredArgs map[string]bool) error {
	t := c.tp.t
	for _, a := range c.tp.spec.Args {
		if !a.Cond || deferredArgs[a.Name] {
			continue
		}
		pos := t.ModulePos
		if v, ok := t.Args[a.Name]; ok {
			pos = v.Pos
		}
		var srcs []string
		switch v := args[a.Name].(type) {
		case string:
			srcs = []string{v}
		case []string:
			srcs = v
		}
		for _, src := range srcs {
			prog, err := tmpl.Compile(src, nil)
			if err != nil {
				return taskError(t, pos, c.host, fmt.Sprintf("argument %q: %v", a.Name, err), "write an expr expression without braces, e.g. result.rc == 0", err)
			}
			if err := c.checkCond(prog, false); err != nil {
				return taskError(t, pos, c.host, fmt.Sprintf("argument %q: %v", a.Name, err), fixFor(err), err)
			}
		}
	}
	return nil
}

// renderArgsOnly is checkArgs for a task whose argument shape another host has checked: it
// renders each templated argument and wants a scalar back; any other outcome is left to the
// full check, which gives the precise error.
func (c *checker) renderArgsOnly() error {
	t := c.tp.t
	for _, name := range c.tp.templatedArgs {
		v := t.Args[name]
		d, err := c.classifyValue(v.V, t.Loop != nil)
		if err != nil {
			return err
		}
		if d {
			continue
		}
		r, later, err := c.renderIfStatic(v.V)
		if err != nil {
			return err
		}
		if later {
			continue
		}
		switch r.(type) {
		case string, int, int64, float64, bool:
		default:
			return errors.New("not a scalar")
		}
		if c.tp.secretArgs[name] {
			c.p.secrets.AddAll(r)
		}
	}
	return nil
}

// classifyValue looks at every template inside v: an error for a template that does not parse
// or names an undefined variable; deferred true when one names something only known at run
// time (a register or set_fact name, the loop variable).
func (c *checker) classifyValue(v any, inLoop bool) (deferred bool, err error) {
	walkStrings(v, func(s string) {
		if err != nil || !tmpl.IsTemplate(s) {
			return
		}
		refs, rerr := cachedRefs(s)
		if rerr != nil {
			err = rerr
			return
		}
		for _, r := range refs {
			if _, ok := c.vars[r]; ok {
				continue
			}
			if c.p.runtimeNames[r] || c.lazy[r] || (inLoop && r == c.tp.loopVar) {
				deferred = true
				continue
			}
			err = fmt.Errorf("undefined variable %q in %q", r, s)
			return
		}
	})
	return deferred, err
}

// checkCond verifies every name a condition uses is defined for this host or at run time.
func (c *checker) checkCond(prog *tmpl.Program, withResult bool) error {
	for _, n := range prog.Names {
		if _, ok := c.vars[n]; ok {
			continue
		}
		if c.p.runtimeNames[n] || c.lazy[n] || (c.tp.t.Loop != nil && n == c.tp.loopVar) || (withResult && n == "result") {
			continue
		}
		return fmt.Errorf("condition %q: unknown name %s", prog.Source, n)
	}
	return nil
}

// copyBoolMap copies a set (nil gives an empty one).
func copyBoolMap(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// renderIfStatic renders v now unless its rendering fails on a key that only exists at run
// time (hostvars["x"].registered), in which case deferred is true.
func (c *checker) renderIfStatic(v any) (out any, deferred bool, err error) {
	out, err = tmpl.RenderDeep(v, c.vars)
	if err != nil {
		var te *tmpl.Error
		if errors.As(err, &te) && te.MissingKey != "" && (c.p.runtimeNames[te.MissingKey] || c.lazy[te.MissingKey]) {
			return v, true, nil
		}
	}
	return out, false, err
}

// renderHostName renders a delegate_to value to a host name.
func renderHostName(v any, vars map[string]any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errors.New("want a host name")
	}
	out, err := tmpl.RenderString(s, vars)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// toList accepts the list shapes a loop may give.
func toList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case nil:
		return []any{}, true
	}
	return nil, false
}
