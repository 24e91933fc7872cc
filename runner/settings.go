package runner

import (
	"slices"
	"time"

	"github.com/omsbook/omsbook/playbook"
	"github.com/omsbook/omsbook/tmpl"
)

// runOnceMode says on which hosts of a batch a task runs.
type runOnceMode uint8

const (
	runOnceOff    runOnceMode = iota // every host
	runOnceBatch                     // the first host of the batch (run_once: true)
	runOnceRegion                    // the first host of each region (run_once: region)
)

// defaultRetries is how often a task with until is retried when it does not say: Ansible's
// default.
const defaultRetries = 3

// settings are what a task's keywords mean for it, merged once at plan time from its play,
// its enclosing blocks (outermost first) and the task itself, nearest first. The executor
// reads only these; the host's own inventory settings (become) come below them at run time.
type settings struct {
	become       *bool  // nil: the host's setting
	becomeUser   string // "": the host's setting
	checkMode    *bool  // nil: --check decides
	runOnce      runOnceMode
	timeout      time.Duration
	attempts     int // at most: 1 without until
	delay        time.Duration
	ignoreErrors bool
	noLog        bool
	remoteUser   string // "": the inventory's user
	throttle     int    // 0: forks alone limit the hosts at once
	// notify names the handlers to notify on a change: the task's and its blocks'.
	notify    []string
	notifyPos playbook.Pos
	// role is the role the task belongs to (role_path, role_name, where src is looked up).
	role *playbook.Role
	// values are the keyword values rendered or evaluated per host, in the order they are
	// used: vars, loop, when, the conditions on the result, delegate_to, environment. The
	// load-time check and the executor both walk this one list.
	values []kwValue
}

// kwValue is one value of a per-host keyword as it applies to a task.
type kwValue struct {
	kw  playbook.Keyword
	key string // the entry's name in a mapping keyword (vars, environment)
	val playbook.Value
	// prog is the compiled condition of a Condition or ResultCondition keyword.
	prog *tmpl.Program
}

// evalOrder is the order in which a task uses its per-host keywords.
var evalOrder = []playbook.Eval{playbook.Vars, playbook.Items, playbook.Condition, playbook.ResultCondition, playbook.HostName, playbook.Template}

// resolveSettings merges the keywords of pl, the blocks enclosing t (outermost first) and t.
// How a keyword's value reaches the tasks inside a block or play follows from how it is
// evaluated: vars and environment merge by name (the nearest wins), conditions add up (a
// block's when holds for every task in it, before the task's own), a host name is the
// nearest one, and a loop or a condition on a result belongs to its task alone. Play vars
// are not here: they are the play's variables, resolved with their own precedence.
func resolveSettings(pl *playbook.Play, chain []*playbook.Task, t *playbook.Task) (settings, error) {
	levels := append(append([]*playbook.Task(nil), chain...), t)
	s := settings{becomeUser: pl.BecomeUser, become: pl.Become, checkMode: pl.CheckMode, attempts: 1,
		remoteUser: pl.RemoteUser, throttle: pl.Throttle}
	for _, l := range levels {
		if l.RemoteUser != "" {
			s.remoteUser = l.RemoteUser
		}
		if l.Throttle > 0 {
			s.throttle = l.Throttle
		}
		for _, n := range l.Notify {
			if !slices.Contains(s.notify, n) {
				s.notify = append(s.notify, n)
			}
		}
		if len(l.Notify) > 0 {
			s.notifyPos = l.NotifyPos
		}
		if l.Become != nil {
			s.become = l.Become
		}
		if l.BecomeUser != "" {
			s.becomeUser = l.BecomeUser
		}
		if l.CheckMode != nil {
			s.checkMode = l.CheckMode
		}
		switch l.RunOnce {
		case "true":
			s.runOnce = runOnceBatch
		case "region":
			s.runOnce = runOnceRegion
		}
		if l.Timeout > 0 {
			s.timeout = l.Timeout
		}
		s.ignoreErrors = s.ignoreErrors || l.IgnoreErrors
		s.noLog = s.noLog || l.NoLog
	}
	if t.Until != nil {
		s.attempts = defaultRetries + 1
		if t.Retries != nil {
			// As Ansible: retries N is N+1 attempts at most, retries 0 exactly one.
			s.attempts = *t.Retries + 1
		}
	}
	s.delay = t.Delay
	s.role = nearestRole(chain, t)
	for _, ev := range evalOrder {
		for _, kw := range playbook.AllKeywords() {
			if kw.Eval != ev || kw.Scope&(playbook.InTask|playbook.InBlock) == 0 {
				continue
			}
			vals, err := mergeValues(kw, pl, levels)
			if err != nil {
				return s, err
			}
			s.values = append(s.values, vals...)
		}
	}
	return s, nil
}

// mergeValues gives kw's values for the last of levels, inherited as resolveSettings says.
func mergeValues(kw playbook.Keyword, pl *playbook.Play, levels []*playbook.Task) ([]kwValue, error) {
	var written [][]playbook.NamedValue
	if kw.Eval != playbook.Vars {
		written = append(written, pl.Values(kw.Name))
	}
	for _, l := range levels {
		written = append(written, l.Values(kw.Name))
	}
	var merged []playbook.NamedValue
	switch kw.Eval {
	case playbook.Vars, playbook.Template:
		at := map[string]int{}
		for _, vs := range written {
			for _, v := range vs {
				if i, ok := at[v.Key]; ok {
					merged[i] = v
					continue
				}
				at[v.Key] = len(merged)
				merged = append(merged, v)
			}
		}
	case playbook.Condition:
		for _, vs := range written {
			merged = append(merged, vs...)
		}
	case playbook.HostName:
		for _, vs := range written {
			if len(vs) > 0 {
				merged = vs
			}
		}
	default:
		merged = written[len(written)-1]
	}
	out := make([]kwValue, 0, len(merged))
	for _, v := range merged {
		kv := kwValue{kw: kw, key: v.Key, val: v.Value}
		if kw.Eval == playbook.Condition || kw.Eval == playbook.ResultCondition {
			prog, err := tmpl.CompileValue(v.V, nil)
			if err != nil {
				return nil, &playbook.Error{Pos: v.Pos, Task: displayName(levels[len(levels)-1]), Msg: err.Error(), Fix: "write an expr expression without braces, e.g. result.rc == 0", Err: err}
			}
			kv.prog = prog
		}
		out = append(out, kv)
	}
	return out, nil
}

// valuesOf lists the task's values of one keyword.
func (s *settings) valuesOf(keyword string) []kwValue {
	var out []kwValue
	for _, v := range s.values {
		if v.kw.Name == keyword {
			out = append(out, v)
		}
	}
	return out
}

// firstOf is the task's one value of a single-valued keyword (loop, delegate_to, until).
func (s *settings) firstOf(keyword string) (kwValue, bool) {
	for _, v := range s.values {
		if v.kw.Name == keyword {
			return v, true
		}
	}
	return kwValue{}, false
}

// loops reports whether the task has a loop.
func (s *settings) loops() bool {
	_, ok := s.loopValue()
	return ok
}

// roleVars are the magic variables of a task in a role: role_name and role_path (where copy
// and template look for a relative src first). nil outside a role.
func (s *settings) roleVars() map[string]any {
	if s.role == nil {
		return nil
	}
	return map[string]any{"role_name": s.role.Name, "role_path": s.role.Path}
}
