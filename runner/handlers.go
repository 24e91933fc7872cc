package runner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/inventory"
)

// This file is handlers: which handlers a task notifies (resolved at plan time), and the
// flush at the end of each section that runs them, once per host, in the order they are
// defined, where a task that notified them changed something.

// resolveNotify links every notify of the play's tasks (and handlers, which may notify later
// handlers) to the handlers it names: by name or by a listen topic. A name no handler
// answers to is bad input.
func resolveNotify(pp *playPlan) error {
	if err := resolveNotifyIn(pp, pp.tasks); err != nil {
		return err
	}
	return resolveNotifyIn(pp, pp.handlers)
}

// resolveNotifyIn is resolveNotify for some of the play's tasks (an included file's).
func resolveNotifyIn(pp *playPlan, tasks []*taskPlan) error {
	var walk func(tps []*taskPlan) error
	walk = func(tps []*taskPlan) error {
		for _, tp := range tps {
			if err := walk(tp.block); err != nil {
				return err
			}
			if err := walk(tp.rescue); err != nil {
				return err
			}
			if err := walk(tp.always); err != nil {
				return err
			}
			for _, name := range tp.set.notify {
				hs := handlersFor(pp.handlers, name)
				if len(hs) == 0 {
					return notifyError(tp, name, pp.handlers)
				}
				for _, h := range hs {
					if !slices.Contains(tp.notify, h) {
						tp.notify = append(tp.notify, h)
					}
				}
			}
		}
		return nil
	}
	return walk(tasks)
}

// handlersFor lists the handlers that answer to name, in definition order.
func handlersFor(handlers []*taskPlan, name string) []*taskPlan {
	var out []*taskPlan
	for _, h := range handlers {
		if h.t.Name == name || h.name == name || slices.Contains(h.t.Listen, name) {
			out = append(out, h)
		}
	}
	return out
}

// notifyError says which notify names no handler, and what the play's handlers answer to.
func notifyError(tp *taskPlan, name string, handlers []*taskPlan) error {
	var known []string
	for _, h := range handlers {
		if h.t.Name != "" {
			known = append(known, fmt.Sprintf("%q", h.t.Name))
		}
		for _, l := range h.t.Listen {
			known = append(known, fmt.Sprintf("%q (listen)", l))
		}
	}
	fix := "add a handler of that name under the play's handlers:"
	if len(known) > 0 {
		fix = "the play's handlers answer to " + strings.Join(known, ", ")
	}
	pos := tp.set.notifyPos
	return taskError(tp.t, pos, "", fmt.Sprintf("notify %q: no handler of the play has that name or listens to it", name), fix, nil)
}

// notifyHandlers marks the task's handlers for the host after a result that changed
// something (in check mode: would change).
func notifyHandlers(tp *taskPlan, hr *hostRun, res *result) {
	if len(tp.notify) == 0 || res.status() != events.Changed {
		return
	}
	if hr.notified == nil {
		hr.notified = map[*taskPlan]bool{}
	}
	for _, h := range tp.notify {
		hr.notified[h] = true
	}
}

// flushHandlers runs, in definition order, every handler notified on a host of the batch,
// once per host, then forgets the notifications. A host that failed runs none unless the play
// or the command line forces handlers; an unreachable one never does.
func (r *run) flushHandlers(pc *playCtx) {
	force := pc.pp.play.ForceHandlers || r.p.opts.ForceHandlers
	if r.interrupted() || (r.abort.Load() && !force) {
		return
	}
	for _, h := range pc.pp.handlers {
		var hosts []*hostRun
		for _, hr := range pc.batch {
			if !hr.notified[h] {
				continue
			}
			delete(hr.notified, h)
			if hr.unreachable || hr.ended || (hr.failed && !force) {
				continue
			}
			hosts = append(hosts, hr)
		}
		if len(hosts) > 0 {
			r.runTask(pc, h, hosts, blockCtx{})
		}
	}
}

// orderHosts puts a play's hosts in the order its order: keyword asks for.
func orderHosts(hosts []*inventory.Host, order string) {
	byName := func(a, b *inventory.Host) int { return strings.Compare(a.Name, b.Name) }
	switch order {
	case "reverse_inventory":
		slices.Reverse(hosts)
	case "sorted":
		slices.SortStableFunc(hosts, byName)
	case "reverse_sorted":
		slices.SortStableFunc(hosts, func(a, b *inventory.Host) int { return byName(b, a) })
	case "shuffle":
		rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	}
}

// flattenHandlers lists the handlers of a play: an import_tasks among them stands for the
// tasks it imports, each a handler of its own, as in Ansible.
func flattenHandlers(tps []*taskPlan) ([]*taskPlan, error) {
	var out []*taskPlan
	for _, tp := range tps {
		switch {
		case tp.include != nil:
			return nil, taskError(tp.t, tp.t.Pos, "", "include_tasks cannot stand among handlers", "use import_tasks: its tasks become handlers", nil)
		case tp.t.IsBlock():
			inner, err := flattenHandlers(tp.block)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
		default:
			out = append(out, tp)
		}
	}
	return out, nil
}
