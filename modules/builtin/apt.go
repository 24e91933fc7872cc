package builtin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// Apt manages Debian packages with apt-get and dpkg.
type Apt struct{}

func (Apt) Name() string { return "apt" }

func (Apt) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Install, upgrade or remove Debian packages with apt",
		Description: "present installs what is missing (`name=version` pins a version), latest also " +
			"upgrades to the candidate version, absent removes (purge: also the configuration). " +
			"update_cache runs apt-get update first, unless the cache is younger than " +
			"cache_valid_time seconds; alone it is a change when it ran. deb installs a .deb file " +
			"on the host (with its dependencies) unless that version is installed. apt-get runs " +
			"with DEBIAN_FRONTEND=noninteractive.",
		CheckMode: "Reads dpkg's status and apt's candidate versions from the current cache and " +
			"reports changed with a diff of the packages' versions when Apply would install, " +
			"upgrade or remove; an update_cache that would run is a change. An unknown package " +
			"fails.",
		FreeForm: "name",
		Args: []modules.Arg{
			{Name: "name", Type: modules.StringList, Doc: "package names, each maybe name=version (a list, or one name)"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent", "latest"}, Doc: "present, absent or latest"},
			{Name: "update_cache", Type: modules.Bool, Default: false, Doc: "run apt-get update first"},
			{Name: "cache_valid_time", Type: modules.Int, Doc: "skip the update when the cache is younger than this many seconds (0, the default: always update); given, it implies update_cache, as in Ansible 2.4+"},
			{Name: "deb", Type: modules.String, Doc: "path of a .deb file on the host to install"},
			{Name: "purge", Type: modules.Bool, Default: false, Doc: "with absent: remove the configuration files too"},
			{Name: "install_recommends", Type: modules.Bool, Doc: "install recommended packages (default: apt's setting)"},
			{Name: "autoremove", Type: modules.Bool, Default: false, Doc: "remove packages nothing depends on any more"},
		},
		Returns: []modules.Field{
			{Name: "cache_updated", Type: "bool", Doc: "apt-get update ran"},
			{Name: "cache_update_time", Type: "int", Doc: "when the cache was last updated (Unix time)"},
			{Name: "packages", Type: "map", Doc: "each package's installed version after the task (\"\" when not installed)"},
			{Name: "stdout", Type: "string", Doc: "apt-get's output"},
			{Name: "stderr", Type: "string", Doc: "apt-get's errors"},
		},
	}
}

func (Apt) Validate(args modules.Args) error {
	if !args.Has("name") && !args.Has("deb") && !args.Bool("update_cache") && !args.Has("cache_valid_time") && !args.Bool("autoremove") {
		return errors.New("give name, deb, update_cache (or cache_valid_time) or autoremove")
	}
	if args.Has("deb") && args.String("state") == "absent" {
		return errors.New("deb installs a package file; to remove it, give its name with state: absent")
	}
	return nil
}

func (Apt) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runApt(ctx, h, args, false)
}

func (Apt) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runApt(ctx, h, args, true)
}

// aptEnv prefixes every apt-get and dpkg command.
const aptEnv = "DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none "

// aptInstalled returns the installed version of each package ("" when not installed).
func aptInstalled(ctx context.Context, h *modules.Host, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		out[n] = ""
	}
	if len(names) == 0 {
		return out, nil
	}
	r, err := sysSh(ctx, h, "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n' -- "+shellquote.Join(names...)+" 2>/dev/null; true", "")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && strings.HasPrefix(f[1], "ii") {
			out[f[0]] = f[2]
		}
	}
	return out, nil
}

// aptCandidates returns each package's candidate version from apt's cache ("" when apt
// knows no installable version).
func aptCandidates(ctx context.Context, h *modules.Host, names []string) (map[string]string, error) {
	out := map[string]string{}
	r, err := sysSh(ctx, h, "LC_ALL=C apt-cache policy -- "+shellquote.Join(names...), "")
	if err != nil {
		return nil, err
	}
	cur := ""
	for _, line := range strings.Split(r.Stdout, "\n") {
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			v = strings.TrimSpace(v)
			if v == "(none)" {
				v = ""
			}
			out[cur] = v
		}
	}
	return out, nil
}

// aptAvailable reports whether apt's cache has version v of name.
func aptAvailable(ctx context.Context, h *modules.Host, name, v string) (bool, error) {
	r, err := sysSh(ctx, h, "LC_ALL=C apt-cache madison -- "+shellquote.Quote(name), "")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Split(line, "|")
		if len(f) >= 2 && strings.TrimSpace(f[1]) == v {
			return true, nil
		}
	}
	return false, nil
}

// aptCacheTime is when the package lists were last updated (Unix seconds, 0 when never): the
// newest of apt's success stamp and the lists it fetched.
func aptCacheTime(ctx context.Context, h *modules.Host) (int64, error) {
	r, err := sysSh(ctx, h, `t=0; for f in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/*_Packages* /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release; do [ -e "$f" ] || continue; s=$(stat -c %Y "$f"); [ "$s" -gt "$t" ] && t=$s; done; echo $t`, "")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(r.Stdout), 10, 64)
}

func runApt(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	data := map[string]any{"cache_updated": false}
	var changed bool
	var stdout, stderr strings.Builder
	add := func(r sysRun) { stdout.WriteString(r.Stdout); stderr.WriteString(r.Stderr) }
	finish := func(diff *modules.Diff) (modules.Result, error) {
		data["stdout"], data["stderr"] = trimFinalNewline(stdout.String()), trimFinalNewline(stderr.String())
		return modules.Result{Changed: changed, Diff: diff, Data: data}, nil
	}
	if args.Bool("update_cache") || args.Has("cache_valid_time") {
		t, err := aptCacheTime(ctx, h)
		if err != nil {
			return modules.Result{}, err
		}
		valid := args.Int("cache_valid_time")
		if valid <= 0 || time.Now().Unix()-t > int64(valid) {
			if apply {
				r, err := sysSh(ctx, h, aptEnv+"apt-get update -q", "")
				if err != nil {
					return modules.Result{}, err
				}
				add(r)
				if r.RC != 0 {
					return sysFailed("apt-get update", r, data), nil
				}
				if t, err = aptCacheTime(ctx, h); err != nil {
					return modules.Result{}, err
				}
			}
			data["cache_updated"] = true
			if !args.Has("name") && !args.Has("deb") {
				changed = true
			}
		}
		data["cache_update_time"] = t
	}
	if deb := args.String("deb"); deb != "" {
		return aptDeb(ctx, h, args, apply, deb, data, &stdout, &stderr)
	}
	names, pins := []string{}, map[string]string{}
	for _, n := range args.Strings("name") {
		name, v, _ := strings.Cut(n, "=")
		names = append(names, name)
		if v != "" {
			pins[name] = v
		}
	}
	before, err := aptInstalled(ctx, h, names)
	if err != nil {
		return modules.Result{}, err
	}
	after := map[string]string{}
	for k, v := range before {
		after[k] = v
	}
	var todo []string // apt-get arguments
	state := args.String("state")
	if state != "absent" && len(names) > 0 {
		cand, err := aptCandidates(ctx, h, names)
		if err != nil {
			return modules.Result{}, err
		}
		for _, n := range names {
			want := pins[n]
			switch {
			case want != "":
				if before[n] == want {
					continue
				}
				ok, err := aptAvailable(ctx, h, n, want)
				if err != nil {
					return modules.Result{}, err
				}
				if !ok {
					return modules.Fail(fmt.Sprintf("No package matching '%s=%s' is available", n, want), data), nil
				}
				todo = append(todo, n+"="+want)
				after[n] = want
			case cand[n] == "" && before[n] == "":
				return modules.Fail(fmt.Sprintf("No package matching '%s' is available", n), data), nil
			case before[n] == "" || (state == "latest" && cand[n] != "" && cand[n] != before[n]):
				todo = append(todo, n)
				after[n] = cand[n]
			}
		}
	}
	if state == "absent" {
		for _, n := range names {
			if before[n] != "" {
				todo = append(todo, n)
				after[n] = ""
			}
		}
	}
	if len(todo) > 0 {
		changed = true
		if apply {
			var line string
			if state == "absent" {
				verb := "remove"
				if args.Bool("purge") {
					verb = "purge"
				}
				line = aptEnv + "apt-get " + verb + " -y -q -- " + shellquote.Join(todo...)
			} else {
				line = aptEnv + "apt-get install -y -q" + aptRecommends(args) + " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- " + shellquote.Join(todo...)
			}
			r, err := sysSh(ctx, h, line, "")
			if err != nil {
				return modules.Result{}, err
			}
			add(r)
			if r.RC != 0 {
				return sysFailed("apt-get", r, data), nil
			}
			if after, err = aptInstalled(ctx, h, names); err != nil {
				return modules.Result{}, err
			}
		}
	}
	if args.Bool("autoremove") {
		r, err := sysSh(ctx, h, "LC_ALL=C apt-get -s autoremove -q | grep -c '^Remv ' || true", "")
		if err != nil {
			return modules.Result{}, err
		}
		if strings.TrimSpace(r.Stdout) != "0" {
			changed = true
			if apply {
				r, err := sysSh(ctx, h, aptEnv+"apt-get autoremove -y -q", "")
				if err != nil {
					return modules.Result{}, err
				}
				add(r)
				if r.RC != 0 {
					return sysFailed("apt-get autoremove", r, data), nil
				}
			}
		}
	}
	data["packages"] = versionsData(after)
	var diff *modules.Diff
	if len(todo) > 0 {
		diff = &modules.Diff{Before: versionsText(before), After: versionsText(after), BeforeLabel: "packages", AfterLabel: "packages"}
	}
	return finish(diff)
}

func aptRecommends(args modules.Args) string {
	if !args.Has("install_recommends") {
		return ""
	}
	if args.Bool("install_recommends") {
		return " --install-recommends"
	}
	return " --no-install-recommends"
}

// aptDeb installs a .deb file on the host unless its version is installed.
func aptDeb(ctx context.Context, h *modules.Host, args modules.Args, apply bool, deb string, data map[string]any, stdout, stderr *strings.Builder) (modules.Result, error) {
	r, err := sysArgv(ctx, h, "dpkg-deb", "--showformat=${Package}\\t${Version}", "--show", deb)
	if err != nil {
		return modules.Result{}, err
	}
	if r.RC != 0 {
		return sysFailed("dpkg-deb --show "+deb, r, data), nil
	}
	name, version, _ := strings.Cut(strings.TrimSpace(r.Stdout), "\t")
	before, err := aptInstalled(ctx, h, []string{name})
	if err != nil {
		return modules.Result{}, err
	}
	res := modules.Result{Data: data}
	after := map[string]string{name: version}
	if before[name] != version {
		res.Changed = true
		res.Diff = &modules.Diff{Before: versionsText(before), After: versionsText(after), BeforeLabel: "packages", AfterLabel: "packages"}
		if apply {
			// A path with a slash makes apt-get install the file, and its dependencies.
			p := deb
			if !strings.Contains(p, "/") {
				p = "./" + p
			}
			r, err := sysSh(ctx, h, aptEnv+"apt-get install -y -q"+aptRecommends(args)+" -- "+shellquote.Quote(p), "")
			if err != nil {
				return modules.Result{}, err
			}
			stdout.WriteString(r.Stdout)
			stderr.WriteString(r.Stderr)
			if r.RC != 0 {
				return sysFailed("apt-get install "+deb, r, data), nil
			}
			if after, err = aptInstalled(ctx, h, []string{name}); err != nil {
				return modules.Result{}, err
			}
		}
	} else {
		after = before
	}
	data["packages"] = versionsData(after)
	data["stdout"], data["stderr"] = trimFinalNewline(stdout.String()), trimFinalNewline(stderr.String())
	return res, nil
}

func versionsData(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// versionsText is "name version" lines ("name (not installed)"), sorted, for a diff.
func versionsText(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if m[n] == "" {
			fmt.Fprintf(&b, "%s (not installed)\n", n)
		} else {
			fmt.Fprintf(&b, "%s %s\n", n, m[n])
		}
	}
	return b.String()
}
