package builtin

import (
	"context"
	"fmt"

	"github.com/omsbook/omsbook/modules"
)

// Meta is Ansible's meta: an action on the run itself (flush the handlers, end the play or a
// host), which the runner carries out; it does nothing on a host.
type Meta struct{}

func (Meta) Name() string { return "meta" }

// metaActions are the actions meta takes.
var metaActions = []string{"flush_handlers", "noop", "end_play", "end_batch", "end_host", "clear_host_errors", "refresh_inventory"}

func (Meta) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Act on the run: flush handlers, end the play, the batch or a host",
		Description: "flush_handlers runs the handlers notified so far, now; end_play ends the " +
			"play for every host (not a failure); end_batch ends the current serial batch; " +
			"end_host ends the play for the hosts where the task's when holds; " +
			"clear_host_errors lets the batch's failed hosts go on; refresh_inventory and noop " +
			"do nothing (the inventory is read once).",
		CheckMode: "The same as a real run: the run is acted on, no host is touched.",
		FreeForm:  "free_form",
		Args: []modules.Arg{
			{Name: "free_form", Type: modules.String, Required: true, Choices: metaActions, Doc: "the action"},
		},
		Controller: true,
	}
}

// MetaAction names the action the runner carries out.
func (Meta) MetaAction(args modules.Args) string { return args.String("free_form") }

func (m Meta) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (Meta) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return modules.Result{}, fmt.Errorf("meta: %s is carried out by the runner, not on a host (a bug if you see this)", args.String("free_form"))
}
