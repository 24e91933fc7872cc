// Package simtest helps the simulator's tests: it gives each test the lab MariaDB (started by
// lab/mariadb when needed) with its own databases, named t_sim_<random>_rm, _cm, _hb1, _hb2
// and dropped when the test ends, and writes config.yaml files for them.
package simtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/mariadb"
)

// MetaDB is a test's share of the lab MariaDB.
type MetaDB struct {
	Server *mariadb.Server
	DB     *sql.DB // no default database; qualify table names
	Prefix string  // t_sim_<random>_
}

// NewMetaDB ensures the lab MariaDB runs and reserves a database prefix for the test. It
// skips (or fails under CI=true) when MariaDB cannot be had, and in -short mode.
func NewMetaDB(t testing.TB) *MetaDB {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs MariaDB (not in -short mode)")
	}
	if _, err := os.Stat("/usr/sbin/mariadbd"); err != nil {
		if _, err2 := exec.LookPath("mariadbd"); err2 != nil {
			testutil.SkipOrFail(t, "MariaDB is not installed (apt-get install mariadb-server mariadb-client)")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := mariadb.Ensure(ctx)
	if err != nil {
		testutil.SkipOrFail(t, "no lab MariaDB: %v", err)
	}
	db, err := srv.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	m := &MetaDB{Server: srv, DB: db, Prefix: "t_sim_" + hex.EncodeToString(b) + "_"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rows, err := db.QueryContext(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", m.Prefix+"%")
		if err == nil {
			var names []string
			for rows.Next() {
				var n string
				if rows.Scan(&n) == nil {
					names = append(names, n)
				}
			}
			rows.Close()
			for _, n := range names {
				db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+n+"`")
			}
		}
		db.Close()
	})
	return m
}

// Name is a database name with the test's prefix.
func (m *MetaDB) Name(suffix string) string { return m.Prefix + suffix }

// ConfigOptions shape a config.yaml.
type ConfigOptions struct {
	Region    string // default "hangzhou"
	Heartbeat string // heartbeat database suffix, default "hb1"
	Location  int
	Nodes     []string
}

// Config returns config.yaml content for the test's databases.
func (m *MetaDB) Config(o ConfigOptions) string {
	if o.Region == "" {
		o.Region = "hangzhou"
	}
	if o.Heartbeat == "" {
		o.Heartbeat = "hb1"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "oms_meta_host: %s\noms_meta_port: %d\noms_meta_user: %s\noms_meta_password: %s\n",
		m.Server.Host, m.Server.Port, m.Server.User, m.Server.Password)
	fmt.Fprintf(&b, "drc_rm_db: %s\ndrc_cm_db: %s\ndrc_cm_heartbeat_db: %s\n", m.Name("rm"), m.Name("cm"), m.Name(o.Heartbeat))
	fmt.Fprintf(&b, "cm_url: http://127.0.0.1:8088\ncm_location: %d\ncm_region: %s\ncm_is_default: %t\n", o.Location, o.Region, o.Location == 0)
	b.WriteString("cm_nodes:\n")
	for _, n := range o.Nodes {
		fmt.Fprintf(&b, "  - %s\n", n)
	}
	return b.String()
}

// WriteConfig writes config.yaml content to dir/name and returns its path.
func WriteConfig(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Count runs a COUNT(*)-like query returning one integer.
func (m *MetaDB) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := m.DB.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// String runs a query returning one string ("" for no row).
func (m *MetaDB) String(t testing.TB, query string, args ...any) string {
	t.Helper()
	var s sql.NullString
	err := m.DB.QueryRow(query, args...).Scan(&s)
	if err == sql.ErrNoRows {
		return ""
	}
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s.String
}

// Exec runs a statement or fails the test.
func (m *MetaDB) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := m.DB.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
