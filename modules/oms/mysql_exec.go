package oms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/omsbook/omsbook/modules"
)

// MySQLExec runs SQL statements or a query against a MySQL/MariaDB server (the MetaDB) with
// go-sql-driver/mysql.
type MySQLExec struct{}

// Name is the task key.
func (MySQLExec) Name() string { return "mysql_exec" }

// Spec declares the arguments.
func (MySQLExec) Spec() modules.Spec {
	return modules.Spec{
		Summary: "run SQL statements or a query on the MetaDB",
		Description: `Connects from the controller with go-sql-driver/mysql (also under delegate_to: the MetaDB is
reached by its network address, so the connection arguments must be valid from the controller).
sql is one statement, several separated by ";", or a list; query is one read statement whose rows
are registered. params fill "?" placeholders of a single statement. transaction runs every
statement in one transaction, rolled back on the first error. changed is true when a statement
affected rows, or when a DDL statement (CREATE, DROP, ALTER, RENAME, TRUNCATE) ran without a
warning (IF [NOT] EXISTS on something already so gives a warning, hence ok).
Values come back as int, float64, string or null (never bytes); dates as "YYYY-MM-DD hh:mm:ss".`,
		CheckMode: "runs the read statements (SELECT, SHOW, EXPLAIN, DESCRIBE, WITH ... SELECT) and reports writes as would change, without running them",
		Args: append(mysqlConnArgs(false),
			modules.Arg{Name: "database", Type: modules.String, Doc: "default database"},
			modules.Arg{Name: "sql", Type: modules.Any, Doc: `statements: a string (";"-separated) or a list of strings`},
			modules.Arg{Name: "query", Type: modules.String, Doc: "one read statement whose rows are registered"},
			modules.Arg{Name: "params", Type: modules.List, Doc: `values for the "?" placeholders of a single statement`},
			modules.Arg{Name: "transaction", Type: modules.Bool, Default: false, Doc: "run every statement in one transaction"},
		),
		Returns: []modules.Field{
			{Name: "rows", Type: "list", Doc: "rows of the query (or of the last read statement), as maps column -> value"},
			{Name: "rowcount", Type: "int", Doc: "number of rows in rows"},
			{Name: "affected", Type: "int", Doc: "rows affected by all write statements"},
			{Name: "statements", Type: "list", Doc: "per statement: {sql, read, ran, affected, rowcount, warnings}"},
		},
	}
}

// Validate wants one of sql and query.
func (MySQLExec) Validate(args modules.Args) error {
	if args.Has("sql") == args.Has("query") {
		return errors.New("give exactly one of sql (statements) and query (one read statement)")
	}
	if !mysqlConnGiven(args) {
		return errors.New("no connection: give host (and port, user, password), metadb: {...}, or dsn")
	}
	return nil
}

// Check runs the read statements only.
func (m MySQLExec) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply runs every statement.
func (m MySQLExec) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m MySQLExec) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	var stmts []string
	if args.Has("query") {
		stmts = []string{strings.TrimSpace(args.String("query"))}
	} else {
		switch v := args["sql"].(type) {
		case string:
			stmts = splitSQL(v)
		case []any:
			for _, s := range v {
				stmts = append(stmts, splitSQL(fmt.Sprint(s))...)
			}
		case []string:
			for _, s := range v {
				stmts = append(stmts, splitSQL(s)...)
			}
		default:
			return modules.Fail(fmt.Sprintf("sql: want a string or a list of strings, got %T", v), nil), nil
		}
	}
	if len(stmts) == 0 {
		return modules.Fail("sql holds no statement", nil), nil
	}
	params := args.List("params")
	if len(params) > 0 && len(stmts) > 1 {
		return modules.Fail(fmt.Sprintf("params fill the placeholders of one statement, but sql holds %d: split them into tasks", len(stmts)), nil), nil
	}
	target, err := resolveMySQL(h, args, args.String("database"))
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	db, err := target.open(ctx)
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), nil), nil
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return modules.Fail(h.Mask(fmt.Sprintf("connect to MySQL %s: %v", target.addr(), err)), nil), nil
	}
	defer conn.Close()

	var x sqlRunner = conn
	var tx *sql.Tx
	if args.Bool("transaction") && !check {
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return modules.Fail(h.Mask(fmt.Sprintf("begin a transaction: %v", err)), nil), nil
		}
		x = tx
	}
	data := map[string]any{"rows": []any{}, "rowcount": 0, "affected": 0}
	var report []any
	changed, affected, skippedWrites := false, 0, 0
	for i, stmt := range stmts {
		read := isReadSQL(stmt)
		entry := map[string]any{"sql": h.Mask(stmt), "read": read, "ran": false, "affected": 0, "rowcount": 0, "warnings": 0}
		report = append(report, entry)
		if check && !read {
			skippedWrites++
			continue
		}
		if err := runStatement(ctx, x, stmt, params, read, entry); err != nil {
			if tx != nil {
				_ = tx.Rollback()
			}
			data["statements"] = report
			data["failed_statement"] = i + 1
			msg := fmt.Sprintf("statement %d of %d: %v", i+1, len(stmts), err)
			if tx != nil {
				msg += " (transaction rolled back)"
			}
			return modules.Fail(h.Mask(msg), data), nil
		}
		if read {
			data["rows"], data["rowcount"] = entry["rows"], entry["rowcount"]
			continue
		}
		n := entry["affected"].(int)
		affected += n
		if n > 0 || isDDL(stmt) && entry["warnings"].(int) == 0 {
			changed = true
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return modules.Fail(h.Mask(fmt.Sprintf("commit: %v", err)), data), nil
		}
	}
	data["affected"], data["statements"] = affected, report
	res := modules.Result{Changed: changed, Data: data}
	switch {
	case check && skippedWrites > 0:
		res.Changed = true
		res.Msg = fmt.Sprintf("would run %d write statement(s) on %s", skippedWrites, target.addr())
	case args.Has("query"):
		res.Msg = fmt.Sprintf("%d row(s)", data["rowcount"])
	default:
		res.Msg = fmt.Sprintf("ran %d statement(s), %d row(s) affected", len(stmts), affected)
	}
	return res, nil
}

// sqlRunner is a connection or a transaction.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func runStatement(ctx context.Context, x sqlRunner, stmt string, params []any, read bool, entry map[string]any) error {
	entry["ran"] = true
	if read {
		rows, err := x.QueryContext(ctx, stmt, params...)
		if err != nil {
			return err
		}
		defer rows.Close()
		list, err := sqlRows(rows)
		if err != nil {
			return err
		}
		entry["rows"], entry["rowcount"] = list, len(list)
		return nil
	}
	res, err := x.ExecContext(ctx, stmt, params...)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	entry["affected"] = int(n)
	if isDDL(stmt) {
		var count int
		if rows, err := x.QueryContext(ctx, "SHOW COUNT(*) WARNINGS"); err == nil {
			if rows.Next() {
				_ = rows.Scan(&count)
			}
			rows.Close()
		}
		entry["warnings"] = count
	}
	return nil
}

var (
	sqlLeadingNoise = regexp.MustCompile(`^(\s+|--[^\n]*\n?|#[^\n]*\n?|/\*.*?\*/|\()+`)
	sqlFirstWord    = regexp.MustCompile(`^[A-Za-z]+`)
	sqlWriteInWith  = regexp.MustCompile(`(?i)\b(insert|update|delete|replace)\b`)
	sqlIntoFile     = regexp.MustCompile(`(?i)\binto\s+(out|dump)file\b`)
)

func firstSQLWord(stmt string) string {
	s := sqlLeadingNoise.ReplaceAllString(stmt, "")
	return strings.ToUpper(sqlFirstWord.FindString(s))
}

// isReadSQL reports whether a statement only reads: SELECT (not INTO OUTFILE), SHOW,
// EXPLAIN, DESCRIBE, and WITH ... SELECT.
func isReadSQL(stmt string) bool {
	switch firstSQLWord(stmt) {
	case "SELECT", "VALUES", "TABLE":
		return !sqlIntoFile.MatchString(stmt)
	case "SHOW", "EXPLAIN", "DESCRIBE", "DESC":
		return true
	case "WITH":
		return !sqlWriteInWith.MatchString(stripSQLStrings(stmt)) && !sqlIntoFile.MatchString(stmt)
	}
	return false
}

func isDDL(stmt string) bool {
	switch firstSQLWord(stmt) {
	case "CREATE", "DROP", "ALTER", "RENAME", "TRUNCATE":
		return true
	}
	return false
}

// stripSQLStrings blanks quoted strings so that keyword searches ignore their contents.
func stripSQLStrings(s string) string {
	var b strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
		case r == '\'' || r == '"' || r == '`':
			quote = r
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitSQL splits text into statements on ";" outside quotes and comments, dropping empty ones.
func splitSQL(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" && sqlLeadingNoise.ReplaceAllString(s, "") != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'' || r == '"' || r == '`':
			cur.WriteRune(r)
			for i++; i < len(rs); i++ {
				cur.WriteRune(rs[i])
				if rs[i] == '\\' && r != '`' && i+1 < len(rs) {
					i++
					cur.WriteRune(rs[i])
					continue
				}
				if rs[i] == r {
					break
				}
			}
		case r == '-' && i+2 < len(rs) && rs[i+1] == '-' && (rs[i+2] == ' ' || rs[i+2] == '\t'), r == '#':
			for ; i < len(rs) && rs[i] != '\n'; i++ {
				cur.WriteRune(rs[i])
			}
			if i < len(rs) {
				cur.WriteRune('\n')
			}
		case r == '/' && i+1 < len(rs) && rs[i+1] == '*':
			end := strings.Index(string(rs[i+2:]), "*/")
			if end < 0 {
				cur.WriteString(string(rs[i:]))
				i = len(rs)
				break
			}
			n := len([]rune(string(rs[i+2:])[:end]))
			cur.WriteString(string(rs[i : i+2+n+2]))
			i += 2 + n + 1
		case r == ';':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}
