package oms

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/modules"
)

func TestOMSSplitSQL(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"select 1", []string{"select 1"}},
		{"select 1; select 2;", []string{"select 1", "select 2"}},
		{"insert into t values ('a;b'); select \"x;\"", []string{"insert into t values ('a;b')", "select \"x;\""}},
		{"select 'it\\'s;'; select 2", []string{"select 'it\\'s;'", "select 2"}},
		{"-- a comment; here\nselect 1; # another; one\n", []string{"-- a comment; here\nselect 1"}},
		{"/* c; */ select 1;;  ;", []string{"/* c; */ select 1"}},
		{"select `a;b` from t", []string{"select `a;b` from t"}},
	}
	for _, tt := range tests {
		if got := splitSQL(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitSQL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOMSIsReadSQL(t *testing.T) {
	tests := map[string]bool{
		"SELECT 1": true, "  select * from t": true, "(SELECT 1)": true, "/* x */ SHOW TABLES": true,
		"explain select 1": true, "DESCRIBE t": true, "desc t": true,
		"WITH a AS (SELECT 1) SELECT * FROM a":        true,
		"WITH a AS (SELECT 1) DELETE FROM t":          false,
		"WITH a AS (SELECT 'update') SELECT * FROM a": true,
		"SELECT * FROM t INTO OUTFILE '/tmp/x'":       false,
		"INSERT INTO t VALUES (1)":                    false,
		"delete from heatbeat_sequence":               false,
		"CREATE TABLE x (a int)":                      false,
		"-- note\nUPDATE t SET a=1":                   false,
	}
	for stmt, want := range tests {
		if got := isReadSQL(stmt); got != want {
			t.Errorf("isReadSQL(%q) = %v, want %v", stmt, got, want)
		}
	}
}

func TestOMSSQLValue(t *testing.T) {
	tests := []struct {
		typ  string
		in   any
		want any
	}{
		{"INT", []byte("42"), 42},
		{"UNSIGNED BIGINT", []byte("7"), 7},
		{"VARCHAR", []byte("x"), "x"},
		{"DECIMAL", []byte("1.50"), "1.50"},
		{"DOUBLE", []byte("1.5"), 1.5},
		{"INT", int64(3), 3},
		{"TEXT", nil, nil},
	}
	for _, tt := range tests {
		if got := sqlValue(tt.typ, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("sqlValue(%s, %v) = %#v, want %#v", tt.typ, tt.in, got, tt.want)
		}
	}
}

// testDB creates a database with a unique t_mod_ prefix, dropped at the end of the test.
func testDB(t *testing.T, db *sql.DB, suffix string) string {
	t.Helper()
	name := "t_mod_" + randomHex(4) + "_" + suffix
	if _, err := db.Exec("CREATE DATABASE " + quoteIdent(name)); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS " + quoteIdent(name)) })
	return name
}

// tableChecksums returns CHECKSUM TABLE of every table of database name, as one string.
func tableChecksums(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema=? AND table_type='BASE TABLE' ORDER BY table_name", name)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var tn string
		if err := rows.Scan(&tn); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tn)
	}
	rows.Close()
	var out []string
	for _, tn := range tables {
		var table string
		var sum sql.NullInt64
		if err := db.QueryRow("CHECKSUM TABLE "+quoteIdent(name)+"."+quoteIdent(tn)).Scan(&table, &sum); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, sum.Int64))
	}
	return strings.Join(out, " ")
}

func openDB(t *testing.T) (*sql.DB, map[string]any) {
	t.Helper()
	srv := testMariaDB(t)
	db, err := srv.Open(context.Background(), "")
	if err != nil {
		testutil.SkipOrFail(t, "lab MariaDB: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, map[string]any{"host": srv.Host, "port": srv.Port, "user": srv.User, "password": srv.Password}
}

func TestMySQLExec(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, 2*time.Minute)
	oh := newTestHost(t)
	m := MySQLExec{}
	name := testDB(t, db, "rm")
	args := func(extra map[string]any) modules.Args {
		raw := map[string]any{"metadb": metadb, "database": name}
		for k, v := range extra {
			raw[k] = v
		}
		return coerceArgs(t, m, raw)
	}
	setup := args(map[string]any{"sql": []any{
		"CREATE TABLE IF NOT EXISTS oms_version(version varchar(64) NOT NULL, gmt_modified timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY(version)) DEFAULT CHARSET=utf8mb4",
		"INSERT IGNORE INTO oms_version(version, gmt_modified) VALUES ('4.2.2-CE', '2026-01-02 03:04:05')",
	}})

	// Check first: the table does not exist afterwards.
	r, err := m.Check(ctx, oh.Host, setup)
	if err != nil || !r.Changed || r.Failed || !strings.Contains(r.Msg, "would run 2 write statement(s)") {
		t.Fatalf("check = %+v, %v", r, err)
	}
	if got := tableChecksums(t, db, name); got != "" {
		t.Fatalf("check created tables: %s", got)
	}
	for i, want := range []bool{true, false} {
		r, err = m.Apply(ctx, oh.Host, setup)
		if err != nil || r.Failed || r.Changed != want {
			t.Fatalf("apply %d = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	if r.Data["affected"] != 0 {
		t.Fatalf("second apply affected %v rows", r.Data["affected"])
	}

	// A query with params returns typed rows; Check runs it too.
	q := args(map[string]any{"query": "SELECT version, gmt_modified, 7 AS n, NULL AS nothing FROM oms_version WHERE version = ?", "params": []any{"4.2.2-CE"}})
	for _, run := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Check, m.Apply} {
		r, err = run(ctx, oh.Host, q)
		if err != nil || r.Failed || r.Changed {
			t.Fatalf("query = %+v, %v", r, err)
		}
		want := []any{map[string]any{"version": "4.2.2-CE", "gmt_modified": "2026-01-02 03:04:05", "n": 7, "nothing": nil}}
		if !reflect.DeepEqual(r.Data["rows"], want) || r.Data["rowcount"] != 1 {
			t.Fatalf("rows = %#v, want %#v", r.Data["rows"], want)
		}
	}

	// Errors name the statement's position and carry MySQL's number; a transaction rolls back.
	before := tableChecksums(t, db, name)
	bad := args(map[string]any{"transaction": true, "sql": "INSERT INTO oms_version(version) VALUES ('9.9.9'); SELECT * FROM nope; SELECT 1"})
	r, err = m.Apply(ctx, oh.Host, bad)
	wantMsg := fmt.Sprintf("statement 2 of 3: Error 1146 (42S02): Table '%s.nope' doesn't exist (transaction rolled back)", name)
	if err != nil || !r.Failed || r.Msg != wantMsg {
		t.Fatalf("bad statement = %+v, %v; want msg %q", r, err, wantMsg)
	}
	if got := tableChecksums(t, db, name); got != before {
		t.Fatalf("the failed transaction left changes: %s -> %s", before, got)
	}

	// The password is registered as a secret; a wrong one fails without showing it.
	if oh.Mask(metadb["password"].(string)) != "********" {
		t.Fatalf("password not registered as a secret")
	}
	wrong := map[string]any{"host": metadb["host"], "port": metadb["port"], "user": metadb["user"], "password": "wrong-password-xyz"}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": wrong, "query": "SELECT 1"}))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "Access denied") || strings.Contains(r.Msg, "wrong-password-xyz") {
		t.Fatalf("wrong password = %+v, %v", r, err)
	}
	if r, _ = m.Apply(ctx, oh.Host, args(map[string]any{"sql": "SELECT ?; SELECT 2", "params": []any{1}})); !r.Failed || !strings.Contains(r.Msg, "params fill the placeholders of one statement") {
		t.Fatalf("params with two statements = %+v", r)
	}
}
