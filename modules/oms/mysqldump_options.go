package oms

import (
	"context"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
)

// The mysql and mysqldump clients get the connection settings, password included, as an
// option file they read from a pipe: the settings are the standard input of the shell line on
// the executing host, which runs `cat | CLIENT --defaults-extra-file=/dev/fd/3 ... 3<&0`. cat
// turns that input into a pipe whatever the transport gives (an SSH channel may be a socket,
// which /dev/fd cannot reopen), fd 3 carries it into the client, and the client's own standard
// input stays free for a dump to restore. So the password is never in a file (not even for a
// moment, so that a killed client leaves none behind), an argv or an environment. MariaDB's
// and MySQL's clients both read an option file from a pipe.

// staleOptionFiles is the pattern of the option files older omsbook versions wrote in the
// backup directory; a killed client left them there, so a run removes them first.
const staleOptionFiles = "/.omsbook-client-*.cnf"

// clientOptions is the content of the option file.
func clientOptions(t mysqlTarget) string {
	esc := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
	}
	return fmt.Sprintf("[client]\nprotocol=tcp\nhost=%s\nport=%d\nuser=%s\npassword=%s\n", esc(t.Host), t.Port, esc(t.User), esc(t.Password))
}

// clientLine is the shell line that runs client with args, its option file read from the
// line's standard input, and its own standard input redirected by stdinRedirect (such as
// "< file"). --defaults-extra-file must come first.
func clientLine(client string, args []string, stdinRedirect string) string {
	argv := append([]string{client, "--defaults-extra-file=/dev/fd/3"}, args...)
	return "cat | " + shellquote.Join(argv...) + " 3<&0 " + stdinRedirect
}

// shClient runs a shell line built with clientLine, the option file on its standard input.
func (r *dumpRun) shClient(ctx context.Context, line string) (stdout, stderr string, rc int, err error) {
	cmd := r.h.Cmd(line)
	cmd.Stdin = strings.NewReader(clientOptions(r.target))
	res, err := r.h.Conn.Exec(ctx, cmd)
	if err != nil {
		return "", "", -1, fmt.Errorf("on %s: %w", r.h.Name, err)
	}
	return string(res.Stdout), string(res.Stderr), res.RC, nil
}

// removeStaleOptionFiles removes the option files an older omsbook left in the backup
// directory (they hold the MetaDB password).
func (r *dumpRun) removeStaleOptionFiles(ctx context.Context) error {
	if _, stderr, rc, err := r.sh(ctx, "rm -f -- "+shellquote.QuoteIfNeeded(r.dir)+staleOptionFiles); err != nil || rc != 0 {
		if err == nil {
			err = fmt.Errorf("%s", strings.TrimSpace(stderr))
		}
		return fmt.Errorf("remove the stale client option files in %s on %s: %w", r.dir, r.h.Name, err)
	}
	return nil
}
