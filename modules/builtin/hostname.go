package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Hostname sets the host's name, running and permanent.
type Hostname struct{}

func (Hostname) Name() string { return "hostname" }

func (Hostname) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Set the host's name, running and permanent",
		Description: "systemd: hostnamectl set-hostname (when PID 1 is systemd); debian and " +
			"generic: the name in /etc/hostname and the running name (hostname NAME). `use` " +
			"forces a strategy; by default systemd where it runs, else debian on Debian, else " +
			"generic. Sets the facts ansible_hostname (the short name) and ansible_nodename. The " +
			"result's `use` says which strategy ran.",
		CheckMode: "Reads the running and the permanent name and reports changed with a diff " +
			"when either differs.",
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "the host name"},
			{Name: "use", Type: modules.String, Choices: []string{"systemd", "debian", "generic"}, Doc: "the strategy (default: found from the host)"},
		},
		Returns: []modules.Field{
			{Name: "name", Type: "string", Doc: "the host name"},
			{Name: "use", Type: "string", Doc: "the strategy used: systemd, debian or generic"},
		},
	}
}

func (Hostname) Validate(args modules.Args) error {
	n, ok := args["name"].(string)
	if !ok || unrendered(n) {
		return nil
	}
	if n == "" || len(n) > 64 || strings.ContainsAny(n, " \t\n/") {
		return errors.New("name must be a host name: 1 to 64 characters, no spaces or slashes")
	}
	return nil
}

func (Hostname) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runHostname(ctx, h, args, false)
}

func (Hostname) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runHostname(ctx, h, args, true)
}

func runHostname(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	name := args.String("name")
	use := args.String("use")
	if use == "" {
		mgr, err := hostServiceManager(ctx, h)
		if err != nil {
			return modules.Result{}, err
		}
		r, err := sysSh(ctx, h, "command -v hostnamectl >/dev/null && echo h; [ -f /etc/debian_version ] && echo d; true", "")
		if err != nil {
			return modules.Result{}, err
		}
		switch {
		case mgr == "systemd" && strings.Contains(r.Stdout, "h"):
			use = "systemd"
		case strings.Contains(r.Stdout, "d"):
			use = "debian"
		default:
			use = "generic"
		}
	}
	data := map[string]any{"name": name, "use": use}
	probe := func() (running, permanent string, err error) {
		line := "hostname; cat /etc/hostname 2>/dev/null | head -n1"
		if use == "systemd" {
			line = "hostname; hostnamectl --static"
		}
		r, err := sysSh(ctx, h, line, "")
		if err != nil {
			return "", "", err
		}
		f := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
		running = strings.TrimSpace(f[0])
		if len(f) > 1 {
			permanent = strings.TrimSpace(f[1])
		}
		return running, permanent, nil
	}
	running, permanent, err := probe()
	if err != nil {
		return modules.Result{}, err
	}
	short, _, _ := strings.Cut(name, ".")
	facts := map[string]any{"ansible_hostname": short, "ansible_nodename": name}
	if running == name && permanent == name {
		return modules.Result{Data: data, Facts: facts}, nil
	}
	diff := sysStateDiff("hostname", map[string]string{"running": running, "permanent": permanent},
		map[string]string{"running": name, "permanent": name})
	res := modules.Result{Changed: true, Diff: diff, Data: data, Facts: facts}
	if !apply {
		return res, nil
	}
	if use == "systemd" {
		r, err := sysArgv(ctx, h, "hostnamectl", "set-hostname", name)
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("hostnamectl set-hostname", r, data), nil
		}
	} else {
		r, err := sysWriteFile(ctx, h, "/etc/hostname", name+"\n", "644", "")
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("write /etc/hostname", r, data), nil
		}
		if r, err = sysArgv(ctx, h, "hostname", name); err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("hostname "+name, r, data), nil
		}
	}
	if running, permanent, err = probe(); err != nil {
		return modules.Result{}, err
	}
	if running != name || permanent != name {
		return modules.Fail("the host name is "+running+" (permanent: "+permanent+") after setting "+name, data), nil
	}
	return res, nil
}
