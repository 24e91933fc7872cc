package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// Cron manages an entry of a user's crontab, marked as Ansible marks its entries.
type Cron struct{}

func (Cron) Name() string { return "cron" }

// cronMarker starts the comment line above every entry the module manages, as Ansible writes it.
const cronMarker = "#Ansible: "

func (Cron) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Add, change or remove a job in a user's crontab",
		Description: "Each managed job is two lines of the user's crontab (crontab -l, crontab -), " +
			"as Ansible writes them, so that the two can manage the same crontab: a comment " +
			"`#Ansible: NAME` and the job line `MIN HOUR DAY MONTH WEEKDAY JOB` (or `@SPECIAL JOB`, " +
			"and commented out with `#` when disabled). Lines it does not manage are kept.",
		CheckMode: "Reads the crontab and reports changed with a diff of it when Apply would " +
			"add, change or remove the entry; unknown when the user does not exist (yet).",
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "the entry's name (its #Ansible: marker)"},
			{Name: "job", Type: modules.String, Doc: "the command to run; required with state present"},
			{Name: "user", Type: modules.String, Doc: "whose crontab (crontab -u); default: the user the task runs as"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			{Name: "minute", Type: modules.String, Default: "*", Doc: "minute (0-59, */5, ...)"},
			{Name: "hour", Type: modules.String, Default: "*", Doc: "hour (0-23, ...)"},
			{Name: "day", Type: modules.String, Default: "*", Doc: "day of the month (1-31, ...)"},
			{Name: "month", Type: modules.String, Default: "*", Doc: "month (1-12, ...)"},
			{Name: "weekday", Type: modules.String, Default: "*", Doc: "day of the week (0-6 for Sunday-Saturday, ...)"},
			{Name: "special_time", Type: modules.String, Choices: []string{"annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly"}, Doc: "instead of the time fields: @reboot, @daily, ..."},
			{Name: "disabled", Type: modules.Bool, Default: false, Doc: "keep the entry, commented out"},
		},
		Returns: []modules.Field{
			{Name: "jobs", Type: "list", Doc: "the names of the managed entries in the crontab after the task"},
			{Name: "envs", Type: "list", Doc: "the crontab's variable lines (NAME=value)"},
		},
	}
}

func (Cron) Validate(args modules.Args) error {
	if args.String("state") == "present" && !args.Has("job") {
		return errors.New("job is required with state present")
	}
	if args.Has("special_time") {
		for _, f := range []string{"minute", "hour", "day", "month", "weekday"} {
			if v, ok := args[f].(string); ok && v != "*" {
				return errors.New("give special_time or the time fields (minute, hour, day, month, weekday), not both")
			}
		}
	}
	return nil
}

func (Cron) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runCron(ctx, h, args, false)
}

func (Cron) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runCron(ctx, h, args, true)
}

// cronJobLine is the job line the arguments ask for.
func cronJobLine(args modules.Args) string {
	var line string
	if s := args.String("special_time"); s != "" {
		line = "@" + s + " " + args.String("job")
	} else {
		line = strings.Join([]string{args.String("minute"), args.String("hour"), args.String("day"),
			args.String("month"), args.String("weekday"), args.String("job")}, " ")
	}
	if args.Bool("disabled") {
		line = "#" + line
	}
	return line
}

// cronEdit returns the crontab with the entry set (line != "") or removed (line == "").
func cronEdit(tab, name, line string) string {
	var lines []string
	if tab != "" {
		lines = strings.Split(strings.TrimRight(tab, "\n"), "\n")
	}
	var out []string
	done := false
	for i := 0; i < len(lines); i++ {
		if lines[i] == cronMarker+name {
			i++ // the job line below the marker
			if line != "" && !done {
				out = append(out, cronMarker+name, line)
				done = true
			}
			continue
		}
		out = append(out, lines[i])
	}
	if line != "" && !done {
		out = append(out, cronMarker+name, line)
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

func cronData(tab string) map[string]any {
	jobs, envs := []any{}, []any{}
	for _, l := range strings.Split(tab, "\n") {
		if n, ok := strings.CutPrefix(l, cronMarker); ok {
			jobs = append(jobs, n)
		} else if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(strings.TrimSpace(l), "#") && !strings.ContainsAny(k, " \t") {
			envs = append(envs, k)
		}
	}
	return map[string]any{"jobs": jobs, "envs": envs}
}

func runCron(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	user := ""
	if u := args.String("user"); u != "" {
		user = " -u " + shellquote.Quote(u)
	}
	r, err := sysSh(ctx, h, "crontab"+user+" -l", "")
	if err != nil {
		return modules.Result{}, err
	}
	tab := r.Stdout
	if r.RC != 0 {
		if !strings.Contains(r.Stderr, "no crontab for") {
			if !apply && strings.Contains(r.Stderr, "unknown") {
				// An earlier task may create the user; --check cannot tell.
				return modules.Result{Unknown: true, Msg: "cannot read the crontab: " + strings.TrimSpace(r.Stderr)}, nil
			}
			return sysFailed("crontab -l", r, nil), nil
		}
		tab = ""
	}
	line := ""
	if args.String("state") == "present" {
		line = cronJobLine(args)
	}
	want := cronEdit(tab, args.String("name"), line)
	if want == tab {
		return modules.Result{Data: cronData(tab)}, nil
	}
	label := "crontab"
	if u := args.String("user"); u != "" {
		label += " of " + u
	}
	res := modules.Result{Changed: true, Diff: &modules.Diff{Before: tab, After: want, BeforeLabel: label, AfterLabel: label}, Data: cronData(want)}
	if apply {
		cmd := "crontab" + user + " -"
		if want == "" {
			cmd = "crontab" + user + " -r"
		}
		r, err := sysSh(ctx, h, cmd, want)
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed(cmd, r, nil), nil
		}
	}
	return res, nil
}
