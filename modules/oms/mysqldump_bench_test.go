package oms

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/mariadb"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// BenchmarkMySQLDump compares the mysqldump module (dump, verification, sha256, manifest)
// with the bare client writing the same file. It needs the lab MariaDB; the database holds
// OMSBOOK_BENCH_DUMP_MB megabytes (default 200) and is kept between runs (t_mod_bench_rm) so
// that only the first run pays for filling it. Run:
//
//	go test -run '^$' -bench MySQLDump -benchtime 3x ./modules/
func BenchmarkMySQLDump(b *testing.B) {
	ctx := context.Background()
	srv, err := mariadb.Ensure(ctx)
	if err != nil {
		b.Skipf("lab MariaDB not available: %v", err)
	}
	db, err := srv.Open(ctx, "")
	if err != nil {
		b.Skip(err)
	}
	defer db.Close()
	mb := 200
	if v, err := strconv.Atoi(os.Getenv("OMSBOOK_BENCH_DUMP_MB")); err == nil && v > 0 {
		mb = v
	}
	const name = "t_mod_bench_rm"
	var have int64
	_ = db.QueryRow("SELECT COALESCE(SUM(data_length), 0) FROM information_schema.tables WHERE table_schema = ?", name).Scan(&have)
	if have < int64(mb)<<20 {
		b.Logf("filling %s with about %d MB", name, mb)
		for _, s := range []string{
			"DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name,
			"CREATE TABLE " + name + ".heatbeat_sequence(id bigint auto_increment primary key, host_ip varchar(64), pad varchar(255), gmt_created datetime(3))",
			"INSERT INTO " + name + ".heatbeat_sequence(host_ip, pad, gmt_created) VALUES ('127.0.0.11', REPEAT(MD5(RAND()), 6), NOW(3))",
		} {
			if _, err := db.Exec(s); err != nil {
				b.Fatal(err)
			}
		}
		for rows := int64(1); rows*260 < int64(mb)<<20; rows *= 2 {
			if _, err := db.Exec("INSERT INTO " + name + ".heatbeat_sequence(host_ip, pad, gmt_created) SELECT host_ip, REPEAT(MD5(RAND()), 6), gmt_created FROM " + name + ".heatbeat_sequence"); err != nil {
				b.Fatal(err)
			}
		}
		_, _ = db.Exec("ANALYZE TABLE " + name + ".heatbeat_sequence")
	}
	dir := b.TempDir()
	cnf := filepath.Join(dir, "bare.cnf")
	if err := os.WriteFile(cnf, []byte("[client]\nprotocol=tcp\nhost="+srv.Host+"\nport="+strconv.Itoa(srv.Port)+"\nuser="+srv.User+"\npassword=\""+srv.Password+"\"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	h := &modules.Host{Name: "localhost", Output: func(string, string) {}, AddSecret: func(string) {}, Mask: func(s string) string { return s }}
	h.Conn = localConnForBench()
	m := MySQLDump{}
	args, err := m.Spec().Coerce(map[string]any{"host": srv.Host, "port": srv.Port, "user": srv.User, "password": srv.Password,
		"databases": []any{name}, "dest_dir": filepath.Join(dir, "module"), "force": true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Bare and module runs alternate, so that the load of a shared machine weighs on both alike.
	var bare, module time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c := exec.Command("sh", "-c", "mysqldump --defaults-extra-file="+cnf+" --single-transaction --skip-triggers "+name+" > "+filepath.Join(dir, "bare.sql"))
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		bare += time.Since(start)
		start = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		r, err := m.Apply(ctx, h, args)
		cancel()
		if err != nil || r.Failed {
			b.Fatalf("%+v %v", r, err)
		}
		module += time.Since(start)
	}
	b.ReportMetric(bare.Seconds()/float64(b.N), "bare-s/op")
	b.ReportMetric(module.Seconds()/float64(b.N), "module-s/op")
	b.ReportMetric(module.Seconds()/bare.Seconds(), "module/bare")
}

func localConnForBench() *transport.Local { return transport.NewLocal("localhost") }
