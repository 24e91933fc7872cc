package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// User manages a local user account with useradd, usermod and userdel.
type User struct{}

func (User) Name() string { return "user" }

func (User) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Create, change or remove a local user account",
		Description: "present creates the user (useradd) or changes what differs (usermod): uid, " +
			"primary group, supplementary groups (exactly these, or with append only adding), " +
			"shell, home, comment, and the password, given as a crypt(3) hash such as " +
			"`openssl passwd -6` prints (it is secret: it reaches the host only on chpasswd -e's " +
			"standard input and is compared there, never shown). absent removes the user " +
			"(userdel; remove: also its home and mail spool).",
		CheckMode: "Reads the account (getent passwd, id) and reports changed with a diff of the " +
			"settings that would change (the password only as \"changed\").",
		Args: []modules.Arg{
			{Name: "name", Type: modules.String, Required: true, Doc: "the user name"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			{Name: "uid", Type: modules.Int, Doc: "the user id"},
			{Name: "group", Type: modules.String, Doc: "the primary group (name or gid)"},
			{Name: "groups", Type: modules.StringList, Doc: "supplementary groups; an empty list removes them all (unless append)"},
			{Name: "append", Type: modules.Bool, Default: false, Doc: "add groups to those the user has instead of setting them"},
			{Name: "shell", Type: modules.String, Doc: "the login shell"},
			{Name: "home", Type: modules.String, Doc: "the home directory"},
			{Name: "create_home", Type: modules.Bool, Default: true, Doc: "create the home directory when creating the user"},
			{Name: "system", Type: modules.Bool, Default: false, Doc: "create a system account (only when creating)"},
			{Name: "comment", Type: modules.String, Doc: "the GECOS field"},
			{Name: "password", Type: modules.String, Secret: true, Doc: "the password as a crypt(3) hash (e.g. $6$...), not in clear text"},
			{Name: "update_password", Type: modules.String, Default: "always", Choices: []string{"always", "on_create"}, Doc: "always: set the password when it differs; on_create: only for a new user"},
			{Name: "remove", Type: modules.Bool, Default: false, Doc: "with absent: remove the home directory and mail spool too"},
			{Name: "force", Type: modules.Bool, Default: false, Doc: "with absent: remove the user even while logged in (userdel -f)"},
		},
		Returns: []modules.Field{
			{Name: "name", Type: "string", Doc: "the user"},
			{Name: "state", Type: "string", Doc: "present or absent"},
			{Name: "uid", Type: "int", Doc: "the user id"},
			{Name: "group", Type: "int", Doc: "the primary group id"},
			{Name: "groups", Type: "string", Doc: "the supplementary groups, comma-separated"},
			{Name: "home", Type: "string", Doc: "the home directory"},
			{Name: "shell", Type: "string", Doc: "the login shell"},
			{Name: "comment", Type: "string", Doc: "the GECOS field"},
			{Name: "system", Type: "bool", Doc: "a system account was asked for"},
			{Name: "create_home", Type: "bool", Doc: "create_home as given"},
			{Name: "password", Type: "string", Doc: "NOT_LOGGING_PASSWORD when a password was given"},
		},
	}
}

func (User) Validate(args modules.Args) error {
	if p, ok := args["password"].(string); ok && p != "" && !unrendered(p) && !strings.HasPrefix(p, "$") && p != "*" && p != "!" && !strings.HasPrefix(p, "!") {
		return errors.New("password must be a crypt(3) hash (e.g. from `openssl passwd -6`), not the clear-text password")
	}
	return nil
}

// account is a user as getent and id describe it.
type account struct {
	exists              bool
	uid, gid            int
	comment, home, shel string
	group               string   // primary group name
	groups              []string // supplementary group names
}

func probeUser(ctx context.Context, h *modules.Host, name string) (account, error) {
	q := shellquote.Quote(name)
	r, err := sysSh(ctx, h, `e=$(getent passwd `+q+`) || exit 3; echo "$e"; id -gn `+q+`; id -Gn `+q, "")
	if err != nil {
		return account{}, err
	}
	if r.RC == 3 {
		return account{}, nil
	}
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	f := strings.Split(lines[0], ":")
	if r.RC != 0 || len(f) < 7 || len(lines) < 3 {
		return account{}, fmt.Errorf("read user %s: %s", name, r.out())
	}
	a := account{exists: true, comment: f[4], home: f[5], shel: f[6], group: lines[1]}
	a.uid, _ = strconv.Atoi(f[2])
	a.gid, _ = strconv.Atoi(f[3])
	for _, g := range strings.Fields(lines[2]) {
		if g != a.group {
			a.groups = append(a.groups, g)
		}
	}
	return a, nil
}

func (a account) text(pw string) map[string]string {
	if !a.exists {
		return map[string]string{"state": "absent"}
	}
	m := map[string]string{"state": "present", "uid": strconv.Itoa(a.uid), "group": a.group,
		"groups": strings.Join(a.groups, ","), "home": a.home, "shell": a.shel, "comment": a.comment}
	if pw != "" {
		m["password"] = pw
	}
	return m
}

// passwordSame asks the host whether the user's shadow entry holds this hash; the hash goes
// over standard input only.
func passwordSame(ctx context.Context, h *modules.Host, name, hash string) (bool, error) {
	r, err := sysSh(ctx, h, `IFS= read -r want; have=$(getent shadow `+shellquote.Quote(name)+` | cut -d: -f2); [ "$have" = "$want" ]`, hash+"\n")
	if err != nil {
		return false, err
	}
	return r.RC == 0, nil
}

func (User) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runUser(ctx, h, args, false)
}

func (User) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runUser(ctx, h, args, true)
}

func runUser(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	name := args.String("name")
	data := map[string]any{"name": name, "state": args.String("state"), "system": args.Bool("system"), "create_home": args.Bool("create_home")}
	pw := args.String("password")
	if pw != "" {
		data["password"] = "NOT_LOGGING_PASSWORD"
	}
	cur, err := probeUser(ctx, h, name)
	if err != nil {
		return modules.Result{}, err
	}
	label := "user " + name
	if args.String("state") == "absent" {
		if !cur.exists {
			return modules.Result{Data: data}, nil
		}
		diff := sysStateDiff(label, cur.text(""), map[string]string{"state": "absent"})
		if apply {
			argv := []string{"userdel"}
			if args.Bool("remove") {
				argv = append(argv, "-r")
			}
			if args.Bool("force") {
				argv = append(argv, "-f")
			}
			r, err := sysArgv(ctx, h, append(argv, "--", name)...)
			if err != nil {
				return modules.Result{}, err
			}
			// 12: the home or mail spool could not be removed (e.g. none existed); the user is gone.
			if r.RC != 0 && r.RC != 12 {
				return sysFailed("userdel", r, data), nil
			}
		}
		return modules.Result{Changed: true, Diff: diff, Data: data}, nil
	}
	var opts []string // for useradd or usermod
	after := cur
	after.exists = true
	if args.Has("uid") && (!cur.exists || cur.uid != args.Int("uid")) {
		opts = append(opts, "-u", strconv.Itoa(args.Int("uid")))
		after.uid = args.Int("uid")
	}
	if g := args.String("group"); g != "" && g != cur.group && g != strconv.Itoa(cur.gid) {
		opts = append(opts, "-g", g)
		after.group = g
	}
	if args.Has("groups") {
		want := args.Strings("groups")
		var set []string
		if args.Bool("append") {
			set = append(set, cur.groups...)
			for _, g := range want {
				if !sysContains(set, g) && g != cur.group {
					set = append(set, g)
				}
			}
		} else {
			for _, g := range want {
				if g != after.group && !sysContains(set, g) {
					set = append(set, g)
				}
			}
		}
		if !sysSameSet(set, cur.groups) {
			opts = append(opts, "-G", strings.Join(set, ","))
			after.groups = set
		}
	}
	for _, f := range []struct {
		arg, opt string
		cur      *string
		now      string
	}{
		{"shell", "-s", &after.shel, cur.shel},
		{"home", "-d", &after.home, cur.home},
		{"comment", "-c", &after.comment, cur.comment},
	} {
		if v := args.String(f.arg); args.Has(f.arg) && (!cur.exists || v != f.now) {
			opts = append(opts, f.opt, v)
			*f.cur = v
		}
	}
	setPassword := false
	if pw != "" && (!cur.exists || args.String("update_password") == "always") {
		if !cur.exists {
			setPassword = true
		} else if same, err := passwordSame(ctx, h, name, pw); err != nil {
			return modules.Result{}, err
		} else {
			setPassword = !same
		}
	}
	changed := !cur.exists || len(opts) > 0 || setPassword
	var diff *modules.Diff
	if changed {
		pwBefore, pwAfter := "", ""
		if setPassword {
			pwBefore, pwAfter = "(unchanged)", "(changed)"
			if !cur.exists {
				pwBefore = ""
			}
		}
		afterText := after.text(pwAfter)
		if !cur.exists { // only what was asked for: useradd chooses the rest
			afterText = map[string]string{"state": "present"}
			for _, k := range []string{"uid", "group", "groups", "home", "shell", "comment"} {
				if args.Has(k) {
					afterText[k] = fmt.Sprint(args[k])
				}
			}
			if args.Has("groups") {
				afterText["groups"] = strings.Join(args.Strings("groups"), ",")
			}
			if pwAfter != "" {
				afterText["password"] = pwAfter
			}
		}
		diff = sysStateDiff(label, cur.text(pwBefore), afterText)
	}
	if apply && changed {
		var argv []string
		if !cur.exists {
			argv = []string{"useradd"}
			if args.Bool("create_home") {
				argv = append(argv, "-m")
			} else {
				argv = append(argv, "-M")
			}
			if args.Bool("system") {
				argv = append(argv, "-r")
			}
			if args.String("group") == "" && groupExists(ctx, h, name) {
				argv = append(argv, "-g", name) // as Ansible: a group of the same name becomes the primary group
			}
		} else if len(opts) > 0 {
			argv = []string{"usermod"}
		}
		if argv != nil {
			r, err := sysArgv(ctx, h, append(append(argv, opts...), "--", name)...)
			if err != nil {
				return modules.Result{}, err
			}
			if r.RC != 0 {
				return sysFailed(argv[0], r, data), nil
			}
		}
		if setPassword {
			r, err := sysSh(ctx, h, "chpasswd -e", name+":"+pw+"\n")
			if err != nil {
				return modules.Result{}, err
			}
			if r.RC != 0 {
				return sysFailed("chpasswd -e", r, data), nil
			}
		}
		if after, err = probeUser(ctx, h, name); err != nil {
			return modules.Result{}, err
		}
	}
	if after.exists && (apply || cur.exists) {
		data["uid"], data["group"], data["groups"] = after.uid, after.gid, strings.Join(after.groups, ",")
		data["home"], data["shell"], data["comment"] = after.home, after.shel, after.comment
	}
	return modules.Result{Changed: changed, Diff: diff, Data: data}, nil
}

func groupExists(ctx context.Context, h *modules.Host, name string) bool {
	r, err := sysArgv(ctx, h, "getent", "group", name)
	return err == nil && r.RC == 0
}
