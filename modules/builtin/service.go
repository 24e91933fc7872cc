package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// Service manages a service through the host's service manager: systemd when it is PID 1,
// else the sysvinit scripts (service, /etc/init.d, update-rc.d).
type Service struct{}

func (Service) Name() string { return "service" }

func (Service) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Start, stop, restart or reload a service and set whether it starts at boot",
		Description: "Chooses the service manager from the host, as Ansible's service module does: " +
			"systemd when it runs as PID 1 (systemctl), otherwise the sysvinit scripts " +
			"(`service NAME ACTION` and /etc/init.d/NAME; `update-rc.d` for enabled). `use` forces " +
			"one. The result's `manager` says which was used. restarted and reloaded always act " +
			"(changed); started and stopped act only when the service is not so.",
		CheckMode: "Probes whether the service runs and starts at boot, and reports changed with " +
			"a diff of state and enabled when Apply would change them (restarted and reloaded: " +
			"always changed). A service the host does not have is unknown (an earlier task may " +
			"install it); Apply fails on it.",
		Args:    serviceArgs(false),
		Returns: serviceReturns,
	}
}

func (Service) Validate(args modules.Args) error { return validateService(args) }

func (Service) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runService(ctx, h, args, false, false)
}

func (Service) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runService(ctx, h, args, true, false)
}

// Systemd manages a systemd unit with systemctl.
type Systemd struct{}

func (Systemd) Name() string { return "systemd" }

func (Systemd) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Manage a systemd unit: state, enabled, masked, daemon-reload",
		Description: "Runs systemctl on the host, in Ansible's order: daemon-reload (when " +
			"daemon_reload, never itself a change), mask or unmask, enable or disable, then the " +
			"state. Fails on a host where systemd is not PID 1 (use service there).",
		CheckMode: "Probes the unit (systemctl show) and reports changed with a diff of state, " +
			"enabled and masked when Apply would change them; daemon_reload is not run. A unit the " +
			"host does not have is unknown; Apply fails on it.",
		Args:    serviceArgs(true),
		Returns: serviceReturns,
	}
}

func (Systemd) Validate(args modules.Args) error { return validateService(args) }

func (Systemd) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runService(ctx, h, args, false, true)
}

func (Systemd) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runService(ctx, h, args, true, true)
}

func serviceArgs(systemd bool) []modules.Arg {
	args := []modules.Arg{
		{Name: "name", Type: modules.String, Required: !systemd, Doc: "the service (unit) name, e.g. cron or cron.service"},
		{Name: "state", Type: modules.String, Choices: []string{"started", "stopped", "restarted", "reloaded"}, Doc: "started and stopped act only when needed; restarted and reloaded always"},
		{Name: "enabled", Type: modules.Bool, Doc: "whether the service starts at boot"},
	}
	if systemd {
		return append(args,
			modules.Arg{Name: "daemon_reload", Type: modules.Bool, Default: false, Doc: "run systemctl daemon-reload first (also without name)"},
			modules.Arg{Name: "masked", Type: modules.Bool, Doc: "mask (true) or unmask (false) the unit"},
			modules.Arg{Name: "scope", Type: modules.String, Default: "system", Choices: []string{"system"}, Doc: "the systemd instance; only the system one"},
			modules.Arg{Name: "no_block", Type: modules.Bool, Default: false, Doc: "do not wait for the start or stop job to finish (systemctl --no-block)"},
		)
	}
	return append(args,
		modules.Arg{Name: "use", Type: modules.String, Default: "auto", Choices: []string{"auto", "systemd", "sysvinit", "service"}, Doc: "the service manager; auto chooses systemd when it is PID 1, else sysvinit (service is another name for sysvinit)"},
		modules.Arg{Name: "arguments", Type: modules.String, Doc: "extra arguments for the sysvinit script (alias args in Ansible)"},
	)
}

var serviceReturns = []modules.Field{
	{Name: "name", Type: "string", Doc: "the service"},
	{Name: "state", Type: "string", Doc: "started or stopped, after the task"},
	{Name: "enabled", Type: "bool", Doc: "whether it starts at boot, after the task"},
	{Name: "manager", Type: "string", Doc: "the service manager used: systemd or sysvinit"},
	{Name: "status", Type: "map", Doc: "systemd: the unit's properties (ActiveState, SubState, UnitFileState, LoadState, MainPID)"},
}

func validateService(args modules.Args) error {
	if args.Has("name") {
		return nil
	}
	if args.Bool("daemon_reload") {
		return nil
	}
	if args.Has("state") || args.Has("enabled") || args.Has("masked") {
		return errors.New("name is required with state, enabled or masked")
	}
	return errors.New("give name (and state, enabled or masked), or daemon_reload: true")
}

// svcState is what the probe found.
type svcState struct {
	running, enabled, masked bool
	props                    map[string]string
}

func (s svcState) text(masked bool) map[string]string {
	state := "stopped"
	if s.running {
		state = "started"
	}
	m := map[string]string{"state": state, "enabled": fmt.Sprint(s.enabled)}
	if masked {
		m["masked"] = fmt.Sprint(s.masked)
	}
	return m
}

// hostServiceManager is "systemd" when PID 1 is systemd, else "sysvinit".
func hostServiceManager(ctx context.Context, h *modules.Host) (string, error) {
	r, err := sysSh(ctx, h, `if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then echo systemd; else echo sysvinit; fi`, "")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(r.Stdout), nil
}

func runService(ctx context.Context, h *modules.Host, args modules.Args, apply, systemdOnly bool) (modules.Result, error) {
	mgr, err := hostServiceManager(ctx, h)
	if err != nil {
		return modules.Result{}, err
	}
	switch use := args.String("use"); {
	case systemdOnly && mgr != "systemd":
		return modules.Fail("systemd is not the service manager on this host (PID 1 is not systemd): use the service module", map[string]any{"manager": mgr}), nil
	case use == "systemd":
		mgr = "systemd"
	case use == "sysvinit" || use == "service":
		mgr = "sysvinit"
	}
	name := args.String("name")
	data := map[string]any{"manager": mgr}
	if mgr == "systemd" && args.Bool("daemon_reload") {
		if apply {
			r, err := sysArgv(ctx, h, "systemctl", "daemon-reload")
			if err != nil {
				return modules.Result{}, err
			}
			if r.RC != 0 {
				return sysFailed("systemctl daemon-reload", r, data), nil
			}
		}
		if name == "" {
			return modules.Result{Data: data}, nil
		}
	}
	data["name"] = name
	probe := probeSysv
	if mgr == "systemd" {
		probe = probeSystemd
	}
	before, fail, err := probe(ctx, h, name)
	if err != nil || fail != "" {
		if fail != "" && !apply { // an earlier task may install it; --check cannot tell
			return modules.Result{Unknown: true, Msg: fail, Data: data}, nil
		}
		if fail != "" {
			return modules.Fail(fail, data), nil
		}
		return modules.Result{}, err
	}
	after := before
	var actions [][]string // each an argv
	sysv := func(action string) []string {
		a := []string{"service", name, action}
		if extra := args.String("arguments"); extra != "" {
			a = append(a, strings.Fields(extra)...)
		}
		return a
	}
	block := []string{}
	if args.Bool("no_block") {
		block = []string{"--no-block"}
	}
	if mgr == "systemd" && args.Has("masked") && args.Bool("masked") != before.masked {
		verb := "unmask"
		if args.Bool("masked") {
			verb = "mask"
		}
		actions = append(actions, []string{"systemctl", verb, name})
		after.masked = args.Bool("masked")
	}
	if args.Has("enabled") && args.Bool("enabled") != before.enabled {
		want := args.Bool("enabled")
		switch {
		case mgr == "systemd" && want:
			actions = append(actions, []string{"systemctl", "enable", name})
		case mgr == "systemd":
			actions = append(actions, []string{"systemctl", "disable", name})
		case want:
			actions = append(actions, []string{"sh", "-c", `ls /etc/rc[S2345].d/[SK][0-9][0-9]"$1" >/dev/null 2>&1 || update-rc.d "$1" defaults; update-rc.d "$1" enable`, "sh", name})
		default:
			actions = append(actions, []string{"sh", "-c", `ls /etc/rc[S2345].d/[SK][0-9][0-9]"$1" >/dev/null 2>&1 || update-rc.d "$1" defaults; update-rc.d "$1" disable`, "sh", name})
		}
		after.enabled = want
	}
	verb := ""
	switch args.String("state") {
	case "started":
		if !before.running {
			verb = "start"
		}
	case "stopped":
		if before.running {
			verb = "stop"
		}
	case "restarted":
		verb = "restart"
	case "reloaded":
		verb = "reload"
		if !before.running { // as Ansible: reloading a stopped service starts it
			verb = "start"
		}
	}
	if verb != "" {
		if mgr == "systemd" {
			actions = append(actions, append(append([]string{"systemctl"}, block...), verb, name))
		} else {
			actions = append(actions, sysv(verb))
		}
		after.running = verb != "stop"
	}
	changed := len(actions) > 0
	var diff *modules.Diff
	if changed {
		diff = sysStateDiff("service "+name, before.text(systemdOnly || args.Has("masked")), after.text(systemdOnly || args.Has("masked")))
	}
	final := after
	if apply {
		for _, a := range actions {
			r, err := sysArgv(ctx, h, a...)
			if err != nil {
				return modules.Result{}, err
			}
			if r.RC != 0 {
				return sysFailed(strings.Join(a, " "), r, data), nil
			}
		}
		if changed {
			var fail string
			final, fail, err = probe(ctx, h, name)
			if err != nil {
				return modules.Result{}, err
			}
			if fail != "" {
				return modules.Fail(fail, data), nil
			}
			// A stopped service whose start returned 0 but is not running (a crashing daemon)
			// is reported as it is, not as asked.
			if args.String("state") == "stopped" && final.running {
				return modules.Fail(fmt.Sprintf("service %s is still running after stop", name), data), nil
			}
		}
	}
	state := "stopped"
	if final.running {
		state = "started"
	}
	data["state"], data["enabled"] = state, final.enabled
	if final.props != nil {
		status := map[string]any{}
		for k, v := range final.props {
			status[k] = v
		}
		data["status"] = status
	}
	return modules.Result{Changed: changed, Diff: diff, Data: data}, nil
}

// probeSystemd reads a unit's state with systemctl show. fail is a message for a unit that
// does not exist.
func probeSystemd(ctx context.Context, h *modules.Host, name string) (svcState, string, error) {
	r, err := sysArgv(ctx, h, "systemctl", "show", "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,Id", "--", name)
	if err != nil {
		return svcState{}, "", err
	}
	if r.RC != 0 {
		return svcState{}, "systemctl show " + name + ": " + r.out(), nil
	}
	props := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			props[k] = v
		}
	}
	if props["LoadState"] == "not-found" {
		return svcState{}, fmt.Sprintf("Could not find the requested service %s: host", name), nil
	}
	active := props["ActiveState"]
	s := svcState{props: props, masked: props["LoadState"] == "masked" || props["UnitFileState"] == "masked"}
	s.running = active == "active" || active == "activating" || active == "reloading"
	switch props["UnitFileState"] {
	case "enabled", "enabled-runtime", "alias", "static", "indirect", "generated":
		s.enabled = true
	}
	// A unit that only a sysvinit script provides: systemctl is-enabled asks systemd-sysv-install.
	if props["UnitFileState"] == "" {
		if r, err := sysArgv(ctx, h, "systemctl", "is-enabled", "--", name); err == nil {
			s.enabled = r.RC == 0
		}
	}
	return s, "", nil
}

// probeSysv reads a sysvinit service's state: its script's status action and its rc links.
func probeSysv(ctx context.Context, h *modules.Host, name string) (svcState, string, error) {
	q := shellquote.Quote(name)
	r, err := sysSh(ctx, h, `[ -x /etc/init.d/`+q+` ] || { echo missing; exit 0; }
service `+q+` status >/dev/null 2>&1 && echo running || echo stopped
if ls /etc/rc[2345].d/S[0-9][0-9]`+q+` >/dev/null 2>&1; then echo enabled; else echo disabled; fi`, "")
	if err != nil {
		return svcState{}, "", err
	}
	f := strings.Fields(r.Stdout)
	if len(f) == 0 || f[0] == "missing" {
		return svcState{}, fmt.Sprintf("Could not find the requested service %s: no /etc/init.d/%s", name, name), nil
	}
	if len(f) < 2 {
		return svcState{}, "", fmt.Errorf("probe service %s: %s", name, r.out())
	}
	return svcState{running: f[0] == "running", enabled: f[1] == "enabled"}, "", nil
}
