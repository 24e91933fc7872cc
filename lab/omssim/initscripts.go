package omssim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"
)

// Messages of the guide's scripts. Tests and playbooks match them.
const (
	// MsgVersionBefore411 is docker_init.sh's answer when rm has no usable oms_version.
	MsgVersionBefore411 = "Version before 4.1.1 is not allowed to upgrade."
	// MsgCompleted ends a successful V4.1.0 upgrade or rollback script.
	MsgCompleted = "[Completed] All initialization steps are executed."
)

// Init is /root/docker_init.sh: it migrates rm/cm (when not yet done) and this region's
// heartbeat database to the image's version and records the run in cm.init_record. See
// lab/README.md for the failures it reproduces.
func Init(ctx context.Context, env Env) error {
	return runScript(ctx, env, InitLogName(time.Now()), "docker_init.sh", doInit)
}

// Upgrade410 is /root/docker_oms_ce_version_upgrade.sh (V4.1.0 -> the image's version).
func Upgrade410(ctx context.Context, env Env) error {
	return runScript(ctx, env, "docker_init_upgrade_410.log", "docker_oms_ce_version_upgrade.sh", doUpgrade410)
}

// Rollback410 is /root/docker_oms_ce_version_roll_back.sh (the image's version -> V4.1.0).
func Rollback410(ctx context.Context, env Env) error {
	return runScript(ctx, env, "docker_init_rollback_410.log", rollbackScript, doRollback410)
}

const rollbackScript = "docker_oms_ce_version_roll_back.sh"

// scriptRun is what one script run knows.
type scriptRun struct {
	env    *Env
	cfg    *Config
	dbs    Databases
	db     *sql.DB
	logger *log.Logger
	prof   Profile
	from   string // schema version before the run, for init_record
	to     string
	rerun  bool // strict: init ran again after a successful run (recorded as such)
}

func runScript(ctx context.Context, env Env, logName, script string, fn func(context.Context, *scriptRun) error) error {
	if env.LogDir == "" {
		env.LogDir = DefaultLogDir
	}
	logger, closeLog := env.openLog(logName, true)
	defer closeLog()
	if err := env.check(); err != nil {
		logger.Printf("ERROR %v", err)
		return err
	}
	logger.Printf("%s: OMS %s on %s", script, env.Version, env.HostIP)
	cfg, err := LoadConfig(env.ConfigPath)
	if err != nil {
		logger.Printf("ERROR %v", err)
		return err
	}
	prof, err := env.profile()
	if err != nil {
		logger.Printf("ERROR %v", err)
		return err
	}
	r := &scriptRun{env: &env, cfg: cfg, dbs: DatabasesOf(cfg), logger: logger, prof: prof}
	r.dbs.StrictHeartbeat = prof.Strict()
	if r.db, err = OpenMetaDB(cfg); err != nil {
		logger.Printf("ERROR %v", err)
		return err
	}
	defer r.db.Close()
	if err := r.db.PingContext(ctx); err != nil {
		err = fmt.Errorf("cannot reach the MetaDB %s:%d: %w", cfg.MetaHost, cfg.MetaPort, err)
		logger.Printf("ERROR %v", err)
		return err
	}
	runErr := func() error {
		if on, _ := env.faults().get(FaultInitFails, 0); on {
			return fmt.Errorf("%s failed: fault %s is switched on for this node", script, FaultInitFails)
		}
		if on, _ := env.faults().get(FaultRollbackFails, 0); on && script == rollbackScript {
			return fmt.Errorf("%s failed: fault %s is switched on for this node", script, FaultRollbackFails)
		}
		return fn(ctx, r)
	}()
	result, msg := "SUCCESS", ""
	if r.rerun && runErr == nil {
		msg = MsgInitRerun
	}
	if runErr != nil {
		result, msg = "FAILED", runErr.Error()
		// The guide's message stands alone on its line, as the product prints it.
		logger.Printf("%s", msg)
	}
	if err := r.record(context.WithoutCancel(ctx), result, msg); err != nil {
		logger.Printf("WARN %v", err)
	}
	return runErr
}

// record adds the run to cm.init_record (when the cm schema exists).
func (r *scriptRun) record(ctx context.Context, result, msg string) error {
	ok, err := tableExists(ctx, r.db, r.dbs.CM, "init_record")
	if err != nil || !ok {
		return err
	}
	id, err := configID(r.env.ConfigPath)
	if err != nil {
		return err
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	to := r.to
	if to == "" {
		to = r.env.Version
	}
	_, err = r.db.ExecContext(ctx, "INSERT INTO "+q(r.dbs.CM, "init_record")+
		" (node_ip, region, from_version, to_version, result, gmt_created, config_id, message) VALUES (?, ?, ?, ?, ?, NOW(3), ?, ?)",
		r.env.HostIP, r.cfg.CMRegion, r.from, to, result, id, msg)
	if err != nil {
		return fmt.Errorf("record the run in %s.init_record: %w", r.dbs.CM, err)
	}
	return nil
}

func (r *scriptRun) say(format string, args ...any) {
	r.logger.Printf(format, args...)
}

func doInit(ctx context.Context, r *scriptRun) error {
	if r.prof.Strict() {
		if err := consoleUp(ctx, r.env); err != nil {
			return err
		}
	}
	if on, d := r.env.faults().get(FaultSlowInit, 5*time.Second); on {
		r.say("fault %s: working %s before the migration", FaultSlowInit, d)
		if !sleepCtx(ctx, d) {
			return ctx.Err()
		}
	}
	v, ok, err := OMSVersion(ctx, r.db, r.dbs.RM)
	if err != nil {
		return err
	}
	if !ok || compareVersions(v, "4.1.1") < 0 {
		if ok {
			r.say("rm.oms_version says %s", v)
		} else {
			r.say("%s has no oms_version table (or it is empty)", r.dbs.RM)
		}
		//lint:ignore ST1005 the error is the vendor script's message word for word, which tests and playbooks match
		return errors.New(MsgVersionBefore411)
	}
	if err := checkStore(r.env); err != nil {
		return err
	}
	id, err := configID(r.env.ConfigPath)
	if err != nil {
		return err
	}
	return withLock(ctx, r.db, "omssim_init_"+r.dbs.CM, func() error {
		st, err := readState(ctx, r.db, r.dbs)
		if err != nil {
			return err
		}
		r.from = lowest(st)
		// init is not idempotent: one run per region and config file.
		var node string
		var at time.Time
		err = r.db.QueryRowContext(ctx, "SELECT node_ip, gmt_created FROM "+q(r.dbs.CM, "init_record")+
			" WHERE region = ? AND to_version = ? AND config_id = ? AND result = 'SUCCESS' ORDER BY id LIMIT 1",
			r.cfg.CMRegion, r.env.Version, id).Scan(&node, &at)
		switch {
		case err == nil && r.prof.Strict():
			// The real script does not refuse: it runs again and does the damage.
			r.rerun = true
			r.say("WARN docker_init.sh already ran for region %s with this config file (on node %s at %s); running it again", r.cfg.CMRegion, node, at.Format(time.DateTime))
		case err == nil:
			return fmt.Errorf("docker_init.sh already ran for region %s with this config file (on node %s at %s); init is not idempotent: run it once per region when the nodes share one config file", r.cfg.CMRegion, node, at.Format(time.DateTime))
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read %s.init_record: %w", r.dbs.CM, err)
		}
		for _, s := range []struct{ what, v string }{{"rm/cm", st.RM}, {"heartbeat", st.Heartbeat}} {
			if s.v == "" {
				return fmt.Errorf("the %s database has no OMS schema: deploy OMS before upgrading it", s.what)
			}
			if compareVersions(s.v, r.env.Version) > 0 {
				return fmt.Errorf("the MetaDB %s schema is %s, newer than this image's %s", s.what, s.v, r.env.Version)
			}
		}
		if compareVersions(st.RM, r.env.Version) < 0 {
			r.say("migrating %s and %s from %s to %s", r.dbs.RM, r.dbs.CM, st.RM, r.env.Version)
			if err := migrateRM(ctx, r.db, r.dbs, r.env.Version); err != nil {
				return err
			}
		} else {
			r.say("%s and %s are already at %s", r.dbs.RM, r.dbs.CM, st.RM)
		}
		if compareVersions(st.Heartbeat, r.env.Version) < 0 {
			r.say("migrating %s from %s to %s", r.dbs.Heartbeat, st.Heartbeat, r.env.Version)
			if err := migrateHeartbeat(ctx, r.db, r.dbs.Heartbeat, r.env.Version, r.dbs.StrictHeartbeat); err != nil {
				return err
			}
		}
		r.to = r.env.Version
		r.say("%sthe MetaDB schema of region %s is at %s", InitDonePrefix, r.cfg.CMRegion, r.env.Version)
		return nil
	})
}

// running lists the projects with a full migration or full verification step RUNNING: the
// V4.1.0 upgrade must not start then.
func running(ctx context.Context, db *sql.DB, rm string) ([]string, error) {
	ok, err := tableExists(ctx, db, rm, "oms_project_step")
	if err != nil || !ok {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT project_id, step FROM "+q(rm, "oms_project_step")+
		" WHERE status = 'RUNNING' AND step IN ('FULL_MIGRATION', 'FULL_VERIFIER') ORDER BY project_id, step")
	if err != nil {
		return nil, fmt.Errorf("read %s.oms_project_step: %w", rm, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var step string
		if err := rows.Scan(&id, &step); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%d/%s", id, step))
	}
	return out, rows.Err()
}

func doUpgrade410(ctx context.Context, r *scriptRun) error {
	if compareVersions(r.env.Version, "4.2.3") < 0 {
		return fmt.Errorf("this script upgrades V4.1.0 to V4.2.3; the image is %s", r.env.Version)
	}
	return withLock(ctx, r.db, "omssim_init_"+r.dbs.CM, func() error {
		r.say("[1/4] Checking the MetaDB")
		st, err := readState(ctx, r.db, r.dbs)
		if err != nil {
			return err
		}
		r.from = lowest(st)
		for _, s := range []struct{ what, v string }{{"rm/cm", st.RM}, {"heartbeat", st.Heartbeat}} {
			if s.v != "4.1.0" && s.v != r.env.Version {
				return fmt.Errorf("the MetaDB %s schema is %q: this script upgrades V4.1.0 metadata only (use docker_init.sh from V4.2.2)", s.what, s.v)
			}
		}
		if busy, err := running(ctx, r.db, r.dbs.RM); err != nil {
			return err
		} else if len(busy) > 0 {
			return fmt.Errorf("full migration or full verification tasks are Running (project/step %s): wait until they finish before upgrading", strings.Join(busy, ", "))
		}
		r.say("[2/4] Checking the data of the previous deployment")
		if err := checkStore(r.env); err != nil {
			return err
		}
		r.say("[3/4] Upgrading %s and %s to %s", r.dbs.RM, r.dbs.CM, r.env.Version)
		if st.RM != r.env.Version {
			if err := migrateRM(ctx, r.db, r.dbs, r.env.Version); err != nil {
				return err
			}
		}
		r.say("[4/4] Upgrading %s to %s", r.dbs.Heartbeat, r.env.Version)
		if st.Heartbeat != r.env.Version {
			if err := migrateHeartbeat(ctx, r.db, r.dbs.Heartbeat, r.env.Version, r.dbs.StrictHeartbeat); err != nil {
				return err
			}
		}
		r.to = r.env.Version
		r.say("%s", MsgCompleted)
		return nil
	})
}

func doRollback410(ctx context.Context, r *scriptRun) error {
	const target = "4.1.0"
	return withLock(ctx, r.db, "omssim_init_"+r.dbs.CM, func() error {
		r.say("[1/3] Checking the MetaDB")
		st, err := readState(ctx, r.db, r.dbs)
		if err != nil {
			return err
		}
		r.from = st.RM
		for _, s := range []struct{ what, v string }{{"rm/cm", st.RM}, {"heartbeat", st.Heartbeat}} {
			if s.v != target && s.v != r.env.Version {
				return fmt.Errorf("the MetaDB %s schema is %q: this script rolls back %s metadata to V4.1.0 only", s.what, s.v, r.env.Version)
			}
		}
		if st.RM != target {
			// Projects created on the new version cannot go back.
			var n int
			err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+q(r.dbs.RM, "oms_project")+" p JOIN "+q(r.dbs.RM, "oms_meta_schema")+
				" s ON s.version = ? WHERE p.gmt_created > s.applied_at", st.RM).Scan(&n)
			if err != nil {
				return fmt.Errorf("read %s.oms_project: %w", r.dbs.RM, err)
			}
			if n > 0 {
				return fmt.Errorf("%d migration project(s) were created on V%s: rolling back to V4.1.0 is not supported then", n, st.RM)
			}
		}
		r.say("[2/3] Rolling back %s and %s to %s", r.dbs.RM, r.dbs.CM, target)
		if st.RM != target {
			if err := migrateRM(ctx, r.db, r.dbs, target); err != nil {
				return err
			}
		}
		r.say("[3/3] Rolling back %s to %s", r.dbs.Heartbeat, target)
		if st.Heartbeat != target {
			if err := migrateHeartbeat(ctx, r.db, r.dbs.Heartbeat, target, r.dbs.StrictHeartbeat); err != nil {
				return err
			}
		}
		r.to = target
		r.say("%s", MsgCompleted)
		return nil
	})
}

// MetaDBExists reports whether the databases a config names already hold an OMS schema (the
// deploy script's "database names already exist" question).
func MetaDBExists(ctx context.Context, cfg *Config) (bool, error) {
	db, err := OpenMetaDB(cfg)
	if err != nil {
		return false, err
	}
	defer db.Close()
	for _, name := range []string{cfg.RMDB, cfg.CMDB, cfg.HeartbeatDB} {
		n, err := tableCount(ctx, db, name)
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}
