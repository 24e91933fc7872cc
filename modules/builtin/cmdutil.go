package builtin

// Helpers shared by the command-running generic modules (command, shell, expect): splitting a
// command line into argv, streaming live output lines, the creates/removes guards and the
// registered fields every command result carries.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// splitCommandLine splits a command line into words the way a POSIX shell would quote them —
// single quotes, double quotes (where \ escapes " \ $ ` and newline) and backslash escapes —
// without any other shell feature: no variables, globs, pipes or redirections.
func splitCommandLine(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool
	)
	for _, r := range line {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("\"\\$`\n", r) {
				cur.WriteRune('\\')
			}
			if r != '\n' { // backslash-newline is a line continuation
				cur.WriteRune(r)
			}
			escaped, inWord = false, true
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case quote != 0:
		return nil, fmt.Errorf("unterminated %c quote in command line %q: close the quote", quote, line)
	case escaped:
		return nil, fmt.Errorf("command line %q ends with a lone backslash: remove it or quote it", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// trimFinalNewline drops the line breaks at the end of the output, as Ansible registers stdout
// and stderr (its command module strips every trailing "\r" and "\n", so that "a\n\n" gives
// "a" and stdout_lines ["a"]).
func trimFinalNewline(s string) string {
	return strings.TrimRight(s, "\r\n")
}

// outputLines splits output into lines; empty output has no lines (never nil, so that
// templates and expressions see an empty list).
func outputLines(s string) []any {
	if s == "" {
		return []any{}
	}
	parts := strings.Split(s, "\n")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSuffix(p, "\r")
	}
	return out
}

// ansibleTime formats a timestamp as Ansible's command module registers start and end.
func ansibleTime(t time.Time) string { return t.Format("2006-01-02 15:04:05.000000") }

// ansibleDelta formats a duration as Ansible's delta: H:MM:SS.ffffff.
func ansibleDelta(d time.Duration) string {
	us := d.Microseconds()
	h := us / 3600e6
	m := us / 60e6 % 60
	s := us / 1e6 % 60
	return fmt.Sprintf("%d:%02d:%02d.%06d", h, m, s, us%1e6)
}

// commandData is the registered result of a finished command.
func commandData(cmd any, res *transport.ExecResult, start, end time.Time) map[string]any {
	stdout := trimFinalNewline(string(res.Stdout))
	stderr := trimFinalNewline(string(res.Stderr))
	return map[string]any{
		"cmd":          cmd,
		"rc":           res.RC,
		"stdout":       stdout,
		"stderr":       stderr,
		"stdout_lines": outputLines(stdout),
		"stderr_lines": outputLines(stderr),
		"start":        ansibleTime(start),
		"end":          ansibleTime(end),
		"delta":        ansibleDelta(end.Sub(start)),
	}
}

// commandReturns documents the fields of commandData, for Spec.Returns.
var commandReturns = []modules.Field{
	{Name: "rc", Type: "int", Doc: "exit status of the command; -1 when a signal killed it"},
	{Name: "stdout", Type: "string", Doc: "standard output, without its final newlines"},
	{Name: "stderr", Type: "string", Doc: "standard error, without its final newlines"},
	{Name: "stdout_lines", Type: "list", Doc: "stdout split into lines"},
	{Name: "stderr_lines", Type: "list", Doc: "stderr split into lines"},
	{Name: "cmd", Type: "list or string", Doc: "the command that ran (argv for command, the line for shell)"},
	{Name: "start", Type: "string", Doc: "when the command started (YYYY-MM-DD HH:MM:SS.ffffff)"},
	{Name: "end", Type: "string", Doc: "when the command ended"},
	{Name: "delta", Type: "string", Doc: "how long it ran (H:MM:SS.ffffff)"},
}

// guardArgs are the creates/removes/chdir arguments shared by command, shell and expect.
var guardArgs = []modules.Arg{
	{Name: "chdir", Type: modules.String, Doc: "change into this directory on the host before running"},
	{Name: "creates", Type: modules.String, Doc: "a path on the host; when it already exists the command is not run (relative to chdir)"},
	{Name: "removes", Type: modules.String, Doc: "a path on the host; when it does not exist the command is not run (relative to chdir)"},
}

// guardSkip checks the creates/removes arguments. It returns a non-empty reason when the
// command must not run, as Ansible's "skipped, since /x exists".
func guardSkip(ctx context.Context, h *modules.Host, args modules.Args) (string, error) {
	resolve := func(p string) string {
		if dir := args.String("chdir"); dir != "" && !path.IsAbs(p) {
			return path.Join(dir, p)
		}
		return p
	}
	exists := func(p string) (bool, error) {
		_, err := h.Conn.Stat(ctx, p)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		}
		return false, fmt.Errorf("check whether %s exists: %w", p, err)
	}
	if p := args.String("creates"); p != "" {
		ok, err := exists(resolve(p))
		if err != nil {
			return "", err
		}
		if ok {
			return fmt.Sprintf("skipped, since %s exists", p), nil
		}
	}
	if p := args.String("removes"); p != "" {
		ok, err := exists(resolve(p))
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("skipped, since %s does not exist", p), nil
		}
	}
	return "", nil
}

// skippedCommandData is what a command registers when creates/removes kept it from running.
func skippedCommandData(cmd any, reason string) map[string]any {
	return map[string]any{
		"cmd": cmd, "rc": 0, "stdout": reason, "stderr": "",
		"stdout_lines": []any{reason}, "stderr_lines": []any{},
	}
}

// execError turns an error from Conn.Exec into what a module returns: unreachable hosts and
// cancellation stay errors (the runner reports them as such); a command that could not be
// started at all becomes a failed result, as a shell would report it.
func execError(ctx context.Context, what any, err error) (modules.Result, error) {
	if transport.IsUnreachable(err) || ctx.Err() != nil {
		return modules.Result{}, err
	}
	return modules.Fail(fmt.Sprintf("could not run %v: %v", what, err), map[string]any{"cmd": what, "rc": 127}), nil
}

// unrendered reports whether v is a template the runner could not render yet (it needs
// values known only at run time); a Validator checks such values when they are rendered.
func unrendered(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "{{")
}
