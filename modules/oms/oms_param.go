package oms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/oms/internal/omsutil"
)

// OMSParam reads and changes an OMS system parameter whose value is a JSON object, such as
// ha.config, through a backend (the MetaDB now; an HTTP backend may follow).
type OMSParam struct {
	// beforeSwap, when set (tests only), runs between the read and the compare-and-swap.
	beforeSwap func()
}

// Name is the task key.
func (OMSParam) Name() string { return "oms_param" }

// Spec declares the arguments.
func (OMSParam) Spec() modules.Spec {
	return modules.Spec{
		Summary: "read or change an OMS system parameter (JSON value), e.g. ha.config",
		Description: `Backend metadb: the row cfg_name=<name> of <rm_db>.oms_normal_config. set merges keys into the
JSON object and keeps every other key in its place (new keys go last); a string value for a key
that holds a number or a boolean is converted ("90" -> 90). The write is a compare-and-swap on the
old value: if someone changed the parameter in between, the task fails and asks for a rerun.
Without set, the value is only read. Malformed JSON in the MetaDB fails and nothing is written.
changed_at is the MetaDB's time of the last change (gmt_modified after the write, or of the row
as found when nothing changed): the T1/T2/T3 of the upgrade guide.`,
		CheckMode: "reads the value and shows the JSON diff of the merge; writes nothing",
		Args: append(mysqlConnArgs(true),
			modules.Arg{Name: "rm_db", Type: modules.String, Required: true, Doc: "the rm database (config key drc_rm_db), e.g. rm_422"},
			modules.Arg{Name: "name", Type: modules.String, Default: "ha.config", Doc: "parameter name (cfg_name)"},
			modules.Arg{Name: "set", Type: modules.Map, Doc: "keys to merge into the JSON value"},
			modules.Arg{Name: "backend", Type: modules.String, Default: "metadb", Choices: []string{"metadb"}, Doc: "where the parameter lives"},
		),
		Returns: []modules.Field{
			{Name: "value", Type: "map", Doc: "the value after the task (parsed JSON)"},
			{Name: "before", Type: "map", Doc: "the value found"},
			{Name: "after", Type: "map", Doc: "the value written (equal to before when unchanged)"},
			{Name: "raw", Type: "string", Doc: "the stored JSON text after the task"},
			{Name: "changed_keys", Type: "list", Doc: "keys whose value changed (or would change)"},
			{Name: "changed_at", Type: "string", Doc: "RFC 3339 time of the last change, from the MetaDB clock"},
			{Name: "now", Type: "string", Doc: "RFC 3339 time of the MetaDB when read"},
		},
	}
}

// paramBackend stores OMS system parameters.
type paramBackend interface {
	// Read returns the stored text of the parameter, when it last changed and the backend's now.
	Read(ctx context.Context, name string) (paramValue, error)
	// CompareAndSwap replaces old with new and returns the time of the change; it returns
	// errParamConcurrent when the stored value is no longer old.
	CompareAndSwap(ctx context.Context, name, old, new string) (time.Time, error)
	// Where names the place for messages and diffs.
	Where() string
	Close() error
}

type paramValue struct {
	Raw        string
	ModifiedAt time.Time // zero when unknown
	Now        time.Time
}

var errParamConcurrent = errors.New("changed concurrently")

// metaDBParams is the MetaDB backend: rm_db.oms_normal_config.
type metaDBParams struct {
	db    *sql.DB
	rmDB  string
	table string
}

func (b *metaDBParams) Where() string { return b.rmDB + ".oms_normal_config" }
func (b *metaDBParams) Close() error  { return b.db.Close() }

func paramUnixTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(s.String, 64)
	if err != nil {
		return time.Time{}
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

func (b *metaDBParams) Read(ctx context.Context, name string) (paramValue, error) {
	var raw sql.NullString
	var mod, now sql.NullString
	err := b.db.QueryRowContext(ctx, "SELECT cfg_value, UNIX_TIMESTAMP(gmt_modified), UNIX_TIMESTAMP(NOW()) FROM "+b.table+" WHERE cfg_name = ?", name).Scan(&raw, &mod, &now)
	if errors.Is(err, sql.ErrNoRows) {
		return paramValue{}, fmt.Errorf("parameter %s not found in %s: check name and rm_db", name, b.Where())
	}
	if err != nil {
		return paramValue{}, fmt.Errorf("read parameter %s from %s: %w", name, b.Where(), err)
	}
	return paramValue{Raw: raw.String, ModifiedAt: paramUnixTime(mod), Now: paramUnixTime(now)}, nil
}

func (b *metaDBParams) CompareAndSwap(ctx context.Context, name, old, new string) (time.Time, error) {
	res, err := b.db.ExecContext(ctx, "UPDATE "+b.table+" SET cfg_value = ?, gmt_modified = now() WHERE cfg_name = ? AND cfg_value = ?", new, name, old)
	if err != nil {
		return time.Time{}, fmt.Errorf("write parameter %s in %s: %w", name, b.Where(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return time.Time{}, errParamConcurrent
	}
	var mod sql.NullString
	if err := b.db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(gmt_modified) FROM "+b.table+" WHERE cfg_name = ?", name).Scan(&mod); err != nil {
		return time.Time{}, fmt.Errorf("read back parameter %s from %s: %w", name, b.Where(), err)
	}
	return paramUnixTime(mod), nil
}

func (m OMSParam) backend(ctx context.Context, h *modules.Host, args modules.Args) (paramBackend, error) {
	target, err := resolveMySQL(h, args, "")
	if err != nil {
		return nil, err
	}
	db, err := target.open(ctx)
	if err != nil {
		return nil, err
	}
	// One connection: the compare-and-swap and its read-back see the same session.
	db.SetMaxOpenConns(1)
	rm := args.String("rm_db")
	return &metaDBParams{db: db, rmDB: rm, table: quoteIdent(rm) + ".oms_normal_config"}, nil
}

// Check shows what set would change.
func (m OMSParam) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply merges set into the value with a compare-and-swap.
func (m OMSParam) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func paramRFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (m OMSParam) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if !mysqlConnGiven(args) {
		return modules.Fail("no MetaDB connection: give metadb: {host, port, user, password} or host/port/user/password", nil), nil
	}
	b, err := m.backend(ctx, h, args)
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), nil), nil
	}
	defer b.Close()
	name := args.String("name")
	found, err := b.Read(ctx, name)
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), nil), nil
	}
	obj, err := omsutil.ParseObject(found.Raw)
	if err != nil {
		return modules.Fail(fmt.Sprintf("parameter %s in %s is not a JSON object (%v): fix it in the MetaDB first; nothing was written", name, b.Where(), err), map[string]any{"raw": found.Raw}), nil
	}
	before := obj.Map()
	lastChange := found.ModifiedAt
	if lastChange.IsZero() {
		lastChange = found.Now
	}
	data := map[string]any{"before": before, "after": before, "value": before, "raw": found.Raw, "changed_keys": []any{},
		"changed_at": paramRFC3339(lastChange), "now": paramRFC3339(found.Now)}
	set := args.Map("set")
	if len(set) == 0 {
		return modules.Result{Msg: fmt.Sprintf("%s = %s", name, found.Raw), Data: data}, nil
	}
	var changedKeys []any
	for _, k := range omsutil.SortedKeys(set) {
		v := paramCoerce(obj, k, set[k])
		c, err := obj.Set(k, v)
		if err != nil {
			return modules.Fail(fmt.Sprintf("set %s: %v", name, err), data), nil
		}
		if c {
			changedKeys = append(changedKeys, k)
		}
	}
	if len(changedKeys) == 0 {
		return modules.Result{Msg: fmt.Sprintf("%s already has %s", name, describeSet(set)), Data: data}, nil
	}
	before0, _ := omsutil.ParseObject(found.Raw)
	diff := &modules.Diff{Before: before0.Pretty(), After: obj.Pretty(), BeforeLabel: name + " (" + b.Where() + ")", AfterLabel: name + " (" + b.Where() + ")"}
	after := obj.Map()
	data["changed_keys"] = changedKeys
	data["after"] = after
	if check {
		return modules.Result{Changed: true, Diff: diff, Msg: fmt.Sprintf("would change %s: %s", name, joinAny(changedKeys)), Data: data}, nil
	}
	if m.beforeSwap != nil {
		m.beforeSwap()
	}
	newRaw := obj.String()
	at, err := b.CompareAndSwap(ctx, name, found.Raw, newRaw)
	if errors.Is(err, errParamConcurrent) {
		return modules.Fail(fmt.Sprintf("%s changed concurrently; rerun (someone wrote it in %s after it was read)", name, b.Where()), data), nil
	}
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), data), nil
	}
	data["value"], data["raw"], data["changed_at"] = after, newRaw, paramRFC3339(at)
	return modules.Result{Changed: true, Diff: diff, Msg: fmt.Sprintf("changed %s: %s", name, joinAny(changedKeys)), Data: data}, nil
}

// paramCoerce converts a string given for a key that holds a number or a boolean, since a
// template renders "90" where the JSON wants 90.
func paramCoerce(obj *omsutil.Object, key string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	old, ok := obj.Get(key)
	if !ok {
		return v
	}
	switch old.(type) {
	case int:
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case float64:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case bool:
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return v
}

func describeSet(set map[string]any) string {
	var parts []any
	for _, k := range omsutil.SortedKeys(set) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, set[k]))
	}
	return joinAny(parts)
}
