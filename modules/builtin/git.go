package builtin

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// Git keeps a checkout of a git repository on the host at a version, as Ansible's git.
type Git struct{}

func (Git) Name() string { return "git" }

func (Git) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Clone a git repository on the host and keep its checkout at a branch, tag or commit",
		Description: "As Ansible's git, with the host's git (needed on the host): clones `repo` " +
			"into `dest` when dest is not a repository, otherwise fetches from `remote` and checks " +
			"out `version`: a branch (the local branch is set to the remote one), a tag or a commit " +
			"(detached), HEAD meaning the remote's default branch. A checkout with local " +
			"modifications of tracked files fails unless force=true, which discards them. " +
			"update=false leaves an existing checkout as it is. When the origin's URL differs from " +
			"repo, it is changed (remote_url_changed).",
		CheckMode: "Asks the remote (git ls-remote) without fetching: changed with before and after " +
			"commits (also in the diff), or ok.",
		Args: []modules.Arg{
			{Name: "repo", Type: modules.String, Required: true, Doc: "the repository's URL or path (as git clone takes it)"},
			{Name: "dest", Type: modules.String, Required: true, Doc: "the checkout's directory on the host"},
			{Name: "version", Type: modules.String, Default: "HEAD", Doc: "a branch, a tag, a commit (full or abbreviated sha), or HEAD"},
			{Name: "force", Type: modules.Bool, Default: false, Doc: "discard local modifications of tracked files"},
			{Name: "update", Type: modules.Bool, Default: true, Doc: "fetch and check out version in an existing checkout; false leaves it"},
			{Name: "clone", Type: modules.Bool, Default: true, Doc: "clone when dest is not a checkout; false does nothing then"},
			{Name: "depth", Type: modules.Int, Doc: "a shallow clone of this many commits (branches and tags)"},
			{Name: "remote", Type: modules.String, Default: "origin", Doc: "the remote's name"},
		},
		Returns: []modules.Field{
			{Name: "before", Type: "string", Doc: "the commit checked out before, null when there was no checkout"},
			{Name: "after", Type: "string", Doc: "the commit checked out after (in check mode, the one that would be)"},
			{Name: "remote_url_changed", Type: "bool", Doc: "whether the remote's URL was (or would be) changed"},
		},
	}
}

var shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// Validate checks depth.
func (Git) Validate(args modules.Args) error {
	if args.Has("depth") && args.Int("depth") < 1 && !unrendered(args["depth"]) {
		return fmt.Errorf("depth must be at least 1")
	}
	return nil
}

func (m Git) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m Git) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// gitRun runs git on the host in dir ("" for none).
type gitRun struct {
	ctx context.Context
	h   *modules.Host
	dir string
}

func (g gitRun) git(argv ...string) (string, error) {
	cmd := g.h.ArgvCmd(append([]string{"git"}, argv...)...)
	cmd.Dir = g.dir
	if cmd.Env == nil {
		cmd.Env = map[string]string{}
	}
	cmd.Env["GIT_TERMINAL_PROMPT"] = "0"
	r, err := g.h.Conn.Exec(g.ctx, cmd)
	if err != nil {
		return "", err
	}
	if r.RC == 127 {
		return "", fmt.Errorf("git is not installed on the host")
	}
	if r.RC != 0 {
		return "", fmt.Errorf("git %s: %s", strings.Join(argv, " "), strings.TrimSpace(string(r.Stderr)))
	}
	return strings.TrimSpace(string(r.Stdout)), nil
}

// target is what version means on the remote.
type gitTarget struct {
	kind string // branch, tag, sha
	name string
	sha  string // the commit; "" when only a fetch can tell (an abbreviated sha not yet here)
}

// resolve asks the remote what version is.
func (g gitRun) resolve(repo, version string) (gitTarget, error) {
	if version == "HEAD" {
		out, err := g.git("ls-remote", "--symref", repo, "HEAD")
		if err != nil {
			return gitTarget{}, err
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "ref: refs/heads/") {
				version = strings.TrimSuffix(strings.Fields(strings.TrimPrefix(l, "ref: refs/heads/"))[0], "\tHEAD")
			}
		}
	}
	out, err := g.git("ls-remote", repo, "refs/heads/"+version, "refs/tags/"+version, "refs/tags/"+version+"^{}")
	if err != nil {
		return gitTarget{}, err
	}
	t := gitTarget{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		switch f[1] {
		case "refs/heads/" + version:
			return gitTarget{kind: "branch", name: version, sha: f[0]}, nil
		case "refs/tags/" + version + "^{}":
			t = gitTarget{kind: "tag", name: version, sha: f[0]}
		case "refs/tags/" + version:
			if t.kind == "" {
				t = gitTarget{kind: "tag", name: version, sha: f[0]}
			}
		}
	}
	if t.kind != "" {
		return t, nil
	}
	if shaRE.MatchString(version) {
		t = gitTarget{kind: "sha", name: strings.ToLower(version)}
		if len(version) == 40 {
			t.sha = t.name
		} else if g.dir != "" {
			if full, err := g.git("rev-parse", "--verify", "--quiet", t.name+"^{commit}"); err == nil {
				t.sha = full
			}
		}
		return t, nil
	}
	return gitTarget{}, fmt.Errorf("version %q is not a branch or tag of %s, nor a commit", version, repo)
}

func (m Git) run(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	repo, dest, remote := args.String("repo"), args.String("dest"), args.String("remote")
	data := map[string]any{"before": nil, "after": nil, "remote_url_changed": false}
	fail := func(err error) (modules.Result, error) {
		if ctx.Err() != nil {
			return modules.Result{}, err
		}
		return modules.Fail(err.Error(), data), nil
	}
	gi, err := hostFiles(h).Stat(ctx, path.Join(dest, ".git"))
	if err != nil {
		return modules.Result{}, err
	}
	g := gitRun{ctx: ctx, h: h}
	if !gi.Exists {
		if !args.Bool("clone") {
			return modules.Result{Msg: dest + " is not a checkout and clone is false", Data: data}, nil
		}
		t, err := g.resolve(repo, args.String("version"))
		if err != nil {
			return fail(err)
		}
		res := modules.Result{Changed: true, Data: data}
		if !apply {
			data["after"] = nilIfEmpty(t.sha)
			res.Msg = "would clone " + repo + " into " + dest
			res.Diff = gitDiff(h, dest, "", t.sha)
			data["changed"] = true
			return res, nil
		}
		argv := []string{"clone", "--origin", remote}
		if d := args.Int("depth"); d > 0 && t.kind != "sha" {
			argv = append(argv, "--depth", strconv.Itoa(d))
		}
		if t.kind != "sha" {
			argv = append(argv, "--branch", t.name)
		}
		if _, err := g.git(append(argv, "--", repo, dest)...); err != nil {
			return fail(err)
		}
		g.dir = dest
		if t.kind == "sha" {
			if _, err := g.git("checkout", "--detach", t.name); err != nil {
				return fail(err)
			}
		}
		after, err := g.git("rev-parse", "HEAD")
		if err != nil {
			return fail(err)
		}
		data["after"], data["changed"] = after, true
		res.Diff = gitDiff(h, dest, "", after)
		return res, nil
	}
	g.dir = dest
	before, err := g.git("rev-parse", "HEAD")
	if err != nil {
		return fail(err)
	}
	data["before"], data["after"] = before, before
	mods, err := g.git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return fail(err)
	}
	if mods != "" && !args.Bool("force") {
		return modules.Fail(fmt.Sprintf("Local modifications exist in the destination: %s (force=no).", dest), data), nil
	}
	if !args.Bool("update") {
		return modules.Result{Data: data}, nil
	}
	changed := false
	if url, err := g.git("remote", "get-url", remote); err != nil || url != repo {
		data["remote_url_changed"], changed = true, true
		if apply {
			op := "set-url"
			if err != nil {
				op = "add"
			}
			if _, err := g.git("remote", op, remote, repo); err != nil {
				return fail(err)
			}
		}
	}
	t, err := g.resolve(repo, args.String("version"))
	if err != nil {
		return fail(err)
	}
	if !apply {
		switch {
		case t.sha == "":
			return modules.Result{Unknown: true, Msg: "commit " + t.name + " is not here yet: only a fetch can tell", Data: data}, nil
		case t.sha != before || mods != "":
			changed = true
		case t.kind == "branch":
			if cur, err := g.git("symbolic-ref", "--quiet", "--short", "HEAD"); err != nil || cur != t.name {
				changed = true
			}
		}
		data["after"], data["changed"] = t.sha, changed
		res := modules.Result{Changed: changed, Data: data}
		if changed {
			res.Diff = gitDiff(h, dest, before, t.sha)
		}
		return res, nil
	}
	fetch := []string{"fetch", "--tags", remote}
	if d := args.Int("depth"); d > 0 {
		fetch = []string{"fetch", "--tags", "--depth", strconv.Itoa(d), remote}
	}
	if t.kind == "branch" {
		fetch = append(fetch, "+refs/heads/"+t.name+":refs/remotes/"+remote+"/"+t.name)
	}
	if t.sha == "" || t.sha != before || t.kind == "branch" {
		if _, err := g.git(fetch...); err != nil {
			return fail(err)
		}
	}
	co := []string{"checkout"}
	if args.Bool("force") {
		co = append(co, "--force")
	}
	switch t.kind {
	case "branch":
		co = append(co, "-B", t.name, remote+"/"+t.name)
	default:
		co = append(co, "--detach", t.name)
		if t.kind == "tag" {
			co[len(co)-1] = "refs/tags/" + t.name
		}
	}
	wasBranch, _ := g.git("symbolic-ref", "--quiet", "--short", "HEAD")
	if _, err := g.git(co...); err != nil {
		return fail(err)
	}
	after, err := g.git("rev-parse", "HEAD")
	if err != nil {
		return fail(err)
	}
	changed = changed || after != before || mods != "" || (t.kind == "branch" && wasBranch != t.name)
	data["after"], data["changed"] = after, changed
	res := modules.Result{Changed: changed, Data: data}
	if changed {
		res.Diff = gitDiff(h, dest, before, after)
	}
	return res, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func gitDiff(h *modules.Host, dest, before, after string) *modules.Diff {
	if !h.Diff {
		return nil
	}
	if before == "" {
		before = "(no checkout)"
	}
	return &modules.Diff{Before: before + "\n", After: after + "\n", BeforeLabel: dest + " (before)", AfterLabel: dest + " (after)"}
}
