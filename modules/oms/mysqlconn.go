package oms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/omsbook/omsbook/modules"
)

// mysqlConnArgs are the connection arguments of the modules that reach the MetaDB:
// mysql_exec, mysqldump, oms_param and wait_online. A `metadb` map (as the inventory's
// metadb variable) gives defaults that the single arguments override.
func mysqlConnArgs(required bool) []modules.Arg {
	return []modules.Arg{
		{Name: "metadb", Type: modules.Map, Doc: "connection as a map {host, port, user, password}, e.g. \"{{ .metadb }}\""},
		{Name: "host", Type: modules.String, Doc: "MySQL/MariaDB host (default: metadb.host)"},
		{Name: "port", Type: modules.Int, Doc: "port (default: metadb.port, else 3306)"},
		{Name: "user", Type: modules.String, Doc: "user (default: metadb.user)"},
		{Name: "password", Type: modules.String, Secret: true, Doc: "password (default: metadb.password); secret"},
		{Name: "dsn", Type: modules.String, Secret: true, Doc: "a go-sql-driver DSN instead of host/port/user/password; secret"},
	}
}

// mysqlTarget is a resolved MetaDB connection.
type mysqlTarget struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string
	cfg      *mysql.Config
}

func (t mysqlTarget) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// given reports whether any connection argument is present.
func mysqlConnGiven(args modules.Args) bool {
	for _, k := range []string{"metadb", "host", "dsn"} {
		if args.Has(k) {
			return true
		}
	}
	return false
}

// resolveMySQL builds the connection from the arguments; database is the default schema. The
// password is registered as a secret.
func resolveMySQL(h *modules.Host, args modules.Args, database string) (mysqlTarget, error) {
	t := mysqlTarget{Port: 3306, Database: database}
	if dsn := args.String("dsn"); dsn != "" {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return t, errors.New("dsn: cannot parse it (want user:password@tcp(host:port)/db)")
		}
		if cfg.Passwd != "" {
			h.AddSecret(cfg.Passwd)
		}
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err == nil {
			t.Host = host
			t.Port, _ = strconv.Atoi(port)
		}
		t.User, t.Password = cfg.User, cfg.Passwd
		if database == "" {
			t.Database = cfg.DBName
		}
		cfg.DBName = t.Database
		t.cfg = cfg
		return t, nil
	}
	if m := args.Map("metadb"); m != nil {
		if v, ok := m["host"]; ok {
			t.Host = fmt.Sprint(v)
		}
		if v, ok := m["port"]; ok {
			p, err := modules.Int.Coerce(v)
			if err != nil {
				return t, fmt.Errorf("metadb.port: %w", err)
			}
			t.Port = p.(int)
		}
		if v, ok := m["user"]; ok {
			t.User = fmt.Sprint(v)
		}
		if v, ok := m["password"]; ok && v != nil {
			t.Password = fmt.Sprint(v)
		}
	}
	if args.Has("host") {
		t.Host = args.String("host")
	}
	if args.Has("port") {
		t.Port = args.Int("port")
	}
	if args.Has("user") {
		t.User = args.String("user")
	}
	if args.Has("password") {
		t.Password = args.String("password")
	}
	if t.Host == "" {
		return t, errors.New("no MetaDB host: give host, or metadb: {host, port, user, password}")
	}
	if t.User == "" {
		return t, errors.New("no MetaDB user: give user, or metadb.user")
	}
	h.AddSecret(t.Password)
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", t.addr(), t.User, t.Password, t.Database
	t.cfg = cfg
	return t, nil
}

// open connects to the server and checks that it answers. Connection errors carry the address
// and user, never the password.
func (t mysqlTarget) open(ctx context.Context) (*sql.DB, error) {
	cfg := t.cfg.Clone()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure the MySQL connection to %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to MySQL %s as %s: %w (check the metadb host, port, user and password)", cfg.Addr, cfg.User, err)
	}
	return db, nil
}

// quoteIdent quotes a MySQL identifier (database or table name).
func quoteIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// sqlRows reads every row as a map of column name to value: integers as int, floats as
// float64, NULL as nil, everything else as string (never []byte).
func sqlRows(rows *sql.Rows) ([]any, error) {
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	out := []any{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c.Name()] = sqlValue(c.DatabaseTypeName(), vals[i])
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func sqlValue(typ string, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		return int(x)
	case uint64:
		return int(x)
	case float32:
		return float64(x)
	case float64:
		return x
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999")
	case []byte:
		s := string(x)
		switch strings.TrimPrefix(typ, "UNSIGNED ") {
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return int(n)
			}
		case "FLOAT", "DOUBLE":
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
		}
		return s
	}
	return fmt.Sprint(v)
}
