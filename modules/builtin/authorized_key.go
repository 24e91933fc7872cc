package builtin

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// AuthorizedKey adds or removes SSH public keys in a user's authorized_keys file.
type AuthorizedKey struct{}

func (AuthorizedKey) Name() string { return "authorized_key" }

func (AuthorizedKey) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Add or remove SSH public keys in a user's authorized_keys",
		Description: "A key is the same key when its type and base64 blob are; present adds each " +
			"key of `key` (one per line) that is missing and rewrites one whose options or comment " +
			"differ, keeping every other line in its place; exclusive removes every other key; " +
			"absent removes the keys. The file is ~USER/.ssh/authorized_keys unless path says " +
			"otherwise; with manage_dir, ~/.ssh is created (0700) and the file written 0600, both " +
			"owned by the user.",
		CheckMode: "Reads the file and reports changed with a diff of it when Apply would change it; unknown when the user does not exist (yet).",
		Args: []modules.Arg{
			{Name: "user", Type: modules.String, Required: true, Doc: "whose authorized_keys"},
			{Name: "key", Type: modules.String, Required: true, Doc: "the public key(s), one per line, as in authorized_keys"},
			{Name: "state", Type: modules.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
			{Name: "exclusive", Type: modules.Bool, Default: false, Doc: "remove every key not in key"},
			{Name: "path", Type: modules.String, Doc: "the authorized_keys file (default ~USER/.ssh/authorized_keys)"},
			{Name: "key_options", Type: modules.String, Doc: "options to put before each key, e.g. no-port-forwarding,from=\"127.0.0.1\""},
			{Name: "comment", Type: modules.String, Doc: "the comment to put after each key (default: the key's own)"},
			{Name: "manage_dir", Type: modules.Bool, Default: true, Doc: "create the directory and set owner and modes"},
		},
		Returns: []modules.Field{
			{Name: "user", Type: "string", Doc: "the user"},
			{Name: "key", Type: "string", Doc: "the key(s) as given"},
			{Name: "key_options", Type: "string", Doc: "the options as given"},
			{Name: "keyfile", Type: "string", Doc: "the authorized_keys file"},
			{Name: "exclusive", Type: "bool", Doc: "exclusive as given"},
			{Name: "state", Type: "string", Doc: "present or absent"},
		},
	}
}

func (AuthorizedKey) Validate(args modules.Args) error {
	k, ok := args["key"].(string)
	if !ok || unrendered(k) {
		return nil
	}
	keys, err := parseKeyLines(k)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("key holds no public key")
	}
	return nil
}

// authKey is one key line of an authorized_keys file.
type authKey struct {
	options, typ, blob, comment string
}

func (k authKey) line() string {
	s := k.typ + " " + k.blob
	if k.options != "" {
		s = k.options + " " + s
	}
	if k.comment != "" {
		s += " " + k.comment
	}
	return s
}

// keyTypes are the prefixes of the key types OpenSSH accepts.
func isKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// parseKeyLine splits an authorized_keys line into options, type, blob and comment; ok is
// false for blank lines, comments and lines that hold no key.
func parseKeyLine(line string) (authKey, bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return authKey{}, false
	}
	// Options come first and may hold quoted spaces: the key type is the first unquoted word
	// that names one.
	var words []string
	var cur strings.Builder
	inQuote := false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !inQuote:
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	for i, w := range words {
		if isKeyType(w) && i+1 < len(words) {
			return authKey{options: strings.Join(words[:i], " "), typ: w, blob: words[i+1], comment: strings.Join(words[i+2:], " ")}, true
		}
	}
	return authKey{}, false
}

func parseKeyLines(s string) ([]authKey, error) {
	var keys []authKey
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		k, ok := parseKeyLine(l)
		if !ok {
			return nil, fmt.Errorf("invalid key specified: %q is not a public key line (TYPE BASE64 [COMMENT])", l)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (AuthorizedKey) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runAuthorizedKey(ctx, h, args, false)
}

func (AuthorizedKey) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return runAuthorizedKey(ctx, h, args, true)
}

func runAuthorizedKey(ctx context.Context, h *modules.Host, args modules.Args, apply bool) (modules.Result, error) {
	user := args.String("user")
	data := map[string]any{"user": user, "key": args.String("key"), "key_options": args.String("key_options"),
		"exclusive": args.Bool("exclusive"), "state": args.String("state")}
	want, err := parseKeyLines(args.String("key"))
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	for i := range want {
		if args.Has("key_options") {
			want[i].options = args.String("key_options")
		}
		if args.Has("comment") {
			want[i].comment = args.String("comment")
		}
	}
	r, err := sysArgv(ctx, h, "getent", "passwd", user)
	if err != nil {
		return modules.Result{}, err
	}
	f := strings.Split(strings.TrimSpace(r.Stdout), ":")
	if r.RC != 0 || len(f) < 7 {
		if !apply { // an earlier task may create the user; --check cannot tell
			return modules.Result{Unknown: true, Msg: fmt.Sprintf("user %s does not exist (yet)", user), Data: data}, nil
		}
		return modules.Fail(fmt.Sprintf("Failed to lookup user %s: no such user on the host", user), data), nil
	}
	home := f[5]
	file := args.String("path")
	if file == "" {
		file = path.Join(home, ".ssh", "authorized_keys")
	} else if strings.HasPrefix(file, "~/") {
		file = path.Join(home, file[2:])
	}
	data["keyfile"] = file
	before, _, err := sysReadFile(ctx, h, file)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	after := editAuthorizedKeys(before, want, args.String("state") == "present", args.Bool("exclusive"))
	if after == before {
		return modules.Result{Data: data}, nil
	}
	res := modules.Result{Changed: true, Diff: &modules.Diff{Before: before, After: after, BeforeLabel: file, AfterLabel: file}, Data: data}
	if !apply {
		return res, nil
	}
	owner := ""
	if args.Bool("manage_dir") {
		owner = user + ":" + f[3] // the user and its primary gid
		dir := path.Dir(file)
		q := shellquote.Quote(dir)
		r, err := sysSh(ctx, h, "[ -d "+q+" ] || { mkdir -p -- "+q+" && chmod 700 -- "+q+" && chown "+shellquote.Quote(owner)+" -- "+q+"; }", "")
		if err != nil {
			return modules.Result{}, err
		}
		if r.RC != 0 {
			return sysFailed("create "+dir, r, data), nil
		}
	}
	if r, err = sysWriteFile(ctx, h, file, after, "600", owner); err != nil {
		return modules.Result{}, err
	}
	if r.RC != 0 {
		return sysFailed("write "+file, r, data), nil
	}
	return res, nil
}

// editAuthorizedKeys returns the file with the keys present (or absent), and with exclusive
// only them; other lines keep their places.
func editAuthorizedKeys(content string, want []authKey, present, exclusive bool) string {
	wanted := map[string]authKey{}
	for _, k := range want {
		wanted[k.typ+" "+k.blob] = k
	}
	var lines []string
	if content != "" {
		lines = strings.Split(strings.TrimRight(content, "\n"), "\n")
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		k, ok := parseKeyLine(l)
		if !ok {
			if !(exclusive && strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#")) {
				out = append(out, l)
			}
			continue
		}
		id := k.typ + " " + k.blob
		w, isWanted := wanted[id]
		switch {
		case isWanted && !present:
			// removed
		case isWanted && !seen[id]:
			out = append(out, w.line())
			seen[id] = true
		case isWanted:
			// a duplicate of a key already written
		case exclusive && present:
			// another key, removed
		default:
			out = append(out, l)
		}
	}
	if present {
		for _, k := range want {
			if id := k.typ + " " + k.blob; !seen[id] {
				out = append(out, k.line())
				seen[id] = true
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}
