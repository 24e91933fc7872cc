package oms

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// haConfig422 is the V4.2.2 default value of ha.config (reference/oms-upgrade-procedure.md).
const haConfig422 = `{"enable":false,"enableHost":false,"enableStore":true,"perceiveStoreClientCheckpoint":false,"enableConnector":true,"enableJdbcWriter":true,"subtopicStoreNumberThreshold":5,"checkRequestIntervalSec":600,"checkJdbcWriterIntervalSec":600,"checkHostDownIntervalSec":540,"checkModuleExceptionIntervalSec":240,"clearAbnormalResourceHours":72,"refetchStoreIntervalMin":30}`

func seedParams(t *testing.T, db *sql.DB, rm, value string) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE " + quoteIdent(rm) + ".oms_normal_config(id bigint auto_increment primary key, cfg_name varchar(128) not null unique, cfg_value text, gmt_created datetime, gmt_modified datetime)",
		"INSERT INTO " + quoteIdent(rm) + ".oms_normal_config(cfg_name, cfg_value, gmt_created, gmt_modified) VALUES ('ha.config', ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
	} {
		var err error
		if strings.Contains(q, "?") {
			_, err = db.Exec(q, value)
		} else {
			_, err = db.Exec(q)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func storedParam(t *testing.T, db *sql.DB, rm string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("SELECT cfg_value FROM " + quoteIdent(rm) + ".oms_normal_config WHERE cfg_name='ha.config'").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOMSParam(t *testing.T) {
	db, metadb := openDB(t)
	ctx := testCtx(t, 2*time.Minute)
	oh := newTestHost(t)
	m := OMSParam{}
	rm := testDB(t, db, "rm")
	seedParams(t, db, rm, strings.Replace(haConfig422, `"enable":false`, `"enable":true`, 1))
	args := func(set map[string]any) modules.Args {
		raw := map[string]any{"metadb": metadb, "rm_db": rm}
		if set != nil {
			raw["set"] = set
		}
		return coerceArgs(t, m, raw)
	}

	// get only.
	r, err := m.Apply(ctx, oh.Host, args(nil))
	if err != nil || r.Failed || r.Changed || r.Data["value"].(map[string]any)["enable"] != true || r.Data["value"].(map[string]any)["refetchStoreIntervalMin"] != 30 {
		t.Fatalf("get = %+v, %v", r, err)
	}
	if r.Data["changed_at"] != "2026-01-01T00:00:00Z" && !strings.HasPrefix(r.Data["changed_at"].(string), "2026-01-01") && !strings.HasPrefix(r.Data["changed_at"].(string), "2025-12-31") {
		t.Fatalf("changed_at of an untouched row = %v", r.Data["changed_at"])
	}

	// U422-01: disable HA. Check first writes nothing.
	disable := args(map[string]any{"enable": false})
	beforeCheck := tableChecksums(t, db, rm)
	r, err = m.Check(ctx, oh.Host, disable)
	if err != nil || !r.Changed || r.Diff == nil || !strings.Contains(r.Diff.Before, `"enable": true`) || !strings.Contains(r.Diff.After, `"enable": false`) {
		t.Fatalf("check = %+v, %v", r, err)
	}
	if got := tableChecksums(t, db, rm); got != beforeCheck {
		t.Fatalf("check wrote to the MetaDB")
	}
	r, err = m.Apply(ctx, oh.Host, disable)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("disable = %+v, %v", r, err)
	}
	if got := storedParam(t, db, rm); got != haConfig422 {
		t.Fatalf("stored value = %s\nwant (same key order) %s", got, haConfig422)
	}
	t1, err := time.Parse(time.RFC3339, r.Data["changed_at"].(string))
	if err != nil || time.Since(t1) > time.Hour || time.Since(t1) < -time.Hour {
		t.Fatalf("changed_at = %v (%v); want about now", r.Data["changed_at"], err)
	}
	r, err = m.Apply(ctx, oh.Host, disable)
	if err != nil || r.Changed || r.Failed || r.Data["changed_at"] != paramRFC3339(t1) {
		t.Fatalf("disable again = %+v, %v; want ok with the same changed_at", r, err)
	}

	// U422-11: enable and set the refetch interval; a templated "90" becomes a number; a new key goes last.
	r, err = m.Apply(ctx, oh.Host, args(map[string]any{"enable": true, "refetchStoreIntervalMin": "90", "newKey": "x"}))
	if err != nil || !r.Changed || !reflect.DeepEqual(r.Data["changed_keys"], []any{"enable", "newKey", "refetchStoreIntervalMin"}) {
		t.Fatalf("enable = %+v, %v", r, err)
	}
	want := strings.Replace(strings.Replace(haConfig422, `"enable":false`, `"enable":true`, 1), `"refetchStoreIntervalMin":30}`, `"refetchStoreIntervalMin":90,"newKey":"x"}`, 1)
	if got := storedParam(t, db, rm); got != want {
		t.Fatalf("stored value = %s\nwant %s", got, want)
	}

	// A concurrent change between the read and the write is detected.
	racing := OMSParam{beforeSwap: func() {
		if _, err := db.Exec("UPDATE "+quoteIdent(rm)+".oms_normal_config SET cfg_value=? WHERE cfg_name='ha.config'", haConfig422); err != nil {
			t.Error(err)
		}
	}}
	r, err = racing.Apply(ctx, oh.Host, args(map[string]any{"enable": false}))
	if err != nil || !r.Failed || !strings.HasPrefix(r.Msg, "ha.config changed concurrently; rerun") {
		t.Fatalf("concurrent change = %+v, %v", r, err)
	}
	if got := storedParam(t, db, rm); got != haConfig422 {
		t.Fatalf("the concurrent writer's value was overwritten: %s", got)
	}

	// Malformed JSON: fail, write nothing.
	if _, err := db.Exec("UPDATE "+quoteIdent(rm)+".oms_normal_config SET cfg_value=? WHERE cfg_name='ha.config'", `{"enable":true,`); err != nil {
		t.Fatal(err)
	}
	before := tableChecksums(t, db, rm)
	r, err = m.Apply(ctx, oh.Host, disable)
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "is not a JSON object") || !strings.Contains(r.Msg, "nothing was written") {
		t.Fatalf("malformed = %+v, %v", r, err)
	}
	if got := tableChecksums(t, db, rm); got != before {
		t.Fatalf("malformed JSON: something was written")
	}

	// A missing parameter names the table.
	r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"metadb": metadb, "rm_db": rm, "name": "no.such"}))
	if !r.Failed || !strings.Contains(r.Msg, "parameter no.such not found in "+rm+".oms_normal_config") {
		t.Fatalf("missing parameter = %+v", r)
	}
}
