package omssim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// HAConfigDefault is the V4.2.2 default value of the ha.config system parameter (the
// procedure's "Facts"). Its key order is kept when the simulator writes it.
const HAConfigDefault = `{"enable":false,"enableHost":false,"enableStore":true,"perceiveStoreClientCheckpoint":false,"enableConnector":true,"enableJdbcWriter":true,"subtopicStoreNumberThreshold":5,"checkRequestIntervalSec":600,"checkJdbcWriterIntervalSec":600,"checkHostDownIntervalSec":540,"checkModuleExceptionIntervalSec":240,"clearAbnormalResourceHours":72,"refetchStoreIntervalMin":30}`

// HAConfigDefault410 is the V4.1.0 default: the older value lacks the last keys.
const HAConfigDefault410 = `{"enable":false,"enableHost":false,"enableStore":true,"perceiveStoreClientCheckpoint":false,"enableConnector":true,"enableJdbcWriter":true,"subtopicStoreNumberThreshold":5,"checkRequestIntervalSec":600,"checkJdbcWriterIntervalSec":600,"checkHostDownIntervalSec":540,"checkModuleExceptionIntervalSec":240}`

// haKeysAddedIn422 are the ha.config keys V4.2.x added to V4.1.0's value, with their defaults.
var haKeysAddedIn422 = []struct {
	key   string
	value json.RawMessage
}{{"clearAbnormalResourceHours", json.RawMessage("72")}, {"refetchStoreIntervalMin", json.RawMessage("30")}}

// haConfigDefault returns the default ha.config of an OMS version.
func haConfigDefault(version string) string {
	if compareVersions(version, "4.2.0") < 0 {
		return HAConfigDefault410
	}
	return HAConfigDefault
}

// Databases names the MetaDB databases a node uses (from its config.yaml).
type Databases struct {
	RM, CM, Heartbeat string
	// StrictHeartbeat: the heartbeat database gets the strict profile's heart_beat table,
	// several rows per host (id, host_ip, task_type, task_name, gmt_modified).
	StrictHeartbeat bool
}

// DatabasesOf returns the databases named by a config.
func DatabasesOf(c *Config) Databases {
	return Databases{RM: c.RMDB, CM: c.CMDB, Heartbeat: c.HeartbeatDB}
}

func q(db, table string) string { return "`" + db + "`.`" + table + "`" }

// rmTables and the others create the lab's MetaDB schema (lab/README.md). %s is the database.
var rmTables = []string{
	"CREATE TABLE IF NOT EXISTS `%s`.`oms_normal_config` (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, cfg_name varchar(128) NOT NULL UNIQUE, cfg_value text, gmt_created datetime, gmt_modified datetime) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `%s`.`oms_meta_schema` (version varchar(32) NOT NULL PRIMARY KEY, applied_at datetime) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `%s`.`oms_project` (id bigint NOT NULL PRIMARY KEY, name varchar(128), type varchar(32), status varchar(32), gmt_created datetime) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `%s`.`oms_project_step` (project_id bigint NOT NULL, step varchar(32) NOT NULL, status varchar(32), PRIMARY KEY (project_id, step)) DEFAULT CHARSET=utf8mb4",
}

const omsVersionTable = "CREATE TABLE IF NOT EXISTS `%s`.`oms_version` (`version` varchar(64) NOT NULL COMMENT 'version', `gmt_modified` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (`version`)) DEFAULT CHARSET=utf8mb4 COMMENT='version table'"

var cmTables = []string{
	"CREATE TABLE IF NOT EXISTS `%s`.`host` (ip varchar(64) NOT NULL PRIMARY KEY, region varchar(64), host_status varchar(16), version varchar(32), gmt_modified datetime(3)) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `%s`.`init_record` (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, node_ip varchar(64), region varchar(64), from_version varchar(32), to_version varchar(32), result varchar(16), gmt_created datetime(3), config_id varchar(96), message varchar(512)) DEFAULT CHARSET=utf8mb4",
}

// heartBeatTable is the default profile's heart_beat: one row per host.
const heartBeatTable = "CREATE TABLE IF NOT EXISTS `%s`.`heart_beat` (host_ip varchar(64) NOT NULL PRIMARY KEY, gmt_modified datetime(3)) DEFAULT CHARSET=utf8mb4"

// heartBeatTableStrict is the strict profile's heart_beat, as the product has it: one row per
// host and task (the supervisor and each component), unique on (host_ip, task_type, task_name).
const heartBeatTableStrict = "CREATE TABLE IF NOT EXISTS `%s`.`heart_beat` (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, host_ip varchar(64) NOT NULL, task_type varchar(64) NOT NULL, task_name varchar(128) NOT NULL, gmt_modified datetime(3), UNIQUE KEY uk_host_task (host_ip, task_type, task_name)) DEFAULT CHARSET=utf8mb4"

// hbTables creates a heartbeat database's tables but heart_beat (see heartbeatTables).
var hbTables = []string{
	"CREATE TABLE IF NOT EXISTS `%s`.`heatbeat_sequence` (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, host_ip varchar(64), gmt_created datetime(3)) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `%s`.`oms_meta_schema` (version varchar(32) NOT NULL PRIMARY KEY, applied_at datetime) DEFAULT CHARSET=utf8mb4",
}

// heartbeatTables are the statements creating a heartbeat database's tables.
func heartbeatTables(strict bool) []string {
	t := heartBeatTable
	if strict {
		t = heartBeatTableStrict
	}
	return append([]string{t}, hbTables...)
}

// Schema versions of one node's databases: "" means the database has no tables at all (a
// fresh deployment).
type schemaState struct {
	RM, Heartbeat string
}

// errUnknownSchema says a database holds tables but no oms_meta_schema bookkeeping.
var errUnknownSchema = errors.New("holds tables but no oms_meta_schema table: not a MetaDB this simulator knows; drop and recreate the database or restore a backup")

// tableCount counts the tables of a database (0 when it does not exist).
func tableCount(ctx context.Context, db *sql.DB, name string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tables of %s: %w", name, err)
	}
	return n, nil
}

func tableExists(ctx context.Context, db *sql.DB, dbName, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", dbName, table).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for table %s.%s: %w", dbName, table, err)
	}
	return n > 0, nil
}

// SchemaVersion returns the schema version recorded in a database's oms_meta_schema (the
// highest), "" when the database has no tables, or an error when it has tables but no
// bookkeeping.
func SchemaVersion(ctx context.Context, db *sql.DB, dbName string) (string, error) {
	n, err := tableCount(ctx, db, dbName)
	if err != nil || n == 0 {
		return "", err
	}
	ok, err := tableExists(ctx, db, dbName, "oms_meta_schema")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("database %s %w", dbName, errUnknownSchema)
	}
	rows, err := db.QueryContext(ctx, "SELECT version FROM "+q(dbName, "oms_meta_schema"))
	if err != nil {
		return "", fmt.Errorf("read %s.oms_meta_schema: %w", dbName, err)
	}
	defer rows.Close()
	best := ""
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return "", fmt.Errorf("read %s.oms_meta_schema: %w", dbName, err)
		}
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read %s.oms_meta_schema: %w", dbName, err)
	}
	if best == "" {
		return "", fmt.Errorf("database %s: oms_meta_schema is empty: the schema version is unknown", dbName)
	}
	return best, nil
}

func readState(ctx context.Context, db *sql.DB, dbs Databases) (schemaState, error) {
	var s schemaState
	var err error
	if s.RM, err = SchemaVersion(ctx, db, dbs.RM); err != nil {
		return s, err
	}
	if s.Heartbeat, err = SchemaVersion(ctx, db, dbs.Heartbeat); err != nil {
		return s, err
	}
	return s, nil
}

func execAll(ctx context.Context, db *sql.DB, dbName string, stmts []string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(s, dbName)); err != nil {
			return fmt.Errorf("create schema in %s: %w", dbName, err)
		}
	}
	return nil
}

// InstallRM creates the rm and cm schema of an OMS version in empty (or missing) databases,
// as a fresh deployment does: tables, the ha.config default, oms_version (V4.1.1 and later
// only: V4.1.0 had no such table) and the schema bookkeeping. Existing rows are kept.
func InstallRM(ctx context.Context, db *sql.DB, dbs Databases, version string) error {
	for _, name := range []string{dbs.RM, dbs.CM} {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`"); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	if err := execAll(ctx, db, dbs.RM, rmTables); err != nil {
		return err
	}
	if err := execAll(ctx, db, dbs.CM, cmTables); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "INSERT IGNORE INTO "+q(dbs.RM, "oms_normal_config")+
		" (cfg_name, cfg_value, gmt_created, gmt_modified) VALUES ('ha.config', ?, NOW(), NOW())", haConfigDefault(version)); err != nil {
		return fmt.Errorf("write ha.config default: %w", err)
	}
	if compareVersions(version, "4.1.1") >= 0 {
		if err := setOMSVersion(ctx, db, dbs.RM, version); err != nil {
			return err
		}
	}
	return recordSchema(ctx, db, dbs.RM, version)
}

// InstallHeartbeat creates a region's heartbeat database schema at an OMS version (with the
// strict profile's heart_beat table when strict).
func InstallHeartbeat(ctx context.Context, db *sql.DB, name, version string, strict bool) error {
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if err := execAll(ctx, db, name, heartbeatTables(strict)); err != nil {
		return err
	}
	return recordSchema(ctx, db, name, version)
}

func recordSchema(ctx context.Context, db *sql.DB, dbName, version string) error {
	_, err := db.ExecContext(ctx, "INSERT IGNORE INTO "+q(dbName, "oms_meta_schema")+" (version, applied_at) VALUES (?, NOW())", version)
	if err != nil {
		return fmt.Errorf("record schema version %s in %s: %w", version, dbName, err)
	}
	return nil
}

func setOMSVersion(ctx context.Context, db *sql.DB, rm, version string) error {
	if _, err := db.ExecContext(ctx, fmt.Sprintf(omsVersionTable, rm)); err != nil {
		return fmt.Errorf("create %s.oms_version: %w", rm, err)
	}
	if _, err := db.ExecContext(ctx, "REPLACE INTO "+q(rm, "oms_version")+" (version) VALUES (?)", version+"-CE"); err != nil {
		return fmt.Errorf("record version in %s.oms_version: %w", rm, err)
	}
	return nil
}

// OMSVersion returns the highest version in rm's oms_version table; ok is false when the table
// does not exist or is empty.
func OMSVersion(ctx context.Context, db *sql.DB, rm string) (version string, ok bool, err error) {
	exists, err := tableExists(ctx, db, rm, "oms_version")
	if err != nil || !exists {
		return "", false, err
	}
	rows, err := db.QueryContext(ctx, "SELECT version FROM "+q(rm, "oms_version"))
	if err != nil {
		return "", false, fmt.Errorf("read %s.oms_version: %w", rm, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return "", false, fmt.Errorf("read %s.oms_version: %w", rm, err)
		}
		if version == "" || compareVersions(v, version) > 0 {
			version = v
		}
	}
	return version, version != "", rows.Err()
}

// migrateRM moves the rm/cm schema from one version to another (either way): ha.config gains or
// loses the keys V4.2.x added (values set by the operator are kept), oms_version records the
// new version (and disappears on the way back to V4.1.0, which had none), and the bookkeeping
// follows.
func migrateRM(ctx context.Context, db *sql.DB, dbs Databases, to string) error {
	// Every version has the same tables; creating missing ones repairs a partial schema.
	if err := execAll(ctx, db, dbs.RM, rmTables); err != nil {
		return err
	}
	if err := execAll(ctx, db, dbs.CM, cmTables); err != nil {
		return err
	}
	var raw string
	err := db.QueryRowContext(ctx, "SELECT cfg_value FROM "+q(dbs.RM, "oms_normal_config")+" WHERE cfg_name = 'ha.config'").Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read ha.config: %w", err)
	}
	if err == nil {
		up := compareVersions(to, "4.2.0") >= 0
		value, err := editHAConfig(raw, up)
		if err != nil {
			return err
		}
		if value != raw {
			if _, err := db.ExecContext(ctx, "UPDATE "+q(dbs.RM, "oms_normal_config")+" SET cfg_value = ?, gmt_modified = NOW() WHERE cfg_name = 'ha.config'", value); err != nil {
				return fmt.Errorf("migrate ha.config: %w", err)
			}
		}
	}
	if compareVersions(to, "4.1.1") >= 0 {
		if err := setOMSVersion(ctx, db, dbs.RM, to); err != nil {
			return err
		}
	} else if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+q(dbs.RM, "oms_version")); err != nil {
		return fmt.Errorf("drop oms_version: %w", err)
	}
	return setSchema(ctx, db, dbs.RM, to)
}

// setSchema makes version the current schema of a database: recorded, and every newer record
// removed (a rollback).
func setSchema(ctx context.Context, db *sql.DB, dbName, version string) error {
	if err := recordSchema(ctx, db, dbName, version); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, "SELECT version FROM "+q(dbName, "oms_meta_schema"))
	if err != nil {
		return fmt.Errorf("read %s.oms_meta_schema: %w", dbName, err)
	}
	var newer []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read %s.oms_meta_schema: %w", dbName, err)
		}
		if compareVersions(v, version) > 0 {
			newer = append(newer, v)
		}
	}
	rows.Close()
	for _, v := range newer {
		if _, err := db.ExecContext(ctx, "DELETE FROM "+q(dbName, "oms_meta_schema")+" WHERE version = ?", v); err != nil {
			return fmt.Errorf("roll back %s.oms_meta_schema: %w", dbName, err)
		}
	}
	return nil
}

// migrateHeartbeat moves a heartbeat database's schema to a version.
func migrateHeartbeat(ctx context.Context, db *sql.DB, name, to string, strict bool) error {
	if err := execAll(ctx, db, name, heartbeatTables(strict)); err != nil {
		return err
	}
	return setSchema(ctx, db, name, to)
}

// editHAConfig adds (up) or removes (down) the keys V4.2.x added, keeping every other key and
// the order of the existing ones.
func editHAConfig(raw string, up bool) (string, error) {
	var keys orderedObject
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		return "", fmt.Errorf("ha.config is not a JSON object: %w", err)
	}
	for _, k := range haKeysAddedIn422 {
		if up {
			if !keys.has(k.key) {
				keys = append(keys, kv{k.key, k.value})
			}
		} else {
			keys = keys.without(k.key)
		}
	}
	b, err := json.Marshal(keys)
	return string(b), err
}
