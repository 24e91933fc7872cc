package builtin

import (
	"context"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Package installs or removes packages with the host's package manager: apt, dnf or yum.
type Package struct{}

func (Package) Name() string { return "package" }

func (Package) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Install or remove packages with the host's package manager (apt, dnf, yum)",
		Description: "Finds the package manager on the host (apt-get, else dnf, else yum; `use` " +
			"forces one) and does what the apt, dnf or yum module does with name and state. The " +
			"result's `manager` says which was used.",
		CheckMode: "As the chosen module's check: changed with a diff of the packages' versions " +
			"when Apply would act.",
		FreeForm: "name",
		Args: []modules.Arg{
			{Name: "name", Type: modules.StringList, Required: true, Doc: "package names (a list, or one name)"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "installed", "absent", "removed", "latest"}, Doc: "present (installed), absent (removed) or latest"},
			{Name: "use", Type: modules.String, Default: "auto", Choices: []string{"auto", "apt", "dnf", "yum"}, Doc: "the package manager; auto finds it on the host"},
		},
		Returns: []modules.Field{
			{Name: "manager", Type: "string", Doc: "apt, dnf or yum"},
			{Name: "packages", Type: "map", Doc: "each package's installed version after the task (\"\" when not installed)"},
			{Name: "stdout", Type: "string", Doc: "the package manager's output"},
			{Name: "stderr", Type: "string", Doc: "its errors"},
		},
	}
}

func (m Package) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m Package) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

func (Package) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	mgr := args.String("use")
	if mgr == "auto" || mgr == "" {
		r, err := sysSh(ctx, h, "if command -v apt-get >/dev/null; then echo apt; elif command -v dnf >/dev/null; then echo dnf; elif command -v yum >/dev/null; then echo yum; fi", "")
		if err != nil {
			return modules.Result{}, err
		}
		mgr = strings.TrimSpace(r.Stdout)
		if mgr == "" {
			return modules.Fail("no package manager found on the host (apt-get, dnf or yum)", nil), nil
		}
	}
	state := args.String("state")
	var (
		m   modules.Module
		raw = map[string]any{"name": args.Strings("name"), "state": state}
	)
	switch mgr {
	case "apt":
		m = Apt{}
		switch state {
		case "installed":
			raw["state"] = "present"
		case "removed":
			raw["state"] = "absent"
		}
	case "dnf":
		m = Dnf{}
	default:
		m = Yum{}
	}
	sub, err := m.Spec().Coerce(raw, nil)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	var res modules.Result
	if apply {
		res, err = m.Apply(ctx, h, sub)
	} else {
		res, err = m.Check(ctx, h, sub)
	}
	if err != nil {
		return res, err
	}
	if res.Data == nil {
		res.Data = map[string]any{}
	}
	res.Data["manager"] = mgr
	return res, nil
}
