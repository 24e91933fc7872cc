package oms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// MySQLLock holds a MariaDB/MySQL named lock (GET_LOCK) on the MetaDB for the rest of the run,
// so that a second controller running against the same MetaDB is refused.
type MySQLLock struct{}

// Name is the task key.
func (MySQLLock) Name() string { return "mysql_lock" }

// Spec declares the arguments.
func (MySQLLock) Spec() modules.Spec {
	return modules.Spec{
		Summary: "hold a named lock on the MetaDB for the whole run (one controller at a time)",
		Description: `Takes the MariaDB/MySQL named lock name with GET_LOCK on a connection of its own, made from the
controller, and keeps that connection open until the run ends (normally, by failure, or at once
when it is cancelled): closing it releases the lock, also when omsbook is killed (the server drops a
lost connection's locks). Another controller's run that asks for the same lock meanwhile is refused,
with the holder named: its MetaDB connection id, user, client address and how long it has been
connected (information_schema.PROCESSLIST), and, when the server records connection attributes
(performance_schema), its run id, controller host and pid. A named lock is the server's own, so it
guards every controller whatever its inventory; the inventory lock on the controller guards the
runs of one machine. Asking again in the same run is ok. The default name is omsbook:DATABASE.`,
		CheckMode:  "only probes (IS_FREE_LOCK / IS_USED_LOCK): would take the lock when it is free, ok when this run holds it, fails naming the holder when another does; never takes it",
		Controller: true,
		Args: append(mysqlConnArgs(false),
			modules.Arg{Name: "name", Type: modules.String, Doc: "the lock's name (at most 64 characters); default omsbook:DATABASE"},
			modules.Arg{Name: "database", Type: modules.String, Doc: "the database the run changes (the rm database), for the default name"},
			modules.Arg{Name: "timeout", Type: modules.Int, Default: 0, Doc: "seconds to wait for a lock another holds (0: refuse at once)"},
		),
		Returns: []modules.Field{
			{Name: "name", Type: "string", Doc: "the lock's name"},
			{Name: "connection_id", Type: "int", Doc: "the MetaDB connection id that holds it for this run (0 in check mode)"},
			{Name: "taken", Type: "bool", Doc: "this task took the lock (or, in check mode, would); false when the run held it already. Taking it changes nothing on any host, so the task is never changed"},
		},
	}
}

// Validate wants a connection and a name or a database.
func (MySQLLock) Validate(args modules.Args) error {
	if !mysqlConnGiven(args) {
		return errors.New("no connection: give host (and port, user, password), metadb: {...}, or dsn")
	}
	if !args.Has("name") && !args.Has("database") {
		return errors.New("give name (the lock's name) or database (the lock is then omsbook:DATABASE)")
	}
	if args.Has("timeout") && args.Int("timeout") < 0 {
		return errors.New("timeout: want 0 or more seconds")
	}
	return nil
}

// heldLocks are the locks the runs of this process hold, by run id, server address and name,
// with the connection id that holds each.
var heldLocks = struct {
	sync.Mutex
	m map[string]int64
}{m: map[string]int64{}}

func lockName(args modules.Args) string {
	if n := args.String("name"); n != "" {
		return n
	}
	return "omsbook:" + args.String("database")
}

// Check probes the lock without taking it.
func (m MySQLLock) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply takes the lock for the rest of the run.
func (m MySQLLock) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m MySQLLock) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	name := lockName(args)
	if len(name) > 64 {
		return modules.Fail(fmt.Sprintf("lock name %q is %d characters long: MariaDB takes at most 64", name, len(name)), nil), nil
	}
	target, err := resolveMySQL(h, args, "")
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	key := transport.RunOf(ctx).ID + "\x00" + target.addr() + "\x00" + name
	data := map[string]any{"name": name, "connection_id": 0}
	heldLocks.Lock()
	own, mine := heldLocks.m[key]
	heldLocks.Unlock()
	if mine {
		data["connection_id"] = int(own)
		return modules.Result{Msg: fmt.Sprintf("this run holds the MetaDB lock %q already", name), Data: data}, nil
	}
	if h.AtRunEnd == nil && !check {
		return modules.Fail("mysql_lock holds its lock until the run ends: it runs only under the runner", data), nil
	}
	cfg := target.cfg.Clone()
	cfg.ConnectionAttributes = controllerAttributes(ctx)
	target.cfg = cfg
	db, err := target.open(ctx)
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), data), nil
	}
	if check {
		defer db.Close()
		return probeLock(ctx, db, target, name, data)
	}
	return takeLock(ctx, h, db, target, key, name, args.Int("timeout"), data)
}

// controllerAttributes are the connection attributes that name this run to whoever finds its
// connection holding the lock: the controller's host, user and pid, and the run id.
func controllerAttributes(ctx context.Context) string {
	host, _ := os.Hostname()
	who := "?"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	clean := strings.NewReplacer(",", "_", ":", "_")
	attrs := []string{"program_name:omsbook", "omsbook_host:" + clean.Replace(host), "omsbook_user:" + clean.Replace(who), fmt.Sprintf("omsbook_pid:%d", os.Getpid())}
	attrs = append(attrs, "omsbook_run:"+clean.Replace(transport.RunOf(ctx).ID))
	return strings.Join(attrs, ",")
}

// probeLock says what taking the lock would do, without taking it.
func probeLock(ctx context.Context, db *sql.DB, target mysqlTarget, name string, data map[string]any) (modules.Result, error) {
	var holder sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&holder); err != nil {
		return modules.Fail(fmt.Sprintf("probe the MetaDB lock %q on %s: %v", name, target.addr(), err), data), nil
	}
	if !holder.Valid {
		data["taken"] = true
		return modules.Result{Msg: fmt.Sprintf("would take the MetaDB lock %q (it is free)", name), Data: data}, nil
	}
	return modules.Fail(refusal(ctx, db, name, holder.Int64), data), nil
}

// takeLock takes the lock on a connection of its own, kept until the run ends.
func takeLock(ctx context.Context, h *modules.Host, db *sql.DB, target mysqlTarget, key, name string, timeout int, data map[string]any) (modules.Result, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return modules.Fail(h.Mask(fmt.Sprintf("connect to the MetaDB %s: %v", target.addr(), err)), data), nil
	}
	release := func() { conn.Close(); db.Close() }
	// The connection idles for the whole run: let the server keep it as long as it can.
	if _, err := conn.ExecContext(ctx, "SET SESSION wait_timeout = 31536000"); err != nil {
		release()
		return modules.Fail(fmt.Sprintf("prepare the lock connection on %s: %v", target.addr(), err), data), nil
	}
	var got sql.NullInt64
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?), CONNECTION_ID()", name, timeout).Scan(&got, &id); err != nil {
		release()
		return modules.Fail(fmt.Sprintf("take the MetaDB lock %q on %s: %v", name, target.addr(), err), data), nil
	}
	if got.Int64 != 1 {
		defer release()
		var holder sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&holder); err != nil || !holder.Valid {
			return modules.Fail(fmt.Sprintf("the MetaDB lock %q on %s could not be taken (it was busy, and is free now: run again)", name, target.addr()), data), nil
		}
		return modules.Fail(refusal(ctx, db, name, holder.Int64), data), nil
	}
	heldLocks.Lock()
	heldLocks.m[key] = id
	heldLocks.Unlock()
	h.AtRunEnd(lockCloser(func() {
		heldLocks.Lock()
		delete(heldLocks.m, key)
		heldLocks.Unlock()
		// RELEASE_LOCK first, with a short time of its own (the run's context may have ended);
		// closing the connection releases the lock anyway.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(rctx, "DO RELEASE_LOCK(?)", name)
		release()
	}))
	data["connection_id"] = int(id)
	data["taken"] = true
	return modules.Result{Msg: fmt.Sprintf("took the MetaDB lock %q (connection %d) for this run", name, id), Data: data}, nil
}

type lockCloser func()

func (f lockCloser) Close() error { f(); return nil }

// refusal is the message for a lock that connection holder holds: who that is, as far as the
// server tells.
func refusal(ctx context.Context, db *sql.DB, name string, holder int64) string {
	who := fmt.Sprintf("MetaDB connection %d", holder)
	var u, host sql.NullString
	var secs sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", holder).Scan(&u, &host, &secs); err == nil {
		who += fmt.Sprintf(" (user %s from %s, %ds since its last statement)", u.String, host.String, secs.Int64)
	}
	if rows, err := db.QueryContext(ctx, "SELECT ATTR_NAME, ATTR_VALUE FROM performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = ? AND ATTR_NAME LIKE 'omsbook\\_%' ORDER BY ATTR_NAME", holder); err == nil {
		var attrs []string
		for rows.Next() {
			var k, v string
			if rows.Scan(&k, &v) == nil {
				attrs = append(attrs, strings.TrimPrefix(k, "omsbook_")+" "+v)
			}
		}
		rows.Close()
		if len(attrs) > 0 {
			who += ", omsbook " + strings.Join(attrs, ", ")
		}
	}
	return fmt.Sprintf("another controller holds the MetaDB lock %q: %s; only one omsbook run at a time may change this MetaDB: wait for that run to end (or stop it), then run again", name, who)
}
