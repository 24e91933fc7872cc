package builtin

// Helpers of the file modules (file, lineinfile, blockinfile, replace): the host's file
// operations (transport.Files, with the task's become settings), Ansible's file attributes
// (mode as octal or symbolic, owner, group), timestamped backups, validate commands, and
// Python's regular-expression replacement templates.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// hostFiles returns the file operations on the host the module runs on, as the task's user.
func hostFiles(h *modules.Host) transport.Files {
	return transport.Files{Conn: h.Conn, Become: h.Become, BecomeUser: h.BecomeUser, BecomePassword: h.BecomePassword}
}

// Arguments every file module takes, as Ansible's add_file_common_args.
var (
	attrModeArg  = modules.Arg{Name: "mode", Type: modules.Any, Doc: "permissions: an octal string (\"0644\", \"4755\") or symbolic (\"u+rwx,g-w,o=r\"); default: leave as it is (new files get the umask's)"}
	attrOwnerArg = modules.Arg{Name: "owner", Type: modules.String, Doc: "the user that should own the path (name or id)"}
	attrGroupArg = modules.Arg{Name: "group", Type: modules.String, Doc: "the group that should own the path (name or id)"}
)

// parseMode computes the mode (Unix bits) that the mode argument v asks for, from the current
// mode cur: an octal number or string, or a symbolic mode as chmod(1) takes it
// ("u+rwx,g-w,o=r", "a=rX"). given is false when v is empty.
func parseMode(v any, cur uint32, isDir bool) (mode uint32, given bool, err error) {
	if s, ok := v.(string); ok && strings.TrimSpace(s) != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '7' }) >= 0 && !strings.HasPrefix(strings.TrimSpace(s), "0o") {
		m, err := symbolicMode(strings.TrimSpace(s), cur, isDir)
		return m, err == nil, err
	}
	m, given, err := fileModeArg(v)
	return uint32(m), given, err
}

// symbolicMode applies a chmod(1) symbolic mode to cur, as Ansible's file module does: the
// clauses, comma separated, are [ugoa]*([-+=][rwxXst]*)+; without a who, a means all (no
// umask is applied, as Ansible does).
func symbolicMode(s string, cur uint32, isDir bool) (uint32, error) {
	bad := func(why string) (uint32, error) {
		return 0, fmt.Errorf("mode %q is not a valid symbolic mode (%s): write it as chmod does, e.g. \"u+rwx,g-w,o=r\", or as an octal string", s, why)
	}
	m := cur & 0o7777
	for _, clause := range strings.Split(s, ",") {
		i := 0
		var who uint32
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			switch clause[i] {
			case 'u':
				who |= 0o4700
			case 'g':
				who |= 0o2070
			case 'o':
				who |= 0o1007
			case 'a':
				who |= 0o7777
			}
		}
		if who == 0 {
			who = 0o7777
		}
		if i == len(clause) {
			return bad("no operator in " + strconv.Quote(clause))
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return bad("unexpected " + strconv.Quote(string(op)))
			}
			i++
			var perm uint32
			for ; i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0; i++ {
				switch clause[i] {
				case 'r':
					perm |= 0o444
				case 'w':
					perm |= 0o222
				case 'x':
					perm |= 0o111
				case 'X':
					if isDir || m&0o111 != 0 {
						perm |= 0o111
					}
				case 's':
					perm |= 0o6000
				case 't':
					perm |= 0o1000
				}
			}
			perm &= who
			switch op {
			case '+':
				m |= perm
			case '-':
				m &^= perm
			case '=':
				// = clears the who's permission bits (not set-id bits of others).
				clear := who & 0o777
				if who&0o700 != 0 {
					clear |= 0o4000
				}
				if who&0o070 != 0 {
					clear |= 0o2000
				}
				m = m&^clear | perm
			}
		}
	}
	return m, nil
}

// attrChange is what setting a path's attributes did or would do.
type attrChange struct {
	changed bool
	before  []string // "mode: 0644", "owner: root" as they were
	after   []string
}

// applyAttrs compares pi (an existing path) with the mode, owner and group arguments and,
// when apply is true, sets what differs. follow sets the owner of a link's target instead
// of the link.
func applyAttrs(ctx context.Context, h *modules.Host, pi *transport.PathInfo, args modules.Args, follow, apply bool) (attrChange, error) {
	var ch attrChange
	f := hostFiles(h)
	if pi.Type != "link" || follow {
		want, given, err := parseMode(args["mode"], pi.Mode, pi.IsDir())
		if err != nil {
			return ch, err
		}
		if given && want != pi.Mode {
			ch.changed = true
			ch.before = append(ch.before, fmt.Sprintf("mode: %04o", pi.Mode))
			ch.after = append(ch.after, fmt.Sprintf("mode: %04o", want))
			if apply {
				if err := f.Chmod(ctx, pi.Path, want); err != nil {
					return ch, err
				}
			}
		}
	}
	owner, group := args.String("owner"), args.String("group")
	setOwner, setGroup := "", ""
	if owner != "" && owner != pi.Owner {
		setOwner = owner
		ch.before = append(ch.before, "owner: "+pi.Owner)
		ch.after = append(ch.after, "owner: "+owner)
	}
	if group != "" && group != pi.Group {
		setGroup = group
		ch.before = append(ch.before, "group: "+pi.Group)
		ch.after = append(ch.after, "group: "+group)
	}
	if setOwner != "" || setGroup != "" {
		ch.changed = true
		if apply {
			if err := f.Chown(ctx, pi.Path, setOwner, setGroup, follow, false); err != nil {
				return ch, err
			}
		}
	}
	return ch, nil
}

// backupName is the name Ansible's backup_local gives a backup of p:
// p.PID.YYYY-MM-DD@HH:MM:SS~ (omsbook's pid).
func backupName(p string) string {
	return fmt.Sprintf("%s.%d.%s~", p, os.Getpid(), time.Now().Format("2006-01-02@15:04:05"))
}

// backupFile copies the host file p (content small enough to hold: the text-editing modules
// read it whole anyway) beside itself with the same mode, and returns the copy's path.
func backupFile(ctx context.Context, h *modules.Host, p string, content []byte, mode uint32) (string, error) {
	dest := backupName(p)
	if err := hostFiles(h).WriteFileAtomic(ctx, dest, bytes.NewReader(content), mode); err != nil {
		return "", fmt.Errorf("back up %s: %w", p, err)
	}
	return dest, nil
}

// validateArg declares the validate argument of the modules that write a file.
var validateArg = modules.Arg{Name: "validate", Type: modules.String, Doc: "a command run on the host before the file is installed, with %s replaced by the path of a temporary file holding the new content; the file is installed only if it exits 0 (it runs through /bin/sh, the path quoted)"}

// runValidate writes content to a temporary file beside dest and runs the validate command on
// it; a non-nil error says why the content is refused.
func runValidate(ctx context.Context, h *modules.Host, validate, dest string, content []byte) error {
	return validateWith(ctx, h, validate, dest, func(tmp string) error {
		return hostFiles(h).WriteFileAtomic(ctx, tmp, bytes.NewReader(content), 0o600)
	})
}

// validateWith has write put the new content into a temporary file beside dest, runs the
// validate command on it (%s is the file's path, quoted), and removes the file.
func validateWith(ctx context.Context, h *modules.Host, validate, dest string, write func(tmp string) error) error {
	if !strings.Contains(validate, "%s") {
		return fmt.Errorf("validate must contain %%s: %q", validate)
	}
	f := hostFiles(h)
	tmp := path.Join(dirOf(dest), "."+baseOf(dest)+".omsbook-validate-"+strconv.Itoa(os.Getpid()))
	defer func() { _ = f.Remove(context.WithoutCancel(ctx), tmp, false) }()
	if err := write(tmp); err != nil {
		return err
	}
	res, err := h.Conn.Exec(ctx, h.Cmd(strings.ReplaceAll(validate, "%s", shellquote.Quote(tmp))))
	if err != nil {
		return err
	}
	if res.RC != 0 {
		return fmt.Errorf("failed to validate: rc %d: %s", res.RC, strings.TrimSpace(string(res.Stdout)+" "+string(res.Stderr)))
	}
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	} else if i == 0 {
		return "/"
	}
	return "."
}

func baseOf(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// pyRegexp compiles a Python regular expression as Go's RE2 reads it (the common syntax is the
// same; look-arounds and backreferences inside a pattern are not supported).
func pyRegexp(name, expr string, flags string) (*regexp.Regexp, error) {
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (omsbook uses Go's RE2 syntax: look-arounds and backreferences in the pattern are not supported)", name, err)
	}
	return re, nil
}

// pyTemplate turns a Python replacement template (\1, \g<1>, \g<name>, \n, \\) into Go's
// Regexp.Expand syntax (${1}, ${name}, a literal $ as $$).
func pyTemplate(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(t):
			n := t[i+1]
			switch {
			case n >= '0' && n <= '9':
				j := i + 1
				for j < len(t) && j < i+3 && t[j] >= '0' && t[j] <= '9' {
					j++
				}
				b.WriteString("${" + t[i+1:j] + "}")
				i = j - 1
			case n == 'g' && i+2 < len(t) && t[i+2] == '<':
				if end := strings.IndexByte(t[i+3:], '>'); end >= 0 {
					b.WriteString("${" + t[i+3:i+3+end] + "}")
					i += 3 + end
				} else {
					b.WriteByte(c)
				}
			case n == 'n':
				b.WriteByte('\n')
				i++
			case n == 't':
				b.WriteByte('\t')
				i++
			case n == 'r':
				b.WriteByte('\r')
				i++
			case n == '\\':
				b.WriteByte('\\')
				i++
			default:
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitLines splits text after each "\n", keeping the line ends, as Python's readlines does.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
