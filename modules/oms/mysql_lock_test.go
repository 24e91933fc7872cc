package oms

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// lockRun is one controller's run as mysql_lock sees it: its run id in the context and what it
// registered to close at the run's end.
type lockRun struct {
	ctx     context.Context
	h       *testHost
	mu      sync.Mutex
	closers []io.Closer
}

func newLockRun(t *testing.T, id string) *lockRun {
	r := &lockRun{ctx: transport.WithRun(testCtx(t, time.Minute), transport.RunInfo{ID: id, Start: time.Now()}), h: newTestHost(t)}
	r.h.AtRunEnd = func(c io.Closer) { r.mu.Lock(); r.closers = append(r.closers, c); r.mu.Unlock() }
	t.Cleanup(r.end)
	return r
}

// end closes what the run holds, as the runner does when a run ends or is cancelled.
func (r *lockRun) end() {
	r.mu.Lock()
	cs := r.closers
	r.closers = nil
	r.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

func lockState(t *testing.T, db *sql.DB, name string) (free bool, holder int64) {
	t.Helper()
	var f sql.NullInt64
	var h sql.NullInt64
	if err := db.QueryRow("SELECT IS_FREE_LOCK(?), IS_USED_LOCK(?)", name, name).Scan(&f, &h); err != nil {
		t.Fatal(err)
	}
	return f.Int64 == 1, h.Int64
}

// TestMySQLLockOneControllerAtATime: with the real MariaDB, a run takes the named lock on a
// connection of its own and keeps it after the task; a second controller's run is refused with
// the holder named, in check mode too, and check mode never takes the lock; when the first run
// ends the lock is free and the second run gets it.
func TestMySQLLockOneControllerAtATime(t *testing.T) {
	db, metadb := openDB(t)
	m := MySQLLock{}
	name := "omsbook-test:" + randomHex(4)
	args := coerceArgs(t, m, map[string]any{"metadb": metadb, "name": name})
	a, b := newLockRun(t, "20261201T120000Z-run-a"), newLockRun(t, "20261201T120000Z-run-b")

	r, err := m.Check(a.ctx, a.h.Host, args)
	if err != nil || r.Changed || r.Data["taken"] != true || r.Failed {
		t.Fatalf("check on a free lock = %+v, %v; want would take it", r, err)
	}
	if free, _ := lockState(t, db, name); !free {
		t.Fatal("check mode took the lock")
	}
	r, err = m.Apply(a.ctx, a.h.Host, args)
	if err != nil || r.Changed || r.Data["taken"] != true || r.Failed {
		t.Fatalf("apply = %+v, %v; want the lock taken", r, err)
	}
	idA := int64(r.Data["connection_id"].(int))
	if free, holder := lockState(t, db, name); free || holder != idA {
		t.Fatalf("after apply the lock is free %v, held by %d; want held by the run's connection %d", free, holder, idA)
	}
	if r, err = m.Apply(a.ctx, a.h.Host, args); err != nil || r.Changed || r.Data["taken"] == true || r.Failed {
		t.Fatalf("apply again in the same run = %+v, %v; want ok", r, err)
	}
	srvUser := metadb["user"].(string)
	for _, probe := range []func(context.Context, *modules.Host, modules.Args) (modules.Result, error){m.Apply, m.Check} {
		r, err = probe(b.ctx, b.h.Host, args)
		if err != nil || !r.Failed || !strings.Contains(r.Msg, fmt.Sprintf("MetaDB connection %d (user %s from ", idA, srvUser)) || !strings.Contains(r.Msg, name) {
			t.Fatalf("a second controller = %+v, %v; want refused naming connection %d", r, err, idA)
		}
	}
	if _, holder := lockState(t, db, name); holder != idA {
		t.Fatalf("the refused run changed the holder to %d", holder)
	}

	a.end()
	if free, _ := lockState(t, db, name); !free {
		t.Fatal("the lock is still held after the run that took it ended")
	}
	if r, err = m.Apply(b.ctx, b.h.Host, args); err != nil || r.Data["taken"] != true || r.Failed {
		t.Fatalf("the second controller after the first ended = %+v, %v; want the lock taken", r, err)
	}
	b.end()
	if free, _ := lockState(t, db, name); !free {
		t.Fatal("the lock is still held after the second run ended")
	}
}

// TestMySQLLockOutlivesItsTask: the lock is the run's, not the task's: cancelling the task's
// context after it took the lock keeps it; the run's end (which the runner brings about at once
// on cancellation) releases it. A name is derived from database.
func TestMySQLLockOutlivesItsTask(t *testing.T) {
	db, metadb := openDB(t)
	m := MySQLLock{}
	database := "rm_" + randomHex(4)
	run := newLockRun(t, "20261201T120000Z-cancel")
	ctx, cancel := context.WithCancel(run.ctx)
	r, err := m.Apply(ctx, run.h.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "database": database}))
	if err != nil || r.Data["taken"] != true || r.Data["name"] != "omsbook:"+database {
		t.Fatalf("apply = %+v, %v", r, err)
	}
	cancel()
	if free, _ := lockState(t, db, "omsbook:"+database); free {
		t.Fatal("cancelling the task's context released the run's lock")
	}
	run.end()
	if free, _ := lockState(t, db, "omsbook:"+database); !free {
		t.Fatal("the lock is still held after the run ended")
	}
}

func TestMySQLLockValidate(t *testing.T) {
	m := MySQLLock{}
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"name": "x"}, "no connection"},
		{map[string]any{"host": "db"}, "give name"},
		{map[string]any{"host": "db", "name": "x", "timeout": -1}, "timeout"},
	} {
		if err := m.Validate(coerceArgs(t, m, c.raw)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%v) = %v; want %q", c.raw, err, c.want)
		}
	}
	oh := newTestHost(t)
	r, err := m.Apply(context.Background(), oh.Host, coerceArgs(t, m, map[string]any{"host": "127.0.0.1", "user": "u", "name": "x"}))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "only under the runner") {
		t.Fatalf("apply without a run = %+v, %v", r, err)
	}
}
