package oms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
)

// MySQLDump backs up MetaDB databases with the real mysqldump client into verified files with
// a manifest, and restores them with the mysql client after checking the manifest.
type MySQLDump struct{}

// Name is the task key.
func (MySQLDump) Name() string { return "mysqldump" }

// mysqldumpManifest is the file written beside the dumps.
const mysqldumpManifest = "MANIFEST.json"

// mysqldumpRestoreState records what each restore left, so that a second run can tell that a
// database still holds exactly what it restored.
const mysqldumpRestoreState = ".omsbook-restored.json"

// Spec declares the arguments.
func (MySQLDump) Spec() modules.Spec {
	return modules.Spec{
		Summary: "dump MetaDB databases to verified files, or restore them",
		Description: `Runs the real mysqldump / mysql clients on the host the task executes on (the controller in a
play on localhost or with delegate_to: localhost; a node with delegate_to: <node>). The password goes
to the client as an option file read from a pipe (--defaults-extra-file=/dev/fd/3, fed through the
command's standard input): never in a file, an argv or an environment. Apply first removes any
.omsbook-client-*.cnf option file an older omsbook left in dest_dir.
state dumped: one file per database, <dest_dir>/<db>.sql, streamed by the client straight to the
file; verified (non-empty, ends with the "-- Dump completed" trailer), its size and sha256 recorded
in <dest_dir>/MANIFEST.json (db, file, size, sha256, dumped_at, server_version, client_version,
options). A dump that still matches its manifest entry is kept (ok) unless force.
Before dumping, the databases must exist and their size (information_schema data_length +
index_length) must fit in the free space at dest_dir (df -Pk), else the task fails early.
state restored: every dump is checked against the manifest first (missing, size or sha256
mismatch: refuse, nothing touched); recreate drops and creates each database first (R422-03); then
mysql --defaults-extra-file=/dev/fd/3 <db> < <file> runs in a shell on the executing host. A database
that still holds exactly what an earlier restore of the same dump left (CHECKSUM TABLE of every
table) is ok. The size estimate, database list and checksums use the MetaDB connection from the
controller.`,
		CheckMode: "connects, lists which databases exist, compares the size estimate with the free space, and says which dumps would be made; for restored, verifies the manifest checksums read-only and says which databases would be restored",
		Args: append(mysqlConnArgs(true),
			modules.Arg{Name: "state", Type: modules.String, Default: "dumped", Choices: []string{"dumped", "restored"}, Doc: "dump the databases, or restore them from their dumps"},
			modules.Arg{Name: "databases", Type: modules.StringList, Required: true, Doc: "databases to dump or restore"},
			modules.Arg{Name: "dest_dir", Type: modules.String, Required: true, Doc: "directory of the dumps and MANIFEST.json on the executing host"},
			modules.Arg{Name: "triggers", Type: modules.Bool, Default: false, Doc: "dump triggers (the guide dumps with --triggers=false)"},
			modules.Arg{Name: "single_transaction", Type: modules.Bool, Default: true, Doc: "dump in one consistent transaction (--single-transaction)"},
			modules.Arg{Name: "extra_options", Type: modules.StringList, Doc: "more mysqldump options, e.g. --routines"},
			modules.Arg{Name: "force", Type: modules.Bool, Default: false, Doc: "dump again even when a verified dump exists"},
			modules.Arg{Name: "recreate", Type: modules.Bool, Default: false, Doc: "restored: drop and create each database first"},
			modules.Arg{Name: "mysqldump_cmd", Type: modules.String, Default: "mysqldump", Doc: "the mysqldump client on the executing host"},
			modules.Arg{Name: "mysql_cmd", Type: modules.String, Default: "mysql", Doc: "the mysql client on the executing host"},
		),
		Returns: []modules.Field{
			{Name: "dumps", Type: "list", Doc: "per database: {db, file, size, sha256, dumped_at, reused}"},
			{Name: "restored", Type: "list", Doc: "restored: the databases restored (or that would be)"},
			{Name: "manifest", Type: "string", Doc: "path of MANIFEST.json"},
			{Name: "estimated_bytes", Type: "int", Doc: "dumped: information_schema size of the databases to dump"},
			{Name: "free_bytes", Type: "int", Doc: "dumped: free space at dest_dir"},
			{Name: "databases", Type: "map", Doc: "database -> exists on the server"},
		},
	}
}

// dumpEntry is one database's line in the manifest.
type dumpEntry struct {
	DB            string   `json:"db"`
	File          string   `json:"file"`
	Size          int64    `json:"size"`
	SHA256        string   `json:"sha256"`
	DumpedAt      string   `json:"dumped_at"`
	ServerVersion string   `json:"server_version"`
	ClientVersion string   `json:"client_version"`
	Options       []string `json:"options"`
}

type dumpManifest struct {
	Format int         `json:"format"`
	Dumps  []dumpEntry `json:"dumps"`
}

func (m *dumpManifest) find(db string) (dumpEntry, bool) {
	for _, e := range m.Dumps {
		if e.DB == db {
			return e, true
		}
	}
	return dumpEntry{}, false
}

func (m *dumpManifest) put(e dumpEntry) {
	for i := range m.Dumps {
		if m.Dumps[i].DB == e.DB {
			m.Dumps[i] = e
			return
		}
	}
	m.Dumps = append(m.Dumps, e)
	sort.Slice(m.Dumps, func(i, j int) bool { return m.Dumps[i].DB < m.Dumps[j].DB })
}

func (e dumpEntry) data(reused bool) map[string]any {
	return map[string]any{"db": e.DB, "file": e.File, "size": int(e.Size), "sha256": e.SHA256, "dumped_at": e.DumpedAt, "reused": reused}
}

// Validate checks the database names, which become file names.
func (MySQLDump) Validate(args modules.Args) error {
	if _, deferred := args["databases"].([]string); !deferred {
		return nil
	}
	for _, db := range args.Strings("databases") {
		if err := checkDumpDBName(db); err != nil {
			return err
		}
	}
	return nil
}

func checkDumpDBName(db string) error {
	if db == "" || strings.HasPrefix(db, "-") || strings.ContainsAny(db, "/\x00\n") || db == "." || db == ".." {
		return fmt.Errorf("database name %q cannot be dumped to a file: use a plain name such as rm_422", db)
	}
	return nil
}

// Check probes the server, the free space and the existing dumps.
func (m MySQLDump) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply dumps or restores.
func (m MySQLDump) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

type dumpRun struct {
	h      *modules.Host
	args   modules.Args
	target mysqlTarget
	db     *sql.DB
	dir    string
	check  bool
	// partials are dump files being written; a cancelled dump (killed, so its shell cannot
	// clean up) leaves one behind, which cleanup removes.
	partials []string
}

func (m MySQLDump) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	if !mysqlConnGiven(args) {
		return modules.Fail("no MetaDB connection: give metadb: {host, port, user, password} or host/port/user/password", nil), nil
	}
	target, err := resolveMySQL(h, args, "")
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	db, err := target.open(ctx)
	if err != nil {
		return modules.Fail(h.Mask(err.Error()), nil), nil
	}
	defer db.Close()
	r := &dumpRun{h: h, args: args, target: target, db: db, dir: strings.TrimRight(args.String("dest_dir"), "/"), check: check}
	if r.dir == "" {
		r.dir = "/"
	}
	defer r.cleanup()
	if !check {
		if err := r.removeStaleOptionFiles(ctx); err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
	}
	var res modules.Result
	if args.String("state") == "restored" {
		res, err = r.restore(ctx)
	} else {
		res, err = r.dump(ctx)
	}
	if err != nil {
		return modules.Result{}, err
	}
	res.Msg = h.Mask(res.Msg)
	if res.Data == nil {
		res.Data = map[string]any{}
	}
	res.Data["manifest"] = r.path(mysqldumpManifest)
	return res, nil
}

func (r *dumpRun) path(name string) string { return path.Join(r.dir, name) }

// sh runs a shell line on the executing host.
func (r *dumpRun) sh(ctx context.Context, line string) (stdout, stderr string, rc int, err error) {
	res, err := r.h.Conn.Exec(ctx, r.h.Cmd(line))
	if err != nil {
		return "", "", -1, fmt.Errorf("on %s: %w", r.h.Name, err)
	}
	return string(res.Stdout), string(res.Stderr), res.RC, nil
}

// serverDatabases says which of the asked databases exist.
func (r *dumpRun) serverDatabases(ctx context.Context) (map[string]bool, []string, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT schema_name FROM information_schema.schemata")
	if err != nil {
		return nil, nil, fmt.Errorf("list databases on %s: %w", r.target.addr(), err)
	}
	defer rows.Close()
	all := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, nil, err
		}
		all[n] = true
	}
	exists := map[string]bool{}
	var missing []string
	for _, d := range r.args.Strings("databases") {
		exists[d] = all[d]
		if !all[d] {
			missing = append(missing, d)
		}
	}
	return exists, missing, rows.Err()
}

// sizes estimates each database's size from information_schema.
func (r *dumpRun) sizes(ctx context.Context, dbs []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(dbs) == 0 {
		return out, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(dbs)), ",")
	params := make([]any, len(dbs))
	for i, d := range dbs {
		params[i] = d
	}
	rows, err := r.db.QueryContext(ctx, "SELECT table_schema, COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema IN ("+ph+") GROUP BY table_schema", params...)
	if err != nil {
		return nil, fmt.Errorf("estimate database sizes on %s: %w", r.target.addr(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var size int64
		if err := rows.Scan(&n, &size); err != nil {
			return nil, err
		}
		out[n] = size
	}
	return out, rows.Err()
}

// freeBytes is the free space at dir, or at its nearest existing parent.
func (r *dumpRun) freeBytes(ctx context.Context) (int64, error) {
	line := fmt.Sprintf(`d=%s; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d" | tail -n 1`, shellquote.QuoteIfNeeded(r.dir))
	out, stderr, rc, err := r.sh(ctx, line)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(out)
	if rc != 0 || len(fields) < 4 {
		return 0, fmt.Errorf("read the free space at %s on %s: df: %s", r.dir, r.h.Name, strings.TrimSpace(stderr+out))
	}
	kb, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read the free space at %s on %s: df printed %q", r.dir, r.h.Name, strings.TrimSpace(out))
	}
	return kb * 1024, nil
}

func (r *dumpRun) readManifest(ctx context.Context) (*dumpManifest, bool, error) {
	var buf bytes.Buffer
	if err := r.h.Conn.Get(ctx, r.path(mysqldumpManifest), &buf); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &dumpManifest{Format: 1}, false, nil
		}
		return nil, false, fmt.Errorf("read %s on %s: %w", r.path(mysqldumpManifest), r.h.Name, err)
	}
	var m dumpManifest
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		return nil, true, fmt.Errorf("%s on %s is not a dump manifest: %w", r.path(mysqldumpManifest), r.h.Name, err)
	}
	return &m, true, nil
}

func (r *dumpRun) writeJSON(ctx context.Context, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := r.h.Conn.Put(ctx, bytes.NewReader(append(data, '\n')), r.path(name), 0o600); err != nil {
		return fmt.Errorf("write %s on %s: %w", r.path(name), r.h.Name, err)
	}
	return nil
}

// fileState is what the executing host says about a dump file.
type fileState struct {
	exists  bool
	size    int64
	sha256  string
	trailer bool
}

// inspectDump measures a dump file on the executing host (sha256sum there: the file never
// travels).
func (r *dumpRun) inspectDump(ctx context.Context, file string) (fileState, error) {
	if r.h.Conn.Local() {
		return inspectLocalDump(ctx, file)
	}
	line := fmt.Sprintf(`f=%s
[ -f "$f" ] || { echo missing; exit 0; }
s=$(wc -c < "$f") || exit 1
h=$(sha256sum < "$f") || exit 1
t=0; tail -c 4096 "$f" | grep -q -- '-- Dump completed' && t=1
echo "ok $s ${h%%%% *} $t"`, shellquote.QuoteIfNeeded(file))
	out, stderr, rc, err := r.sh(ctx, line)
	if err != nil {
		return fileState{}, err
	}
	if rc != 0 {
		return fileState{}, fmt.Errorf("read %s on %s: %s", file, r.h.Name, strings.TrimSpace(stderr))
	}
	f := strings.Fields(out)
	if len(f) == 1 && f[0] == "missing" {
		return fileState{}, nil
	}
	if len(f) != 4 || f[0] != "ok" {
		return fileState{}, fmt.Errorf("read %s on %s: unexpected answer %q", file, r.h.Name, out)
	}
	size, _ := strconv.ParseInt(f[1], 10, 64)
	return fileState{exists: true, size: size, sha256: f[2], trailer: f[3] == "1"}, nil
}

// followHash hashes a file on the controller while another process is still writing it,
// reading right behind the writer (from the page cache), so that a large dump is hashed by the
// time it is complete.
type followHash struct {
	stop   chan struct{}
	result chan fileState
}

func startFollowHash(ctx context.Context, path string, progress func(read int64)) *followHash {
	fh := &followHash{stop: make(chan struct{}), result: make(chan fileState, 1)}
	go func() {
		fh.result <- followFile(ctx, path, fh.stop, progress)
	}()
	return fh
}

// finish says the writer is done and returns what was read: exists false when the file
// never appeared or could not be read whole, and then the caller measures the file itself.
func (fh *followHash) finish() fileState {
	close(fh.stop)
	return <-fh.result
}

func followFile(ctx context.Context, path string, stop <-chan struct{}, progress func(read int64)) fileState {
	const poll = 5 * time.Millisecond
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return fileState{}
			}
			select {
			case <-stop:
				return fileState{} // the writer never created it
			case <-ctx.Done():
				return fileState{}
			case <-time.After(poll):
			}
		}
	}
	defer f.Close()
	sum := sha256.New()
	buf := make([]byte, 1<<20)
	var size int64
	writerDone := false
	for {
		n, err := f.Read(buf)
		sum.Write(buf[:n])
		size += int64(n)
		if n > 0 && progress != nil {
			progress(size)
		}
		switch {
		case err == io.EOF && writerDone:
			// The writer had finished before this read: this is the whole file. The fd
			// follows the file through the shell's rename into place.
			return fileState{exists: true, size: size, sha256: hex.EncodeToString(sum.Sum(nil)), trailer: true}
		case err == io.EOF:
			select {
			case <-stop:
				writerDone = true
			case <-ctx.Done():
				return fileState{}
			case <-time.After(poll):
			}
		case err != nil:
			return fileState{}
		}
	}
}

// inspectLocalDump measures a dump file on the controller in Go, whose sha256 (with the CPU's
// SHA instructions) is several times faster than coreutils' sha256sum: the verification is
// most of the module's overhead over the bare client.
func inspectLocalDump(ctx context.Context, file string) (fileState, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	sum := sha256.New()
	buf := make([]byte, 1<<20)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return fileState{}, err
		}
		n, err := f.Read(buf)
		sum.Write(buf[:n])
		size += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fileState{}, fmt.Errorf("read %s: %w", file, err)
		}
	}
	st := fileState{exists: true, size: size, sha256: hex.EncodeToString(sum.Sum(nil))}
	tail := make([]byte, min(size, 4096))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err == nil || err == io.EOF {
		st.trailer = bytes.Contains(tail, []byte("-- Dump completed"))
	}
	return st, nil
}

// verify compares a dump file with its manifest entry; "" means it matches.
func (r *dumpRun) verify(ctx context.Context, e dumpEntry) (string, error) {
	st, err := r.inspectDump(ctx, r.path(e.File))
	if err != nil {
		return "", err
	}
	switch {
	case !st.exists:
		return fmt.Sprintf("%s is missing", r.path(e.File)), nil
	case st.size == 0:
		return fmt.Sprintf("%s is empty", r.path(e.File)), nil
	case st.size != e.Size:
		return fmt.Sprintf("%s has %d bytes, the manifest says %d", r.path(e.File), st.size, e.Size), nil
	case st.sha256 != e.SHA256:
		return fmt.Sprintf("%s has sha256 %s, the manifest says %s", r.path(e.File), st.sha256, e.SHA256), nil
	case !st.trailer:
		return fmt.Sprintf("%s does not end with the '-- Dump completed' trailer", r.path(e.File)), nil
	}
	return "", nil
}

// cleanup removes any partial dump, even after cancellation.
func (r *dumpRun) cleanup() {
	if len(r.partials) > 0 {
		removeHostFile(r.h, r.partials...)
	}
}

func (r *dumpRun) dumpOptions() []string {
	var opts []string
	if r.args.Bool("single_transaction") {
		opts = append(opts, "--single-transaction")
	}
	if r.args.Bool("triggers") {
		opts = append(opts, "--triggers")
	} else {
		opts = append(opts, "--skip-triggers")
	}
	return append(opts, r.args.Strings("extra_options")...)
}

func (r *dumpRun) dump(ctx context.Context) (modules.Result, error) {
	dbs := r.args.Strings("databases")
	exists, missing, err := r.serverDatabases(ctx)
	if err != nil {
		return modules.Fail(r.h.Mask(err.Error()), nil), nil
	}
	data := map[string]any{"databases": anyMap(exists)}
	if len(missing) > 0 {
		return modules.Fail(fmt.Sprintf("database(s) %s do not exist on %s: nothing to back up there; check the database names", strings.Join(missing, ", "), r.target.addr()), data), nil
	}
	manifest, _, err := r.readManifest(ctx)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	force := r.args.Bool("force")
	var todo []string
	var dumps []any
	for _, d := range dbs {
		if e, ok := manifest.find(d); ok && !force {
			why, err := r.verify(ctx, e)
			if err != nil {
				return modules.Result{}, err
			}
			if why == "" {
				dumps = append(dumps, e.data(true))
				continue
			}
		}
		todo = append(todo, d)
	}
	sizes, err := r.sizes(ctx, todo)
	if err != nil {
		return modules.Fail(r.h.Mask(err.Error()), data), nil
	}
	var need int64
	for _, d := range todo {
		need += sizes[d]
	}
	free, err := r.freeBytes(ctx)
	if err != nil {
		return modules.Fail(err.Error(), data), nil
	}
	data["estimated_bytes"], data["free_bytes"] = int(need), int(free)
	if need > free {
		return modules.Fail(fmt.Sprintf("the dumps of %s need about %s but %s has only %s free: free some space or choose another dest_dir", strings.Join(todo, ", "), humanBytes(need), r.dir, humanBytes(free)), data), nil
	}
	if len(todo) == 0 {
		data["dumps"] = dumps
		return modules.Result{Msg: fmt.Sprintf("verified dumps of %s exist in %s", strings.Join(dbs, ", "), r.dir), Data: data}, nil
	}
	if r.check {
		data["dumps"] = dumps
		return modules.Result{Changed: true, Msg: fmt.Sprintf("would dump %s (about %s) to %s", strings.Join(todo, ", "), humanBytes(need), r.dir), Data: data}, nil
	}
	if _, stderr, rc, err := r.sh(ctx, "mkdir -p -- "+shellquote.QuoteIfNeeded(r.dir)); err != nil || rc != 0 {
		if err == nil {
			err = errors.New(strings.TrimSpace(stderr))
		}
		return modules.Fail(fmt.Sprintf("create %s on %s: %v", r.dir, r.h.Name, err), data), nil
	}
	var serverVersion string
	_ = r.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&serverVersion)
	dumpCmd := r.args.String("mysqldump_cmd")
	clientVersion, _, _, err := r.sh(ctx, shellquote.QuoteIfNeeded(dumpCmd)+" --version")
	if err != nil {
		return modules.Result{}, err
	}
	opts := r.dumpOptions()
	var dumped int64 // bytes, for the progress line
	for _, d := range todo {
		file := r.path(d + ".sql")
		r.partials = append(r.partials, file+".partial")
		// The client reads its options from a pipe (mysqldump_options.go) and streams straight
		// into the file.
		line := fmt.Sprintf(`f=%s; p="$f.partial"
trap 'rm -f "$p"' EXIT
%s > "$p" || exit $?
s=$(wc -c < "$p"); [ "$s" -gt 0 ] || { echo "the dump is empty" >&2; exit 3; }
tail -c 4096 "$p" | grep -q -- '-- Dump completed' || { echo "the dump does not end with the '-- Dump completed' trailer" >&2; exit 3; }
mv -f "$p" "$f" || exit 1`, shellquote.QuoteIfNeeded(file), clientLine(dumpCmd, append(append([]string(nil), opts...), d), "< /dev/null"))
		var follow *followHash
		if r.h.Conn.Local() {
			// On the controller the dump is hashed as it is written, instead of read again
			// afterwards; only a partial file this run creates is followed, never a stale one
			// from a killed run.
			if err := os.Remove(file + ".partial"); err == nil || errors.Is(err, fs.ErrNotExist) {
				follow = startFollowHash(ctx, file+".partial", func(n int64) { modules.Progress(ctx, dumped+n, need, "bytes") })
			}
		}
		_, stderr, rc, err := r.shClient(ctx, line)
		var followed fileState
		if follow != nil {
			followed = follow.finish()
		}
		if err != nil {
			return modules.Result{}, err
		}
		if rc != 0 {
			data["dumps"] = dumps
			return modules.Fail(fmt.Sprintf("mysqldump %s to %s on %s failed (rc %d): %s", d, file, r.h.Name, rc, strings.TrimSpace(stderr)), data), nil
		}
		// Measured after the rename: a crash in between leaves a file the manifest does not
		// vouch for, which the next run dumps again. The shell has checked the trailer of
		// the very file followed, so a followed hash needs no second read.
		st := followed
		if !st.exists {
			if st, err = r.inspectDump(ctx, file); err != nil {
				return modules.Result{}, err
			}
		}
		if !st.exists || !st.trailer {
			return modules.Fail(fmt.Sprintf("mysqldump %s: %s changed under the module after the dump", d, file), data), nil
		}
		e := dumpEntry{DB: d, File: d + ".sql", Size: st.size, SHA256: st.sha256, DumpedAt: time.Now().UTC().Format(time.RFC3339),
			ServerVersion: serverVersion, ClientVersion: strings.TrimSpace(clientVersion), Options: opts}
		manifest.put(e)
		dumped += st.size
		modules.Progress(ctx, dumped, need, "bytes")
		// Write the manifest after every dump, so that a later failure keeps the good ones.
		if err := r.writeJSON(ctx, mysqldumpManifest, manifest); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		dumps = append(dumps, e.data(false))
	}
	data["dumps"] = dumps
	return modules.Result{Changed: true, Msg: fmt.Sprintf("dumped %s to %s", strings.Join(todo, ", "), r.dir), Data: data}, nil
}

// restoreState maps a database to what the last restore left.
type restoreState map[string]struct {
	SHA256      string `json:"sha256"`
	Fingerprint string `json:"fingerprint"`
	RestoredAt  string `json:"restored_at"`
}

// fingerprint digests CHECKSUM TABLE of every table of a database ("absent" when it does not
// exist).
func (r *dumpRun) fingerprint(ctx context.Context, db string) (string, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", db)
	if err != nil {
		return "", fmt.Errorf("list the tables of %s: %w", db, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return "", err
		}
		tables = append(tables, t)
	}
	rows.Close()
	var exists int
	if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", db).Scan(&exists); err != nil {
		return "", err
	}
	if exists == 0 {
		return "absent", nil
	}
	sum := sha256.New()
	for _, t := range tables {
		var name string
		var cs sql.NullInt64
		if err := r.db.QueryRowContext(ctx, "CHECKSUM TABLE "+quoteIdent(db)+"."+quoteIdent(t)).Scan(&name, &cs); err != nil {
			return "", fmt.Errorf("checksum %s.%s: %w", db, t, err)
		}
		fmt.Fprintf(sum, "%s=%d/%v\n", t, cs.Int64, cs.Valid)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

func (r *dumpRun) restore(ctx context.Context) (modules.Result, error) {
	dbs := r.args.Strings("databases")
	manifest, found, err := r.readManifest(ctx)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	if !found {
		return modules.Fail(fmt.Sprintf("refusing to restore: no manifest %s on %s, so the dumps cannot be verified", r.path(mysqldumpManifest), r.h.Name), nil), nil
	}
	// Verify every dump before touching any database.
	var problems []string
	entries := map[string]dumpEntry{}
	for _, d := range dbs {
		e, ok := manifest.find(d)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s has no dump in the manifest", d))
			continue
		}
		why, err := r.verify(ctx, e)
		if err != nil {
			return modules.Result{}, err
		}
		if why != "" {
			problems = append(problems, why)
		}
		entries[d] = e
	}
	if len(problems) > 0 {
		return modules.Fail("refusing to restore: "+strings.Join(problems, "; "), nil), nil
	}
	var state restoreState
	var buf bytes.Buffer
	if err := r.h.Conn.Get(ctx, r.path(mysqldumpRestoreState), &buf); err == nil {
		_ = json.Unmarshal(buf.Bytes(), &state)
	}
	if state == nil {
		state = restoreState{}
	}
	var todo []string
	for _, d := range dbs {
		prev, ok := state[d]
		// A database that still holds exactly what a restore of this very dump left needs no
		// second restore, recreate or not.
		if ok && prev.SHA256 == entries[d].SHA256 {
			fp, err := r.fingerprint(ctx, d)
			if err != nil {
				return modules.Fail(r.h.Mask(err.Error()), nil), nil
			}
			if fp == prev.Fingerprint {
				continue
			}
		}
		todo = append(todo, d)
	}
	data := map[string]any{"restored": anyList(todo)}
	if len(todo) == 0 {
		return modules.Result{Msg: fmt.Sprintf("%s already hold their verified dumps", strings.Join(dbs, ", ")), Data: data}, nil
	}
	if r.check {
		verb := "restore"
		if r.args.Bool("recreate") {
			verb = "drop, create and restore"
		}
		return modules.Result{Changed: true, Msg: fmt.Sprintf("dumps verified; would %s %s", verb, strings.Join(todo, ", ")), Data: data}, nil
	}
	var done []any
	for _, d := range todo {
		if r.args.Bool("recreate") {
			if _, err := r.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(d)); err != nil {
				return modules.Fail(r.h.Mask(fmt.Sprintf("drop database %s: %v", d, err)), data), nil
			}
		}
		if _, err := r.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(d)); err != nil {
			return modules.Fail(r.h.Mask(fmt.Sprintf("create database %s: %v", d, err)), data), nil
		}
		// The input redirect happens in a shell on the executing host; the options come
		// through a pipe (mysqldump_options.go).
		line := clientLine(r.args.String("mysql_cmd"), []string{d}, "< "+shellquote.QuoteIfNeeded(r.path(entries[d].File)))
		_, stderr, rc, err := r.shClient(ctx, line)
		if err != nil {
			return modules.Result{}, err
		}
		if rc != 0 {
			data["restored"] = done
			return modules.Fail(fmt.Sprintf("restore %s from %s on %s failed (rc %d): %s", d, r.path(entries[d].File), r.h.Name, rc, strings.TrimSpace(stderr)), data), nil
		}
		fp, err := r.fingerprint(ctx, d)
		if err != nil {
			return modules.Fail(r.h.Mask(err.Error()), data), nil
		}
		s := state[d]
		s.SHA256, s.Fingerprint, s.RestoredAt = entries[d].SHA256, fp, time.Now().UTC().Format(time.RFC3339)
		state[d] = s
		if err := r.writeJSON(ctx, mysqldumpRestoreState, state); err != nil {
			return modules.Fail(err.Error(), data), nil
		}
		done = append(done, d)
	}
	data["restored"] = done
	return modules.Result{Changed: true, Msg: fmt.Sprintf("restored %s from %s", joinAny(done), r.dir), Data: data}, nil
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func anyMap(m map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
