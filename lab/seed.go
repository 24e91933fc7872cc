package lab

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// seedEpoch is when the seeded history starts: fixed, so that every lab seeds the same rows.
var seedEpoch = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// seedPlan splits SeedRows between migration projects (one project row and three step rows
// each) and heartbeat sequence rows (spread over the regions).
type seedPlan struct {
	Projects         int
	HeartbeatPerHBDB int
}

func planSeed(rows, regions int) seedPlan {
	projects := rows / 20 // a fifth of the rows are project and step rows
	if projects < 4 {
		projects = 4
	}
	rest := rows - 4*projects
	perRegion := rest / regions
	if perRegion < 10 {
		perRegion = 10
	}
	return seedPlan{Projects: projects, HeartbeatPerHBDB: perRegion}
}

// projectKinds give seeded projects realistic names: source and target of a migration.
var projectKinds = []struct{ prefix, kind string }{
	{"mysql2ob", "MIGRATION"},
	{"ob2ob", "SYNC"},
	{"oracle2ob", "MIGRATION"},
	{"ob2kafka", "SYNC"},
	{"pg2ob", "MIGRATION"},
}

var projectTables = []string{"orders", "payments", "users", "inventory", "ledger", "audit", "sessions"}

// projectStatuses cycle over the seeded projects. No full migration or full verification
// step is RUNNING (the V4.1.0 upgrade's precondition holds); tests that want one insert it.
var projectStatuses = []struct {
	project string
	steps   [3]string // FULL_MIGRATION, FULL_VERIFIER, INCR_SYNC
}{
	{"RUNNING", [3]string{"FINISHED", "FINISHED", "RUNNING"}},
	{"FINISHED", [3]string{"FINISHED", "FINISHED", "FINISHED"}},
	{"SUSPEND", [3]string{"FINISHED", "FINISHED", "SUSPEND"}},
	{"RUNNING", [3]string{"FINISHED", "FINISHED", "RUNNING"}},
	{"FAILED", [3]string{"FINISHED", "FINISHED", "FAILED"}},
	{"SUSPEND", [3]string{"FINISHED", "SUSPEND", "SUSPEND"}},
}

var stepNames = [3]string{"FULL_MIGRATION", "FULL_VERIFIER", "INCR_SYNC"}

// seedSQL returns the seed statements for one lab, deterministically: the rm database's
// projects and steps, then each heartbeat database's sequence rows. Values are literals
// written by this package (no user input), grouped in multi-row INSERTs.
func (l *Lab) seedSQL() map[string][]string {
	plan := planSeed(l.Config.SeedRows, len(l.Regions))
	out := map[string][]string{}
	var projects, steps []string
	for i := 0; i < plan.Projects; i++ {
		id := 10001 + i
		k := projectKinds[i%len(projectKinds)]
		st := projectStatuses[i%len(projectStatuses)]
		name := fmt.Sprintf("%s_%s_%04d", k.prefix, projectTables[i%len(projectTables)], i+1)
		created := seedEpoch.Add(time.Duration(i) * 37 * time.Minute).Format("2006-01-02 15:04:05")
		projects = append(projects, fmt.Sprintf("(%d,'%s','%s','%s','%s')", id, name, k.kind, st.project, created))
		for s, step := range stepNames {
			steps = append(steps, fmt.Sprintf("(%d,'%s','%s')", id, step, st.steps[s]))
		}
	}
	out[l.DB.RM] = append(
		batches("INSERT INTO oms_project(id,name,type,status,gmt_created) VALUES ", projects),
		batches("INSERT INTO oms_project_step(project_id,step,status) VALUES ", steps)...)
	for ri, r := range l.Regions {
		nodes := l.RegionNodes(r.Name)
		var seq []string
		for j := 0; j < plan.HeartbeatPerHBDB; j++ {
			n := nodes[j%len(nodes)]
			at := seedEpoch.Add(time.Duration(j)*time.Second + time.Duration(ri*7)*time.Millisecond).Format("2006-01-02 15:04:05.000")
			seq = append(seq, fmt.Sprintf("('%s','%s')", n.IP, at))
		}
		out[r.HeartbeatDB] = batches("INSERT INTO heatbeat_sequence(host_ip,gmt_created) VALUES ", seq)
	}
	return out
}

// batches joins values into INSERT statements of at most 500 rows.
func batches(head string, values []string) []string {
	var out []string
	for len(values) > 0 {
		n := min(500, len(values))
		out = append(out, head+strings.Join(values[:n], ","))
		values = values[n:]
	}
	return out
}

// seedTables are the tables seeding writes to, per kind of database, which the simulator must
// have created before.
var seedTables = map[string][]string{
	"rm": {"oms_project", "oms_project_step"},
	"hb": {"heatbeat_sequence"},
}

// seed writes the seed rows into the freshly initialised schema and returns how many.
func (l *Lab) seed(ctx context.Context) (int, error) {
	db, err := l.OpenDB(ctx, "")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, want := range []struct {
		database string
		tables   []string
	}{{l.DB.RM, seedTables["rm"]}} {
		if err := l.waitTables(ctx, db, want.database, want.tables); err != nil {
			return 0, err
		}
	}
	for _, hb := range l.DB.Heartbeat {
		if err := l.waitTables(ctx, db, hb, seedTables["hb"]); err != nil {
			return 0, err
		}
	}
	rows := 0
	stmts := l.seedSQL()
	for _, database := range l.DB.All() {
		conn, err := db.Conn(ctx)
		if err != nil {
			return rows, err
		}
		if _, err := conn.ExecContext(ctx, "USE `"+database+"`"); err != nil {
			conn.Close()
			return rows, fmt.Errorf("lab %s: seed %s: %w", l.Name, database, err)
		}
		for _, s := range stmts[database] {
			res, err := conn.ExecContext(ctx, s)
			if err != nil {
				conn.Close()
				return rows, fmt.Errorf("lab %s: seed %s: %w", l.Name, database, err)
			}
			n, _ := res.RowsAffected()
			rows += int(n)
		}
		conn.Close()
	}
	return rows, nil
}

// waitTables waits (briefly: the simulator creates its schema before it says healthy) until
// every table exists.
func (l *Lab) waitTables(ctx context.Context, db *sql.DB, database string, tables []string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		have, err := tablesOf(ctx, db, database)
		if err != nil {
			return err
		}
		missing := missingFrom(tables, have)
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: the simulator did not create %s in %s: the schema contract in lab/README.md and the simulator disagree",
				l.Name, strings.Join(missing, ", "), database)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func missingFrom(want, have []string) []string {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	var out []string
	for _, w := range want {
		if !set[w] {
			out = append(out, w)
		}
	}
	return out
}

// dropOMSVersion removes rm's oms_version table, as in a deployment from before V4.1.1.
func (l *Lab) dropOMSVersion(ctx context.Context) error {
	db, err := l.OpenDB(ctx, l.DB.RM)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS oms_version"); err != nil {
		return fmt.Errorf("lab %s: drop %s.oms_version: %w", l.Name, l.DB.RM, err)
	}
	return nil
}
