package oms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/oms/internal/omsutil"
	"github.com/omsbook/omsbook/secret"
)

// DockerContainer drives one container through the docker CLI on the host: its state, its run
// spec, commands inside it and copies in and out of it.
type DockerContainer struct{}

// Name is the task key.
func (DockerContainer) Name() string { return "docker_container" }

// Spec declares the arguments.
func (DockerContainer) Spec() modules.Spec {
	return modules.Spec{
		Summary: "manage a Docker container: state, run spec, exec, docker cp",
		Description: `Drives the docker CLI on the executing host (docker_cmd), reading one "docker inspect" per probe.
Exactly one action per task: state (started, stopped, restarted, absent, present), exec, copy_from or
copy_to; with none of them the module only inspects the container and registers its facts.
The run spec (image, network_mode, binds, env, privileged, pids_limit, ulimits, tty, interactive,
restart_policy, command) is used to create a missing container and compared field by field with an
existing one: a difference fails with a diff unless recreate is true, which removes and recreates it.
Only the fields given are compared; env keys the image adds are ignored.
binds_from carries every bind mount and named volume of another container into this one, as it
is (source, target, read-only); bind_targets, when given, lists container paths that must be among
them (a check, not a filter: a missing one fails before anything changes). binds given beside
binds_from are added, and one whose container path equals a carried one replaces it.
state stopped on a missing container is ok (nothing to stop). state restarted always restarts.
Environment values whose names look secret (PASSWORD, SECRET, TOKEN, ...) or are listed in secret_env
reach docker as an --env-file read from a pipe (never a file on the host, never an argv), and are masked
in registered facts.`,
		CheckMode: `inspects only: says whether it would create, start, stop, restart, remove or recreate the
container, or fails with the spec diff; exec reports it would run (unknown when the container is not
running); copy_from/copy_to compare the files read-only.`,
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "container name"},
			{Name: "state", Type: modules.String, Choices: []string{"started", "stopped", "restarted", "absent", "present"}, Doc: "the state to bring the container to"},
			{Name: "image", Type: modules.String, Doc: "image of a container to create; compared with an existing one"},
			{Name: "network_mode", Type: modules.String, Doc: `network mode, e.g. "host" (docker run --net)`},
			{Name: "binds", Type: modules.StringList, Doc: "bind mounts host:container[:ro]"},
			{Name: "binds_from", Type: modules.String, Doc: "carry every bind mount and named volume of this container"},
			{Name: "bind_targets", Type: modules.StringList, Doc: "container paths that binds_from must carry (checked, never a filter)"},
			{Name: "env", Type: modules.Map, Doc: "environment of the container (with exec: of the command)"},
			{Name: "secret_env", Type: modules.StringList, Doc: "env keys whose values are secret (masked, passed through a file)"},
			{Name: "privileged", Type: modules.Bool, Doc: "run privileged"},
			{Name: "pids_limit", Type: modules.Int, Doc: "pids limit; -1 or 0 for unlimited"},
			{Name: "ulimits", Type: modules.StringList, Doc: `ulimits "name=soft[:hard]", e.g. nproc=65535:65535`},
			{Name: "tty", Type: modules.Bool, Doc: "allocate a tty (docker run -t)"},
			{Name: "interactive", Type: modules.Bool, Doc: "keep stdin open (docker run -i)"},
			{Name: "detach", Type: modules.Bool, Default: true, Doc: "run detached (docker run -d)"},
			{Name: "restart_policy", Type: modules.String, Doc: "restart policy, e.g. no, always, unless-stopped"},
			{Name: "command", Type: modules.Any, Doc: "command of a new container: a string (split on spaces) or a list"},
			{Name: "recreate", Type: modules.Bool, Default: false, Doc: "replace a container whose spec differs"},
			{Name: "stop_timeout", Type: modules.Int, Doc: "seconds docker stop/restart waits before killing"},
			{Name: "exec", Type: modules.Any, Doc: "command to run in the running container: a string (run by sh -c) or an argv list"},
			{Name: "user", Type: modules.String, Doc: "user for exec"},
			{Name: "copy_from", Type: modules.String, Doc: "path in the container to copy to dest on the host"},
			{Name: "copy_to", Type: modules.String, Doc: "path in the container to copy src on the host to"},
			{Name: "dest", Type: modules.String, Doc: "host path for copy_from (a directory receives the file under its own name)"},
			{Name: "src", Type: modules.String, Doc: "host path for copy_to"},
			dockerCmdArg,
		},
		Returns: []modules.Field{
			{Name: "exists", Type: "bool", Doc: "the container exists (after the task)"},
			{Name: "container", Type: "map", Doc: "inspect facts: name, id, state, running, image, image_id, mounts [{source, destination, rw}], binds, env (masked), started_at, finished_at, exit_code"},
			{Name: "rc", Type: "int", Doc: "exec: exit status"},
			{Name: "stdout", Type: "string", Doc: "exec: standard output"},
			{Name: "stderr", Type: "string", Doc: "exec: standard error"},
			{Name: "stdout_lines", Type: "list", Doc: "exec: stdout split in lines"},
			{Name: "action", Type: "string", Doc: "what was done or would be done: none, create, run, start, stop, restart, remove, recreate, exec, copy"},
		},
	}
}

// Validate checks that one action at most is given and that its companions are present.
func (DockerContainer) Validate(args modules.Args) error {
	var actions []string
	for _, a := range []string{"state", "exec", "copy_from", "copy_to"} {
		if args.Has(a) {
			actions = append(actions, a)
		}
	}
	if len(actions) > 1 {
		return fmt.Errorf("give only one of state, exec, copy_from, copy_to (got %s): split them into separate tasks", strings.Join(actions, ", "))
	}
	if args.Has("copy_from") && !args.Has("dest") {
		return fmt.Errorf("copy_from needs dest (the host path to copy to)")
	}
	if args.Has("copy_to") && !args.Has("src") {
		return fmt.Errorf("copy_to needs src (the host path to copy from)")
	}
	if args.Has("bind_targets") && !args.Has("binds_from") {
		return fmt.Errorf("bind_targets checks what binds_from carries: name the container to carry the mounts of in binds_from")
	}
	return nil
}

// Check probes the container and says what Apply would do.
func (m DockerContainer) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply brings the container to the asked state or runs the asked action.
func (m DockerContainer) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m DockerContainer) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	dc := dockerContainerRun{h: h, args: args, d: newDockerCLI(h, args), name: args.String("name"), check: check}
	for _, k := range args.Strings("secret_env") {
		if v, ok := args.Map("env")[k]; ok {
			h.AddSecret(fmt.Sprint(v))
		}
	}
	ci, err := dc.d.inspectContainer(ctx, dc.name)
	if err != nil {
		return modules.Result{}, err
	}
	var res modules.Result
	switch {
	case args.Has("exec"):
		res, err = dc.exec(ctx, ci)
	case args.Has("copy_from"), args.Has("copy_to"):
		res, err = dc.copy(ctx, ci)
	case args.Has("state"):
		res, err = dc.state(ctx, ci)
		if err == nil && !res.Failed && !check && res.Changed {
			ci, err = dc.d.inspectContainer(ctx, dc.name)
		}
	default:
		res = modules.Result{Msg: fmt.Sprintf("container %s %s", dc.name, dockerDescribeState(ci)), Data: map[string]any{"action": "none"}}
	}
	if err != nil {
		return modules.Result{}, err
	}
	if res.Data == nil {
		res.Data = map[string]any{}
	}
	res.Data["exists"] = ci != nil
	res.Data["container"] = dc.facts(ci)
	return res, nil
}

func dockerDescribeState(ci *containerInspect) string {
	if ci == nil {
		return "does not exist"
	}
	return "is " + ci.State.Status
}

type dockerContainerRun struct {
	h     *modules.Host
	args  modules.Args
	d     dockerCLI
	name  string
	check bool
}

// runSpec is the part of a container's configuration that a task may ask for. Nil pointers
// and empty values are fields the task did not give, which are neither set nor compared.
type runSpec struct {
	image         string
	networkMode   string
	binds         []string
	hasBinds      bool
	env           map[string]string
	privileged    *bool
	pidsLimit     *int
	ulimits       []dockerUlimit
	tty           *bool
	interactive   *bool
	restartPolicy string
	command       []string
}

func (s runSpec) empty() bool {
	return s.image == "" && s.networkMode == "" && !s.hasBinds && len(s.env) == 0 && s.privileged == nil &&
		s.pidsLimit == nil && len(s.ulimits) == 0 && s.tty == nil && s.interactive == nil && s.restartPolicy == "" && s.command == nil
}

func optBool(args modules.Args, name string) *bool {
	if !args.Has(name) {
		return nil
	}
	b := args.Bool(name)
	return &b
}

// spec builds the asked run spec, resolving binds_from with one inspect of the other container.
func (dc *dockerContainerRun) spec(ctx context.Context) (runSpec, error) {
	a := dc.args
	s := runSpec{
		image: a.String("image"), networkMode: a.String("network_mode"), restartPolicy: a.String("restart_policy"),
		privileged: optBool(a, "privileged"), tty: optBool(a, "tty"), interactive: optBool(a, "interactive"),
	}
	if from := a.String("binds_from"); from != "" {
		s.hasBinds = true
		carried, err := dc.carriedBinds(ctx, from)
		if err != nil {
			return s, err
		}
		s.binds = carried
	}
	if a.Has("binds") {
		s.hasBinds = true
		s.binds = overrideBinds(s.binds, a.Strings("binds"))
	}
	if env := a.Map("env"); len(env) > 0 {
		s.env = make(map[string]string, len(env))
		for k, v := range env {
			s.env[k] = fmt.Sprint(v)
		}
	}
	if a.Has("pids_limit") {
		n := a.Int("pids_limit")
		s.pidsLimit = &n
	}
	for _, u := range a.Strings("ulimits") {
		ul, err := parseDockerUlimit(u)
		if err != nil {
			return s, err
		}
		s.ulimits = append(s.ulimits, ul)
	}
	switch c := a["command"].(type) {
	case nil:
	case string:
		s.command = strings.Fields(c)
	case []any:
		for _, w := range c {
			s.command = append(s.command, fmt.Sprint(w))
		}
	case []string:
		s.command = c
	default:
		return s, fmt.Errorf("command: want a string or a list, got %T", c)
	}
	return s, nil
}

func parseDockerUlimit(s string) (dockerUlimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return dockerUlimit{}, fmt.Errorf("ulimit %q: write name=soft[:hard], e.g. nproc=65535:65535", s)
	}
	softS, hardS, hasHard := strings.Cut(limits, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil {
		return dockerUlimit{}, fmt.Errorf("ulimit %q: soft limit %q is not a number", s, softS)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil {
			return dockerUlimit{}, fmt.Errorf("ulimit %q: hard limit %q is not a number", s, hardS)
		}
	}
	return dockerUlimit{Name: name, Soft: soft, Hard: hard}, nil
}

// carriedBinds are the bind mounts and named volumes of container from, as docker run -v
// arguments, after checking that every path in bind_targets is among them.
func (dc *dockerContainerRun) carriedBinds(ctx context.Context, from string) ([]string, error) {
	other, err := dc.d.inspectContainer(ctx, from)
	if err != nil {
		return nil, err
	}
	if other == nil {
		return nil, fmt.Errorf("binds_from: container %s does not exist on %s", from, dc.h.Name)
	}
	var binds, have []string
	for _, mt := range other.Mounts {
		source := mt.Source
		switch mt.Type {
		case "bind":
		case "volume":
			source = mt.Name
		default: // tmpfs, npipe, image: nothing on the host to carry
			continue
		}
		b := source + ":" + mt.Destination
		if !mt.RW {
			b += ":ro"
		}
		binds = append(binds, b)
		have = append(have, path.Clean(mt.Destination))
	}
	sort.Strings(binds)
	for _, target := range dc.args.Strings("bind_targets") {
		if !slices.Contains(have, path.Clean(target)) {
			return nil, fmt.Errorf("binds_from: container %s has no mount at %s (its mounts: %s)", from, target, strings.Join(have, ", "))
		}
	}
	return binds, nil
}

// bindTarget is the container path of a docker run -v argument source:target[:options].
func bindTarget(bind string) string {
	parts := strings.SplitN(bind, ":", 3)
	if len(parts) < 2 {
		return path.Clean(bind)
	}
	return path.Clean(parts[1])
}

// overrideBinds adds extra to carried; an extra bind replaces the carried one of the same
// container path (two mounts on one path would make docker refuse the container).
func overrideBinds(carried, extra []string) []string {
	out := make([]string, 0, len(carried)+len(extra))
	for _, c := range carried {
		replaced := false
		for _, e := range extra {
			if bindTarget(e) == bindTarget(c) {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return append(out, extra...)
}

// isSecretEnv reports whether the value of env key k must be masked and kept off argv.
func (dc *dockerContainerRun) isSecretEnv(k string) bool {
	for _, s := range dc.args.Strings("secret_env") {
		if s == k {
			return true
		}
	}
	return omsutil.LooksSecret(k)
}

// specDiff compares the asked spec with an existing container; it returns one readable line
// per difference, and the compared fields before (container) and after (asked).
func (dc *dockerContainerRun) specDiff(s runSpec, ci *containerInspect) (lines []string, before, after []string) {
	cmp := func(field, want, have string) {
		before = append(before, field+": "+have)
		after = append(after, field+": "+want)
		if want != have {
			lines = append(lines, fmt.Sprintf("%s: want %s, have %s", field, want, have))
		}
	}
	if s.image != "" {
		cmp("image", s.image, ci.Config.Image)
	}
	if s.networkMode != "" {
		cmp("network_mode", s.networkMode, ci.HostConfig.NetworkMode)
	}
	if s.hasBinds {
		want, have := sortedCopy(s.binds), sortedCopy(ci.HostConfig.Binds)
		cmp("binds", "["+strings.Join(want, ", ")+"]", "["+strings.Join(have, ", ")+"]")
	}
	if len(s.env) > 0 {
		have := dockerEnvMap(ci.Config.Env)
		for _, k := range omsutil.SortedKeys(s.env) {
			w, hv := s.env[k], "(unset)"
			if v, ok := have[k]; ok {
				hv = v
			}
			if dc.isSecretEnv(k) {
				if w == hv {
					w, hv = secret.Mask, secret.Mask
				} else {
					w = secret.Mask
					if hv != "(unset)" {
						hv = "******** (differs)"
					}
				}
			}
			cmp("env "+k, dc.h.Mask(w), dc.h.Mask(hv))
		}
	}
	if s.privileged != nil {
		cmp("privileged", strconv.FormatBool(*s.privileged), strconv.FormatBool(ci.HostConfig.Privileged))
	}
	if s.pidsLimit != nil {
		var have int64
		if ci.HostConfig.PidsLimit != nil {
			have = *ci.HostConfig.PidsLimit
		}
		cmp("pids_limit", dockerPidsLimit(int64(*s.pidsLimit)), dockerPidsLimit(have))
	}
	if len(s.ulimits) > 0 {
		var want, have []string
		for _, u := range s.ulimits {
			want = append(want, u.String())
		}
		for _, u := range ci.HostConfig.Ulimits {
			have = append(have, u.String())
		}
		cmp("ulimits", "["+strings.Join(sortedCopy(want), ", ")+"]", "["+strings.Join(sortedCopy(have), ", ")+"]")
	}
	if s.tty != nil {
		cmp("tty", strconv.FormatBool(*s.tty), strconv.FormatBool(ci.Config.Tty))
	}
	if s.interactive != nil {
		cmp("interactive", strconv.FormatBool(*s.interactive), strconv.FormatBool(ci.Config.OpenStdin))
	}
	if s.restartPolicy != "" {
		norm := func(p string) string {
			if p == "" {
				return "no"
			}
			return p
		}
		cmp("restart_policy", norm(s.restartPolicy), norm(ci.HostConfig.RestartPolicy.Name))
	}
	if s.command != nil {
		cmp("command", strings.Join(s.command, " "), strings.Join(ci.Config.Cmd, " "))
	}
	return lines, before, after
}

// newContainerDiff shows the run spec of a container about to be created (with --diff, also
// under --check): its image, mounts, environment (secrets masked) and options.
func (dc *dockerContainerRun) newContainerDiff(s runSpec) *modules.Diff {
	_, _, after := dc.specDiff(s, &containerInspect{})
	return &modules.Diff{After: strings.Join(after, "\n") + "\n", BeforeLabel: "no container " + dc.name, AfterLabel: "new container " + dc.name}
}

func dockerPidsLimit(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}

func sortedCopy(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

// state brings the container to the asked state.
func (dc *dockerContainerRun) state(ctx context.Context, ci *containerInspect) (modules.Result, error) {
	want := dc.args.String("state")
	act := func(action, msg string, f func() error) (modules.Result, error) {
		r := modules.Result{Changed: true, Data: map[string]any{"action": action}}
		if dc.check {
			r.Msg = "would " + msg
			return r, nil
		}
		if err := f(); err != nil {
			return modules.Fail(dc.h.Mask(err.Error()), map[string]any{"action": action}), nil
		}
		r.Msg = msg
		return r, nil
	}
	ok := func(msg string) (modules.Result, error) {
		return modules.Result{Msg: msg, Data: map[string]any{"action": "none"}}, nil
	}
	switch want {
	case "absent":
		if ci == nil {
			return ok("container " + dc.name + " is absent")
		}
		return act("remove", "remove container "+dc.name, func() error {
			_, err := dc.d.runOK(ctx, "rm", "-f", dc.name)
			return err
		})
	case "stopped":
		if ci == nil {
			return ok("container " + dc.name + " does not exist: nothing to stop")
		}
		if !ci.State.Running {
			return ok("container " + dc.name + " is already " + ci.State.Status)
		}
		return act("stop", "stop container "+dc.name, func() error {
			_, err := dc.d.runOK(ctx, append([]string{"stop"}, append(dc.timeoutArgs(), dc.name)...)...)
			return err
		})
	}
	// started, present, restarted: the spec matters.
	s, err := dc.spec(ctx)
	if err != nil {
		return modules.Fail(dc.h.Mask(err.Error()), nil), nil
	}
	if ci != nil && !s.empty() {
		lines, before, after := dc.specDiff(s, ci)
		if len(lines) > 0 {
			diff := &modules.Diff{Before: strings.Join(before, "\n") + "\n", After: strings.Join(after, "\n") + "\n",
				BeforeLabel: "container " + dc.name, AfterLabel: "task spec"}
			if !dc.args.Bool("recreate") {
				r := modules.Fail(fmt.Sprintf("container %s exists with a different spec (set recreate: true to replace it):\n  %s", dc.name, strings.Join(lines, "\n  ")), map[string]any{"action": "none"})
				r.Diff = diff
				return r, nil
			}
			r, err := act("recreate", "recreate container "+dc.name+" ("+strings.Join(lines, "; ")+")", func() error {
				if _, err := dc.d.runOK(ctx, "rm", "-f", dc.name); err != nil {
					return err
				}
				return dc.create(ctx, s, want != "present")
			})
			r.Diff = diff
			return r, err
		}
	}
	if ci == nil {
		if s.image == "" && dc.check {
			return modules.Result{Unknown: true, Msg: fmt.Sprintf("container %s does not exist on %s and no image is given: Apply would fail (to only probe a container, leave state out)", dc.name, dc.h.Name), Data: map[string]any{"action": "none"}}, nil
		}
		if s.image == "" {
			return modules.Fail(fmt.Sprintf("container %s does not exist on %s: give image (and its run spec) to create it", dc.name, dc.h.Name), map[string]any{"action": "none"}), nil
		}
		verb := "run"
		if want == "present" {
			verb = "create"
		}
		r, err := act(verb, verb+" container "+dc.name+" from "+s.image, func() error { return dc.create(ctx, s, want != "present") })
		r.Diff = dc.newContainerDiff(s)
		return r, err
	}
	switch want {
	case "restarted":
		return act("restart", "restart container "+dc.name, func() error {
			_, err := dc.d.runOK(ctx, append([]string{"restart"}, append(dc.timeoutArgs(), dc.name)...)...)
			return err
		})
	case "started":
		if ci.State.Running {
			return ok("container " + dc.name + " is running")
		}
		return act("start", "start container "+dc.name+" (was "+ci.State.Status+")", func() error {
			_, err := dc.d.runOK(ctx, "start", dc.name)
			return err
		})
	}
	return ok("container " + dc.name + " is present (" + ci.State.Status + ")")
}

func (dc *dockerContainerRun) timeoutArgs() []string {
	if dc.args.Has("stop_timeout") {
		return []string{"-t", strconv.Itoa(dc.args.Int("stop_timeout"))}
	}
	return nil
}

// create runs (start true) or creates the container from the spec.
func (dc *dockerContainerRun) create(ctx context.Context, s runSpec, start bool) error {
	argv := []string{"create"}
	if start {
		argv = []string{"run"}
		if dc.args.Bool("detach") {
			argv = append(argv, "-d")
		}
	}
	if s.interactive != nil && *s.interactive {
		argv = append(argv, "-i")
	}
	if s.tty != nil && *s.tty {
		argv = append(argv, "-t")
	}
	argv = append(argv, "--name", dc.name)
	if s.networkMode != "" {
		argv = append(argv, "--net", s.networkMode)
	}
	for _, b := range s.binds {
		argv = append(argv, "-v", b)
	}
	envArgs, envFile, err := dc.envArgs(s.env)
	if err != nil {
		return err
	}
	argv = append(argv, envArgs...)
	if s.privileged != nil && *s.privileged {
		argv = append(argv, "--privileged=true")
	}
	if s.pidsLimit != nil {
		argv = append(argv, "--pids-limit", strconv.Itoa(*s.pidsLimit))
	}
	for _, u := range s.ulimits {
		argv = append(argv, "--ulimit", u.String())
	}
	if s.restartPolicy != "" {
		argv = append(argv, "--restart", s.restartPolicy)
	}
	argv = append(argv, s.image)
	argv = append(argv, s.command...)
	_, err = dc.d.runCmdOK(ctx, dc.d.withEnvFile(argv, envFile), argv)
	return err
}

// envArgs turns env into docker arguments. Secret values go in envFile (KEY=value lines),
// which the docker CLI reads from a pipe (see withEnvFile), so that they never reach an argv or
// a file; args then end with --env-file /dev/stdin.
func (dc *dockerContainerRun) envArgs(env map[string]string) (args []string, envFile string, err error) {
	var secretLines []string
	for _, k := range omsutil.SortedKeys(env) {
		v := env[k]
		if !dc.isSecretEnv(k) {
			args = append(args, "-e", k+"="+v)
			continue
		}
		if strings.ContainsAny(v, "\n\r") {
			return nil, "", fmt.Errorf("env %s: a secret value cannot hold a newline (docker env files are one line per variable)", k)
		}
		dc.h.AddSecret(v)
		secretLines = append(secretLines, k+"="+v)
	}
	if len(secretLines) == 0 {
		return args, "", nil
	}
	return append(args, "--env-file", "/dev/stdin"), strings.Join(secretLines, "\n") + "\n", nil
}

// removeHostFile removes temporary files on the executing host, even when the task's
// context is already cancelled.
func removeHostFile(h *modules.Host, files ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = h.Conn.Exec(ctx, h.ArgvCmd(append([]string{"rm", "-f", "--"}, files...)...))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// exec runs a command inside the running container, streaming its output.
func (dc *dockerContainerRun) exec(ctx context.Context, ci *containerInspect) (modules.Result, error) {
	var cmdWords []string
	switch c := dc.args["exec"].(type) {
	case string:
		cmdWords = []string{"sh", "-c", c}
	case []any:
		for _, w := range c {
			cmdWords = append(cmdWords, fmt.Sprint(w))
		}
	case []string:
		cmdWords = c
	default:
		return modules.Fail(fmt.Sprintf("exec: want a string or a list, got %T", c), nil), nil
	}
	shown := strings.Join(cmdWords, " ")
	if len(cmdWords) == 3 && cmdWords[0] == "sh" {
		shown = cmdWords[2]
	}
	if ci == nil {
		if dc.check {
			return modules.Result{Unknown: true, Msg: fmt.Sprintf("container %s does not exist yet: cannot tell whether %q would succeed", dc.name, shown), Data: map[string]any{"action": "exec"}}, nil
		}
		return modules.Fail(fmt.Sprintf("container %s does not exist on %s: cannot run %q in it", dc.name, dc.h.Name, shown), map[string]any{"action": "exec"}), nil
	}
	if !ci.State.Running {
		if dc.check {
			return modules.Result{Unknown: true, Msg: fmt.Sprintf("container %s is %s: %q could only run once it is started", dc.name, ci.State.Status, shown), Data: map[string]any{"action": "exec"}}, nil
		}
		return modules.Fail(fmt.Sprintf("container %s is not running (state %s): start it before running %q", dc.name, ci.State.Status, shown), map[string]any{"action": "exec"}), nil
	}
	if dc.check {
		return modules.Result{Changed: true, Msg: fmt.Sprintf("would run %q in container %s", shown, dc.name), Data: map[string]any{"action": "exec"}}, nil
	}
	argv := []string{"exec"}
	if u := dc.args.String("user"); u != "" {
		argv = append(argv, "-u", u)
	}
	env := map[string]string{}
	for k, v := range dc.args.Map("env") {
		env[k] = fmt.Sprint(v)
	}
	envArgs, envFile, err := dc.envArgs(env)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	argv = append(argv, envArgs...)
	argv = append(argv, dc.name)
	argv = append(argv, cmdWords...)
	cmd := dc.d.withEnvFile(argv, envFile)
	stdoutLines := modules.NewLineWriter("stdout", func(stream, l string) { dc.h.Output(stream, dc.h.Mask(l)) })
	stderrLines := modules.NewLineWriter("stderr", func(stream, l string) { dc.h.Output(stream, dc.h.Mask(l)) })
	cmd.Stdout, cmd.Stderr = stdoutLines, stderrLines
	res, err := dc.d.runCmd(ctx, cmd)
	stdoutLines.Flush()
	stderrLines.Flush()
	if err != nil {
		return modules.Result{}, err
	}
	stdout := strings.TrimSuffix(string(res.Stdout), "\n")
	stderr := strings.TrimSuffix(string(res.Stderr), "\n")
	data := map[string]any{"action": "exec", "rc": res.RC, "stdout": stdout, "stderr": stderr, "stdout_lines": splitLines(stdout)}
	if res.RC != 0 {
		why := stderr
		if why == "" {
			why = lastLines(stdout, 5)
		}
		return modules.Result{Failed: true, Changed: true, Msg: dc.h.Mask(fmt.Sprintf("%q in container %s exited with rc %d: %s", shown, dc.name, res.RC, why)), Data: data}, nil
	}
	return modules.Result{Changed: true, Msg: fmt.Sprintf("ran %q in container %s", shown, dc.name), Data: data}, nil
}

func splitLines(s string) []any {
	if s == "" {
		return []any{}
	}
	parts := strings.Split(s, "\n")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// copy runs docker cp in either direction; it compares first and copies only a differing file.
func (dc *dockerContainerRun) copy(ctx context.Context, ci *containerInspect) (modules.Result, error) {
	if ci == nil && dc.check {
		// A dry run did not run the earlier task that would create the container.
		return modules.Result{Unknown: true, Msg: fmt.Sprintf("container %s does not exist yet on %s: cannot tell what docker cp would copy (an earlier task may create it)", dc.name, dc.h.Name),
			Data: map[string]any{"action": "copy"}}, nil
	}
	if ci == nil && dc.check {
		return modules.Result{Unknown: true, Msg: fmt.Sprintf("container %s does not exist yet: cannot compare the files", dc.name), Data: map[string]any{"action": "copy"}}, nil
	}
	if ci == nil {
		return modules.Fail(fmt.Sprintf("container %s does not exist on %s: nothing to copy", dc.name, dc.h.Name), map[string]any{"action": "copy"}), nil
	}
	docker := shellquote.Join(dc.d.argv...)
	check := "0"
	if dc.check {
		check = "1"
	}
	var script, what string
	if from := dc.args.String("copy_from"); from != "" {
		dest := dc.args.String("dest")
		what = fmt.Sprintf("%s:%s to %s", dc.name, from, dest)
		// Fetch into a temporary directory, then compare with the target and replace it only
		// when it differs, so that a second run reports ok.
		script = fmt.Sprintf(`set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
%s cp %s "$tmp/x"
t=%s
if [ -d "$t" ]; then t="$t"/%s; fi
if [ -f "$tmp/x" ] && [ -f "$t" ] && cmp -s "$tmp/x" "$t"; then echo same; exit 0; fi
if [ %s = 1 ]; then echo differs; exit 0; fi
mkdir -p "$(dirname "$t")"
if [ -d "$tmp/x" ]; then rm -rf "$t"; fi
cp -a "$tmp/x" "$t"
echo copied
`, docker, shellquote.QuoteIfNeeded(dc.name+":"+from), shellquote.QuoteIfNeeded(dest), shellquote.QuoteIfNeeded(path.Base(from)), check)
	} else {
		to, src := dc.args.String("copy_to"), dc.args.String("src")
		what = fmt.Sprintf("%s to %s:%s", src, dc.name, to)
		script = fmt.Sprintf(`set -e
[ -e %[2]s ] || { echo "source %[2]s does not exist" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if %[1]s cp %[3]s "$tmp/x" 2>/dev/null; then
  c="$tmp/x"
  if [ -d "$c" ]; then c="$c"/%[4]s; fi
  if [ -f %[2]s ] && [ -f "$c" ] && cmp -s %[2]s "$c"; then echo same; exit 0; fi
fi
if [ %[5]s = 1 ]; then echo differs; exit 0; fi
%[1]s cp %[2]s %[3]s
echo copied
`, docker, shellquote.QuoteIfNeeded(src), shellquote.QuoteIfNeeded(dc.name+":"+to), shellquote.QuoteIfNeeded(path.Base(src)), check)
	}
	res, err := dc.d.runCmd(ctx, dc.h.Cmd(script))
	if err != nil {
		return modules.Result{}, err
	}
	if res.RC != 0 {
		return modules.Fail(fmt.Sprintf("docker cp %s on %s failed: %s", what, dc.h.Name, dockerMessage(res)), map[string]any{"action": "copy"}), nil
	}
	switch strings.TrimSpace(string(res.Stdout)) {
	case "same":
		return modules.Result{Msg: "already the same: " + what, Data: map[string]any{"action": "none"}}, nil
	case "differs":
		return modules.Result{Changed: true, Msg: "would copy " + what, Data: map[string]any{"action": "copy"}}, nil
	}
	return modules.Result{Changed: true, Msg: "copied " + what, Data: map[string]any{"action": "copy"}}, nil
}

// facts are the registered inspect facts, secrets masked.
func (dc *dockerContainerRun) facts(ci *containerInspect) map[string]any {
	if ci == nil {
		return map[string]any{"name": dc.name, "exists": false, "running": false, "state": "absent"}
	}
	env := map[string]any{}
	for k, v := range dockerEnvMap(ci.Config.Env) {
		if dc.isSecretEnv(k) {
			if v != "" {
				dc.h.AddSecret(v)
			}
			env[k] = secret.Mask
			continue
		}
		env[k] = dc.h.Mask(v)
	}
	// docker lists mounts in no stable order; sort them so registered facts compare equal.
	sort.Slice(ci.Mounts, func(i, j int) bool { return ci.Mounts[i].Destination < ci.Mounts[j].Destination })
	mounts := make([]any, 0, len(ci.Mounts))
	for _, mt := range ci.Mounts {
		mounts = append(mounts, map[string]any{"source": mt.Source, "destination": mt.Destination, "rw": mt.RW, "type": mt.Type})
	}
	binds := make([]any, 0, len(ci.HostConfig.Binds))
	for _, b := range sortedCopy(ci.HostConfig.Binds) {
		binds = append(binds, b)
	}
	return map[string]any{
		"name":         strings.TrimPrefix(ci.Name, "/"),
		"exists":       true,
		"id":           ci.ID,
		"state":        ci.State.Status,
		"running":      ci.State.Running,
		"image":        ci.Config.Image,
		"image_id":     ci.Image,
		"mounts":       mounts,
		"binds":        binds,
		"env":          env,
		"started_at":   ci.State.StartedAt,
		"finished_at":  ci.State.FinishedAt,
		"exit_code":    ci.State.ExitCode,
		"network_mode": ci.HostConfig.NetworkMode,
		"privileged":   ci.HostConfig.Privileged,
	}
}
