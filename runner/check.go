package runner

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

const undefinedFix = "define it in the inventory vars, the play's vars or vars_files, with register or set_fact in an earlier task, or with -e"

// templateSyntaxFix is the hint for a template that does not parse (a typo, an unknown function).
const templateSyntaxFix = "write Go template syntax such as {{ .name }} or {{ .name | upper }}; the functions are sprig's plus env, now, shquote, toYaml, fromYaml, toJson, fromJson, collect and those named after Ansible's filters (to_int, combine, selectattr, ...: README, Templates)"

// templateValueFix is the hint for a template that parses but fails on the values it is given.
const templateValueFix = "check the types of the values the template uses and the arguments of the functions it calls"

// fixFor is the hint for an error met while rendering or checking a template or condition:
// define the variable when one is missing, else correct the template. Telling a user to define
// a variable for a syntax error sends them looking in the wrong place.
func fixFor(err error) string {
	var ce *tmpl.CondError
	if errors.As(err, &ce) && ce.Fix != "" {
		return ce.Fix
	}
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
	// ownVars is true once vars is the checker's own copy (task vars are added to it).
	ownVars bool
}

// hostCheck is one host's view of a play while checking.
type hostCheck struct {
	h    *inventory.Host
	vars map[string]any
	lazy map[string]bool
}

// checkTasks checks tasks (recursively through blocks) for one host.
func (p *plan) checkTasks(tasks []*taskPlan, hc *hostCheck) error {
	for _, tp := range tasks {
		if tp.include != nil {
			if err := p.checkInclude(tp, hc); err != nil {
				return err
			}
			continue
		}
		if tp.t.IsBlock() {
			for _, list := range [][]*taskPlan{tp.block, tp.rescue, tp.always} {
				if err := p.checkTasks(list, hc); err != nil {
					return err
				}
			}
			continue
		}
		if !tp.selected {
			continue
		}
		if err := p.checkTask(tp, hc); err != nil {
			return err
		}
	}
	return nil
}

// checkTask checks one task for one host: it walks the task's per-host keyword values (the
// same list the executor renders), with the module arguments checked after vars and loop.
func (p *plan) checkTask(tp *taskPlan, hc *hostCheck) error {
	c := &checker{p: p, tp: tp, host: hc.h.Name, vars: hc.vars, lazy: hc.lazy}
	if magic := tp.set.roleVars(); magic != nil {
		c.vars, c.ownVars = copyMap(c.vars, len(magic)+4), true
		for k, v := range magic {
			c.vars[k] = v
		}
	}
	argsChecked := false
	for _, v := range tp.set.values {
		if !argsChecked && v.kw.Eval != playbook.Vars && v.kw.Eval != playbook.Items {
			if err := c.checkModuleArgs(); err != nil {
				return err
			}
			argsChecked = true
		}
		if err := c.checkValue(v); err != nil {
			return err
		}
	}
	if !argsChecked {
		return c.checkModuleArgs()
	}
	return nil
}

// checkModuleArgs checks the module arguments for this host. Once one host passed the full
// check of a task whose templated arguments are all declared strings without choices, the
// other hosts only need their templates rendered: coercion and the Validator would see the
// same shape. A module with template files has them rendered for every host, so it is always
// checked in full.
func (c *checker) checkModuleArgs() error {
	tp := c.tp
	if tp.mod == nil {
		return nil // an include: it has keywords, no module arguments
	}
	_, hasTemplateFiles := tp.mod.(modules.TemplateFiler)
	if hasTemplateFiles || !tp.argsShapeChecked || c.renderArgsOnly() != nil {
		if err := c.checkArgs(); err != nil {
			return err
		}
		tp.argsShapeChecked = tp.argsStringShaped
	}
	return nil
}

// checkValue checks one per-host keyword value as its kind says: vars are rendered into the
// host's view (or deferred), a loop must give a list, conditions may name only known
// variables, a host name must name a host, a template must render.
func (c *checker) checkValue(v kwValue) error {
	host := c.host
	fail := func(what string, err error) error {
		return c.taskError(v.val.Pos, host, what+err.Error(), fixFor(err), err)
	}
	switch v.kw.Eval {
	case playbook.Vars:
		return c.checkVar(v)
	case playbook.Items:
		d, err := c.classifyValue(v.val.V, false)
		if err != nil {
			return fail(v.kw.Name+": ", err)
		}
		if d {
			return nil
		}
		if s, ok := v.val.V.(string); ok && v.kw.Name == "loop" {
			r, err := tmpl.Render(s, c.vars)
			if err != nil {
				return fail("loop: ", err)
			}
			if _, ok := toList(r); !ok {
				return c.taskError(v.val.Pos, host, fmt.Sprintf("loop: %q gives a %T, not a list", s, r), "give loop a list, or a template that renders to one", nil)
			}
			return nil
		}
		if _, err := loopItems(v, c.vars); err != nil {
			return c.taskError(v.val.Pos, host, strings.TrimPrefix(err.Error(), v.val.Pos.String()+": "), "see what "+v.kw.Name+" takes in README's Coming from Ansible", err)
		}
	case playbook.Condition, playbook.ResultCondition:
		if err := c.checkCond(v.prog, v.kw.Eval == playbook.ResultCondition); err != nil {
			return c.taskError(v.val.Pos, host, err.Error(), fixFor(err), err)
		}
	case playbook.HostName:
		d, err := c.classifyValue(v.val.V, c.tp.set.loops())
		if err != nil || d {
			if err != nil {
				return fail(v.kw.Name+": ", err)
			}
			return nil
		}
		name, err := renderHostName(v.val.V, c.vars)
		if err != nil {
			return fail(v.kw.Name+": ", err)
		}
		target, ok := c.p.delegateHost(name)
		if !ok {
			return c.taskError(v.val.Pos, host, fmt.Sprintf("%s %q: no such host in the inventory", v.kw.Name, name), "name a node of the inventory or localhost", nil)
		}
		if err := c.p.hostErrs[target]; err != nil {
			return err
		}
	case playbook.Template:
		if _, err := c.classifyValue(v.val.V, c.tp.set.loops()); err != nil {
			return c.taskError(v.val.Pos, host, fmt.Sprintf("%s %q: %v", v.kw.Name, v.key, err), fixFor(err), err)
		}
	default:
		return fmt.Errorf("keyword %s: the check does not know how to treat its kind %d", v.kw.Name, v.kw.Eval)
	}
	return nil
}

// checkVar renders one task variable into the host's view, or marks it as known at run time
// only when its template needs a name set then.
func (c *checker) checkVar(v kwValue) error {
	host, k := c.host, v.key
	if _, isExtra := c.p.extra[k]; isExtra {
		return nil // -e wins over every other variable, task and role vars too
	}
	if !c.ownVars {
		c.vars, c.ownVars = copyMap(c.vars, 4), true
	}
	deferred, err := c.classifyValue(v.val.V, c.tp.set.loops())
	if err != nil {
		return c.taskError(v.val.Pos, host, fmt.Sprintf("vars %q: %v", k, err), fixFor(err), err)
	}
	var r any
	if !deferred {
		if r, deferred, err = c.renderIfStatic(normalize(v.val.V)); err != nil {
			return c.taskError(v.val.Pos, host, fmt.Sprintf("vars %q: %v", k, err), fixFor(err), err)
		}
	}
	if deferred {
		// Known at run time only: templates that use it are checked then.
		delete(c.vars, k)
		c.lazy = copyBoolMap(c.lazy)
		c.lazy[k] = true
		return nil
	}
	c.vars[k] = r
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
		d, err := c.classifyValue(v.V, c.tp.set.loops())
		if err != nil {
			return c.taskError(v.Pos, host, fmt.Sprintf("argument %q: %v", name, err), fixFor(err), err)
		}
		later := d
		r := v.V
		if !d {
			if r, later, err = c.renderIfStatic(normalize(v.V)); err != nil {
				return c.taskError(v.Pos, host, fmt.Sprintf("argument %q: %v", name, err), fixFor(err), err)
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
		return c.taskError(t.ModulePos, host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
	}
	if v, ok := c.tp.mod.(modules.Validator); ok {
		if err := v.Validate(args); err != nil {
			return c.taskError(t.ModulePos, host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
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
		case c.p.runtimeNames[r] || c.lazy[r] || (c.tp.set.loops() && c.tp.isLoopVar(r)):
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
		return c.taskError(t.ModulePos, c.host, fmt.Sprintf("module %s: %v", t.Module, err), "see `omsbook doc "+t.Module+"` for its arguments", err)
	}
	for _, path := range paths {
		text, err := c.p.templateFile(path)
		if err != nil {
			return c.taskError(t.ModulePos, c.host, fmt.Sprintf("module %s: %v", t.Module, err), "check that the template file is readable", err)
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
			return c.taskError(pos, c.host, fmt.Sprintf("module %s: template file: %v", t.Module, err), fixFor(err), err)
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
				return c.taskError(pos, c.host, fmt.Sprintf("argument %q: %v", a.Name, err), "write an expr expression without braces, e.g. result.rc == 0", err)
			}
			if err := c.checkCond(prog, false); err != nil {
				return c.taskError(pos, c.host, fmt.Sprintf("argument %q: %v", a.Name, err), fixFor(err), err)
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
		d, err := c.classifyValue(v.V, c.tp.set.loops())
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
			if c.p.runtimeNames[r] || c.lazy[r] || (inLoop && c.tp.isLoopVar(r)) {
				deferred = true
				continue
			}
			err = fmt.Errorf("undefined variable %q in %q", r, s)
			return
		}
	})
	return deferred, err
}

// checkCond verifies every name a condition requires (not those it only tests with is
// defined or gives a default) is defined for this host or at run time, and checks the types of
// what it does with the values known now: set_fact or register may change a run-time name's,
// and hostvars gains other hosts' facts, so those are left to run time.
func (c *checker) checkCond(prog *tmpl.Program, withResult bool) error {
	typed := make(map[string]any, len(prog.Names))
	for _, n := range prog.Names {
		v, defined := c.vars[n]
		later := c.p.runtimeNames[n] || c.lazy[n] || (c.tp.set.loops() && c.tp.isLoopVar(n)) || (withResult && n == "result")
		switch {
		case defined && !later && n != "hostvars":
			typed[n] = v
		case !defined && !later && !slices.Contains(prog.Optional, n):
			return fmt.Errorf("condition %q: unknown name %s", prog.Source, n)
		}
	}
	return prog.CheckTypes(typed)
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

// taskError is taskError for the checked task, named as output shows it.
func (c *checker) taskError(pos playbook.Pos, host, msg, fix string, err error) *playbook.Error {
	e := taskError(c.tp.t, pos, host, msg, fix, err)
	e.Task = c.tp.name
	return e
}
