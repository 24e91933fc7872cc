package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// Dnf manages RPM packages with dnf; Yum is the same with yum.
type Dnf struct{}

// Yum manages RPM packages with yum.
type Yum struct{}

func (Dnf) Name() string { return "dnf" }
func (Yum) Name() string { return "yum" }

func (Dnf) Spec() modules.Spec { return rpmSpec("dnf") }
func (Yum) Spec() modules.Spec { return rpmSpec("yum") }

func (Dnf) Validate(args modules.Args) error { return validateRPM(args) }
func (Yum) Validate(args modules.Args) error { return validateRPM(args) }

func (Dnf) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runRPM(ctx, h, "dnf", args, false)
}

func (Dnf) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runRPM(ctx, h, "dnf", args, true)
}

func (Yum) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runRPM(ctx, h, "yum", args, false)
}

func (Yum) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runRPM(ctx, h, "yum", args, true)
}

func rpmSpec(tool string) modules.Spec {
	return modules.Spec{
		Summary: "Install, upgrade or remove RPM packages with " + tool,
		Description: "present (installed) installs what rpm does not list, latest also upgrades " +
			"what " + tool + " check-update offers, absent (removed) removes. update_cache " +
			"refreshes the metadata first (" + tool + " makecache). Names may carry a version " +
			"(name-1.2), as " + tool + " reads them. omsbook's tests run only on Debian nodes: this " +
			"module is proved there for its arguments and its messages, not against a real " + tool + ".",
		CheckMode: "Asks rpm -q which packages are installed (and, for latest, " + tool + " " +
			"check-update whether updates exist) and reports changed with a diff when Apply " +
			"would act.",
		FreeForm: "name",
		Args: []modules.Arg{
			{Name: "name", Type: modules.StringList, Required: true, Doc: "package names (a list, or one name)"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "installed", "absent", "removed", "latest"}, Doc: "present (installed), absent (removed) or latest"},
			{Name: "update_cache", Type: modules.Bool, Default: false, Doc: "refresh the repository metadata first"},
			{Name: "disable_gpg_check", Type: modules.Bool, Default: false, Doc: "install without checking package signatures (--nogpgcheck)"},
		},
		Returns: []modules.Field{
			{Name: "packages", Type: "map", Doc: "each package's installed version after the task (\"\" when not installed)"},
			{Name: "stdout", Type: "string", Doc: "the package manager's output"},
			{Name: "stderr", Type: "string", Doc: "its errors"},
		},
	}
}

func validateRPM(args modules.Args) error {
	if v, ok := args["name"].([]string); ok && len(v) == 0 {
		return errors.New("name is empty: give the packages")
	}
	return nil
}

// rpmInstalled asks rpm which of the packages are installed.
func rpmInstalled(ctx context.Context, h *modules.Host, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		r, err := sysSh(ctx, h, "rpm -q --qf '%{VERSION}-%{RELEASE}\\n' -- "+shellquote.Quote(n), "")
		if err != nil {
			return nil, err
		}
		out[n] = ""
		if r.RC == 0 {
			out[n] = strings.TrimSpace(strings.Split(r.Stdout, "\n")[0])
		}
	}
	return out, nil
}

func runRPM(ctx context.Context, h *modules.Host, tool string, args modules.Args, apply bool) (modules.Result, error) {
	data := map[string]any{}
	r, err := sysSh(ctx, h, "command -v "+tool+" && command -v rpm", "")
	if err != nil {
		return modules.Result{}, err
	}
	if r.RC != 0 {
		return modules.Fail(fmt.Sprintf("%s and rpm are not installed on this host: is it an RPM-based system? (on Debian, use apt)", tool), data), nil
	}
	names := args.Strings("name")
	before, err := rpmInstalled(ctx, h, names)
	if err != nil {
		return modules.Result{}, err
	}
	state := args.String("state")
	var todo []string
	switch state {
	case "absent", "removed":
		for _, n := range names {
			if before[n] != "" {
				todo = append(todo, n)
			}
		}
	default:
		for _, n := range names {
			if before[n] == "" {
				todo = append(todo, n)
			} else if state == "latest" {
				r, err := sysSh(ctx, h, tool+" -q check-update -- "+shellquote.Quote(n), "")
				if err != nil {
					return modules.Result{}, err
				}
				if r.RC == 100 { // check-update: updates are available
					todo = append(todo, n)
				}
			}
		}
	}
	var stdout, stderr strings.Builder
	after := before
	if len(todo) > 0 && apply {
		opts := " -y"
		if args.Bool("disable_gpg_check") {
			opts += " --nogpgcheck"
		}
		if args.Bool("update_cache") {
			opts += " --refresh"
		}
		verb := "install"
		switch {
		case state == "absent" || state == "removed":
			verb = "remove"
		case state == "latest":
			verb = "upgrade"
		}
		line := tool + opts + " install -- " + shellquote.Join(todo...)
		if verb != "install" {
			line = tool + opts + " " + verb + " -- " + shellquote.Join(todo...)
			if verb == "upgrade" {
				// upgrade does not install what is missing: install those first.
				line = tool + opts + " install -- " + shellquote.Join(todo...) + " && " + line
			}
		}
		r, err := sysSh(ctx, h, line, "")
		if err != nil {
			return modules.Result{}, err
		}
		stdout.WriteString(r.Stdout)
		stderr.WriteString(r.Stderr)
		if r.RC != 0 {
			return sysFailed(tool+" "+verb, r, data), nil
		}
		if after, err = rpmInstalled(ctx, h, names); err != nil {
			return modules.Result{}, err
		}
	}
	data["packages"] = versionsData(after)
	data["stdout"], data["stderr"] = trimFinalNewline(stdout.String()), trimFinalNewline(stderr.String())
	res := modules.Result{Changed: len(todo) > 0, Data: data}
	if res.Changed {
		planned := map[string]string{}
		for k, v := range before {
			planned[k] = v
		}
		for _, n := range todo {
			if state == "absent" || state == "removed" {
				planned[n] = ""
			} else {
				planned[n] = "(" + verbFor(state, before[n]) + ")"
			}
		}
		if apply {
			planned = after
		}
		res.Diff = &modules.Diff{Before: versionsText(before), After: versionsText(planned), BeforeLabel: "packages", AfterLabel: "packages"}
	}
	return res, nil
}

func verbFor(state, installed string) string {
	if installed == "" {
		return "to be installed"
	}
	return "to be upgraded"
}
