package runner

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/playbook"
)

func load(ctx context.Context, opts Options) (*Plan, error) {
	p, err := loadWith(ctx, opts, registry.Lookup)
	if err != nil {
		return nil, err
	}
	return &Plan{impl: p}, nil
}

// loadWith reads the playbook and inventories and builds the checked plan, finding modules
// with lookup.
func loadWith(ctx context.Context, opts Options, lookup func(string) (modules.Module, bool)) (*plan, error) {
	if opts.Playbook == "" {
		return nil, errors.New("no playbook given: name a playbook file")
	}
	if len(opts.Inventories) == 0 {
		return nil, errors.New("no inventory given: add -i INVENTORY")
	}
	inv, err := inventory.Load(opts.Inventories...)
	if err != nil {
		return nil, err
	}
	// group_vars/ and host_vars/ beside the playbook, as Ansible reads them.
	if err := inv.AddPlaybookVars(filepath.Dir(opts.Playbook)); err != nil {
		return nil, err
	}
	pb, err := playbook.LoadWith(opts.Playbook, playbookOptions(lookup, opts))
	if err != nil {
		return nil, err
	}
	return newPlan(ctx, pb, inv, opts, lookup)
}

// playbookOptions is how the playbook loader learns of the modules lookup finds and where
// roles are.
func playbookOptions(lookup func(string) (modules.Module, bool), opts Options) playbook.Options {
	info := func(name string) (playbook.ModuleInfo, bool) {
		m, ok := lookup(name)
		if !ok {
			return playbook.ModuleInfo{}, false
		}
		spec := m.Spec()
		info := playbook.ModuleInfo{FreeForm: spec.FreeForm}
		for _, a := range spec.Args {
			info.Args = append(info.Args, a.Name)
		}
		return info, true
	}
	// The registry's names that lookup knows: suggestions must name real modules.
	var names []string
	for _, n := range registry.Names() {
		if _, ok := lookup(n); ok {
			names = append(names, n)
		}
	}
	return playbook.Options{Lookup: info, ModuleNames: names, RolesPath: opts.RolesPath}
}

// playbookOptions is playbookOptions for the plan's own lookup and options.
func (p *plan) playbookOptions() playbook.Options { return playbookOptions(p.lookup, p.opts) }
