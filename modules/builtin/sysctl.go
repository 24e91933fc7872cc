package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// Sysctl manages a kernel setting in a sysctl file and, optionally, in the running kernel.
type Sysctl struct{}

func (Sysctl) Name() string { return "sysctl" }

func (Sysctl) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Set a kernel parameter in a sysctl file and in the running kernel",
		Description: "present writes `name=value` in sysctl_file (replacing the setting's line, " +
			"keeping every other line), absent removes its lines. When the file changed and " +
			"reload is true, `sysctl -p FILE` applies it. sysctl_set also compares the running " +
			"value (sysctl -n) and sets it with sysctl -w when it differs. Values compare with " +
			"their whitespace collapsed (\"4096  87380\" is \"4096 87380\").",
		CheckMode: "Reads the file (and with sysctl_set the running value) and reports changed " +
			"with a diff of the file, and of the running value, when Apply would change them.",
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "the setting, e.g. vm.swappiness"},
			{Name: "value", Type: modules.String, Doc: "its value; required with state present"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			{Name: "sysctl_file", Type: modules.String, Default: "/etc/sysctl.conf", Doc: "the file the setting is kept in"},
			{Name: "reload", Type: modules.Bool, Default: true, Doc: "apply the file (sysctl -p FILE) when it changed"},
			{Name: "sysctl_set", Type: modules.Bool, Default: false, Doc: "also set the running value with sysctl -w when it differs"},
			{Name: "ignoreerrors", Type: modules.Bool, Default: false, Doc: "ignore unknown keys when reloading (sysctl -e)"},
		},
		Returns: []modules.Field{
			{Name: "name", Type: "string", Doc: "the setting"},
			{Name: "value", Type: "string", Doc: "the value asked for"},
			{Name: "current", Type: "string", Doc: "with sysctl_set: the running value after the task"},
		},
	}
}

func (Sysctl) Validate(args modules.Args) error {
	if args.String("state") == "present" && !args.Has("value") {
		return errors.New("value is required with state present")
	}
	return nil
}

func (Sysctl) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runSysctl(ctx, h, args, false)
}

func (Sysctl) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runSysctl(ctx, h, args, true)
}

func normSysctl(v string) string { return strings.Join(strings.Fields(v), " ") }

// editSysctl returns the file with name set to value (present) or removed.
func editSysctl(content, name, value string, present bool) string {
	var lines []string
	if content != "" {
		lines = strings.Split(strings.TrimRight(content, "\n"), "\n")
	}
	var out []string
	done := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if k, _, ok := strings.Cut(t, "="); ok && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, ";") && strings.TrimSpace(k) == name {
			if present && !done {
				out = append(out, name+"="+value)
				done = true
			}
			continue
		}
		out = append(out, l)
	}
	if present && !done {
		out = append(out, name+"="+value)
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

// fileSysctlValue is the value the file gives name ("" when none).
func fileSysctlValue(content, name string) (string, bool) {
	for _, l := range strings.Split(content, "\n") {
		t := strings.TrimSpace(l)
		if k, v, ok := strings.Cut(t, "="); ok && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, ";") && strings.TrimSpace(k) == name {
			return normSysctl(v), true
		}
	}
	return "", false
}

func runSysctl(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	name, file := args.String("name"), args.String("sysctl_file")
	value := normSysctl(args.String("value"))
	present := args.String("state") == "present"
	data := map[string]any{"name": name, "value": value}
	before, _, err := sysReadFile(ctx, h, file)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	after := before
	if have, ok := fileSysctlValue(before, name); !present || !ok || have != value {
		after = editSysctl(before, name, value, present)
	}
	fileChanged := after != before
	var running string
	setRunning := false
	if args.Bool("sysctl_set") && present {
		r, err := sysArgv(ctx, h, "sysctl", "-n", "--", name)
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("sysctl -n "+name+" (is it a kernel setting?)", r, data), nil
		}
		running = normSysctl(r.Stdout)
		setRunning = running != value
		data["current"] = running
	}
	changed := fileChanged || setRunning
	if !changed {
		return modules.Result{Data: data}, nil
	}
	diff := &modules.Diff{Before: before, After: after, BeforeLabel: file, AfterLabel: file}
	if setRunning {
		diff.Before += "# running: " + name + " = " + running + "\n"
		diff.After += "# running: " + name + " = " + value + "\n"
	}
	res := modules.Result{Changed: true, Diff: diff, Data: data}
	if !apply {
		return res, nil
	}
	if fileChanged {
		r, err := sysWriteFile(ctx, h, file, after, "644", "")
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("write "+file, r, data), nil
		}
	}
	if setRunning {
		r, err := sysArgv(ctx, h, "sysctl", "-q", "-w", name+"="+value)
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("sysctl -w "+name, r, data), nil
		}
	}
	if fileChanged && args.Bool("reload") {
		e := ""
		if args.Bool("ignoreerrors") {
			e = "-e "
		}
		r, err := sysSh(ctx, h, "sysctl -q "+e+"-p "+shellquote.Quote(file), "")
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("sysctl -p "+file, r, data), nil
		}
	}
	if args.Bool("sysctl_set") && present {
		r, err := sysArgv(ctx, h, "sysctl", "-n", "--", name)
		if err != nil {
			return modules.Result{}, err
		}
		data["current"] = normSysctl(r.Stdout)
	}
	return res, nil
}
