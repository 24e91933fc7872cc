package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/omsbook/omsbook/lab/mariadb"
)

// BigDBName is the benchmark's own database on the lab MetaDB; nothing else uses it.
const BigDBName = "bench_big"

// BigDB is the grown database and how to reach it.
type BigDB struct {
	Host     string
	Port     int
	User     string
	Password string
	Bytes    int64 // data + index length, from information_schema after ANALYZE TABLE
}

// OptionFile is a mysql client option file for the server (keep it 0600: it holds the
// password, which thus never reaches an argv).
func (b BigDB) OptionFile() string {
	return fmt.Sprintf("[client]\nprotocol=tcp\nhost=%s\nport=%d\nuser=%s\npassword=%s\n", b.Host, b.Port, b.User, b.Password)
}

// EnsureBigDB makes sure the lab MetaDB (mariadb.Ensure) holds database name with at least
// size bytes of data and indexes, growing it when smaller: rows of random text, doubled
// server-side (INSERT ... SELECT) until big enough. A database already big enough is reused as
// it is, so only the first run pays for the growth.
func EnsureBigDB(ctx context.Context, name string, size int64, logf func(string, ...any)) (BigDB, error) {
	srv, err := mariadb.Ensure(ctx)
	if err != nil {
		return BigDB{}, fmt.Errorf("the lab MetaDB: %w", err)
	}
	b := BigDB{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password}
	db, err := srv.Open(ctx, "")
	if err != nil {
		return b, fmt.Errorf("connect to the lab MetaDB: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // USE below must hold for every statement
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + name,
		"USE " + name,
		`CREATE TABLE IF NOT EXISTS rows_big (
			id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
			k INT NOT NULL,
			payload VARCHAR(1024) NOT NULL,
			KEY k (k)
		) ENGINE=InnoDB`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return b, fmt.Errorf("prepare %s: %w", name, err)
		}
	}
	for {
		if b.Bytes, err = dbBytes(ctx, db, name); err != nil {
			return b, err
		}
		if b.Bytes >= size {
			return b, nil
		}
		var rows int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rows_big").Scan(&rows); err != nil {
			return b, fmt.Errorf("count rows of %s: %w", name, err)
		}
		logf("growing %s: %d MB of %d MB, %d rows", name, b.Bytes>>20, size>>20, rows)
		if rows == 0 {
			if err := seedRows(ctx, db, 2000); err != nil {
				return b, err
			}
			continue
		}
		// Double, but not far past the target. Each copy keeps its source row's length (160 new
		// random characters replace the first 160), so rows never outgrow the column.
		need := max((size-b.Bytes)/700+1, 1000)
		q := fmt.Sprintf("INSERT INTO rows_big (k, payload) SELECT FLOOR(RAND()*1000000), CONCAT(SHA2(RAND(), 256), SHA2(RAND(), 256), MD5(RAND()), SUBSTRING(payload, 161)) FROM rows_big LIMIT %d", min(need, rows))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return b, fmt.Errorf("grow %s: %w", name, err)
		}
	}
}

// seedRows inserts n rows of random text.
func seedRows(ctx context.Context, db *sql.DB, n int) error {
	const batch = 500
	r := rand.New(rand.NewPCG(1, 2))
	for done := 0; done < n; done += batch {
		var q strings.Builder
		q.WriteString("INSERT INTO rows_big (k, payload) VALUES ")
		args := make([]any, 0, 2*batch)
		for i := range batch {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?, ?)")
			args = append(args, r.IntN(1000000), randomText(r, 800))
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("seed rows: %w", err)
		}
	}
	return nil
}

func randomText(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// dbBytes is the database's data + index length after fresh statistics.
func dbBytes(ctx context.Context, db *sql.DB, name string) (int64, error) {
	if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+name+".rows_big"); err != nil {
		return 0, fmt.Errorf("analyze %s: %w", name, err)
	}
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = ?", name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", name, err)
	}
	return n, nil
}

// EnsureRandomFile makes sure path holds size bytes of incompressible data, reusing a file of
// the right size.
func EnsureRandomFile(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	r := rand.NewChaCha8([32]byte{'o', 'm', 's', 'b', 'e', 'n', 'c', 'h'})
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
