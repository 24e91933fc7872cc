package builtin

// Helpers shared by the system modules (service, systemd, apt, dnf, user, group, cron,
// authorized_key, sysctl, hostname): running a probe or an action on the host as the task's
// become user, writing a file there through the same user, and a diff of "key: value" lines.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// sysRun is what one command on the host left.
type sysRun struct {
	Stdout, Stderr string
	RC             int
}

// out is stdout and stderr for a failure message.
func (r sysRun) out() string {
	s := strings.TrimSpace(r.Stderr)
	if o := strings.TrimSpace(r.Stdout); o != "" {
		if s != "" {
			s = o + "\n" + s
		} else {
			s = o
		}
	}
	return s
}

// sysSh runs a shell line on the host with the task's become settings; stdin, when not
// empty, is fed to it (the only way a secret reaches the host). An error is returned only when
// the command could not run at all.
func sysSh(ctx context.Context, h *modules.Host, line, stdin string) (sysRun, error) {
	cmd := h.Cmd(line)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	res, err := h.Conn.Exec(ctx, cmd)
	if err != nil {
		return sysRun{}, err
	}
	return sysRun{Stdout: string(res.Stdout), Stderr: string(res.Stderr), RC: res.RC}, nil
}

// sysArgv runs a program with arguments (quoted for the shell) on the host.
func sysArgv(ctx context.Context, h *modules.Host, argv ...string) (sysRun, error) {
	return sysSh(ctx, h, shellquote.Join(argv...), "")
}

// sysFailed is the failed result of a command that did not do what it had to.
func sysFailed(what string, r sysRun, data map[string]any) modules.Result {
	msg := fmt.Sprintf("%s failed (rc %d)", what, r.RC)
	if o := r.out(); o != "" {
		msg += ": " + o
	}
	if data == nil {
		data = map[string]any{}
	}
	data["rc"], data["stdout"], data["stderr"] = r.RC, trimFinalNewline(r.Stdout), trimFinalNewline(r.Stderr)
	return modules.Fail(msg, data)
}

// sysReadFile reads a file on the host as the become user; a missing file is "", false.
func sysReadFile(ctx context.Context, h *modules.Host, path string) (string, bool, error) {
	q := shellquote.Quote(path)
	r, err := sysSh(ctx, h, "if [ -e "+q+" ]; then cat -- "+q+"; else exit 3; fi", "")
	if err != nil {
		return "", false, err
	}
	switch r.RC {
	case 0:
		return r.Stdout, true, nil
	case 3:
		return "", false, nil
	}
	return "", false, fmt.Errorf("read %s: %s", path, r.out())
}

// sysWriteFile writes content to path on the host as the become user, atomically (a
// temporary file in the same directory renamed into place), with mode and, when owner is
// not empty, owner ("user" or "user:group").
func sysWriteFile(ctx context.Context, h *modules.Host, path, content, mode, owner string) (sysRun, error) {
	q := shellquote.Quote(path)
	line := `set -e; d=$(dirname -- ` + q + `); t=$(mktemp "$d/.omsbook.XXXXXX"); trap 'rm -f "$t"' EXIT; cat > "$t"; chmod ` + mode + ` "$t"; `
	if owner != "" {
		line += `chown ` + shellquote.Quote(owner) + ` "$t"; `
	}
	line += `mv -f "$t" ` + q + `; trap - EXIT`
	cmd := h.Cmd(line)
	cmd.Stdin = strings.NewReader(content)
	res, err := h.Conn.Exec(ctx, cmd)
	if err != nil {
		return sysRun{}, err
	}
	return sysRun{Stdout: string(res.Stdout), Stderr: string(res.Stderr), RC: res.RC}, nil
}

// sysStateText renders settings as sorted "key: value" lines, for a diff.
func sysStateText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, m[k])
	}
	return b.String()
}

// sysStateDiff is a diff of two settings maps, labelled with what they describe.
func sysStateDiff(label string, before, after map[string]string) *modules.Diff {
	return &modules.Diff{Before: sysStateText(before), After: sysStateText(after), BeforeLabel: label, AfterLabel: label}
}

// sysSameSet reports whether two lists hold the same strings, in any order.
func sysSameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// sysContains reports whether list has s.
func sysContains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
