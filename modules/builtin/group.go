package builtin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Group manages a local group with groupadd, groupmod and groupdel.
type Group struct{}

func (Group) Name() string { return "group" }

func (Group) Spec() modules.Spec {
	return modules.Spec{
		Summary:     "Create, change or remove a local group",
		Description: "present creates the group (groupadd) or changes its gid (groupmod); absent removes it (groupdel).",
		CheckMode:   "Reads the group (getent group) and reports changed with a diff when Apply would create, change or remove it.",
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "the group name"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			{Name: "gid", Type: modules.Int, Doc: "the group id"},
			{Name: "system", Type: modules.Bool, Default: false, Doc: "create a system group (only when creating)"},
			{Name: "non_unique", Type: modules.Bool, Default: false, Doc: "allow a gid another group has (-o)"},
		},
		Returns: []modules.Field{
			{Name: "name", Type: "string", Doc: "the group"},
			{Name: "state", Type: "string", Doc: "present or absent"},
			{Name: "gid", Type: "int", Doc: "the group id"},
			{Name: "system", Type: "bool", Doc: "a system group was asked for"},
		},
	}
}

func (Group) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runGroup(ctx, h, args, false)
}

func (Group) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runGroup(ctx, h, args, true)
}

// probeGroup returns the group's gid, or -1 when it does not exist.
func probeGroup(ctx context.Context, h *modules.Host, name string) (int, error) {
	r, err := sysArgv(ctx, h, "getent", "group", name)
	if err != nil {
		return 0, err
	}
	if r.RC == 2 {
		return -1, nil
	}
	f := strings.Split(strings.TrimSpace(r.Stdout), ":")
	if r.RC != 0 || len(f) < 3 {
		return 0, fmt.Errorf("read group %s: %s", name, r.out())
	}
	return strconv.Atoi(f[2])
}

func runGroup(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	name := args.String("name")
	data := map[string]any{"name": name, "state": args.String("state"), "system": args.Bool("system")}
	gid, err := probeGroup(ctx, h, name)
	if err != nil {
		return modules.Result{}, err
	}
	text := func(gid int) map[string]string {
		if gid < 0 {
			return map[string]string{"state": "absent"}
		}
		return map[string]string{"state": "present", "gid": strconv.Itoa(gid)}
	}
	var argv []string
	want := gid
	switch {
	case args.String("state") == "absent":
		if gid >= 0 {
			argv, want = []string{"groupdel", "--", name}, -1
		}
	case gid < 0:
		argv = []string{"groupadd"}
		if args.Bool("system") {
			argv = append(argv, "-r")
		}
		want = 0
		if args.Has("gid") {
			argv, want = append(argv, "-g", strconv.Itoa(args.Int("gid"))), args.Int("gid")
			if args.Bool("non_unique") {
				argv = append(argv, "-o")
			}
		}
		argv = append(argv, "--", name)
	case args.Has("gid") && args.Int("gid") != gid:
		argv, want = []string{"groupmod", "-g", strconv.Itoa(args.Int("gid"))}, args.Int("gid")
		if args.Bool("non_unique") {
			argv = append(argv, "-o")
		}
		argv = append(argv, "--", name)
	}
	if gid >= 0 {
		data["gid"] = gid
	}
	if argv == nil {
		return modules.Result{Data: data}, nil
	}
	after := text(want)
	if want == 0 && !args.Has("gid") {
		after["gid"] = "(assigned)"
	}
	res := modules.Result{Changed: true, Diff: sysStateDiff("group "+name, text(gid), after), Data: data}
	if apply {
		r, err := sysArgv(ctx, h, argv...)
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed(argv[0], r, data), nil
		}
		if gid, err = probeGroup(ctx, h, name); err != nil {
			return modules.Result{}, err
		}
		delete(data, "gid")
		if gid >= 0 {
			data["gid"] = gid
		}
	}
	return res, nil
}
