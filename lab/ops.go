package lab

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Health is what a node's /oms/health answered.
type Health struct {
	Success bool   `json:"success"`
	Healthy bool   `json:"healthy"`
	Version string `json:"version"`
	Status  string `json:"status"`
}

// healthClient asks one question per connection: a lab node may go away at any time.
var healthClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// HealthURL is the node's health endpoint.
func (n *Node) HealthURL() string {
	return "http://" + net.JoinHostPort(n.IP, "8089") + "/oms/health"
}

// Health asks a node's OMS container how it is (GET http://<ip>:8089/oms/health).
func (l *Lab) Health(ctx context.Context, node string) (*Health, error) {
	n, err := l.mustNode(node)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.HealthURL(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lab %s: health of %s: %w", l.Name, node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("lab %s: health of %s: %w", l.Name, node, err)
	}
	var reply struct {
		Success json.RawMessage `json:"success"`
		Data    struct {
			Healthy bool   `json:"healthy"`
			Version string `json:"version"`
			Status  string `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("lab %s: health of %s: HTTP %d, not the OMS reply (%w): %.200s", l.Name, node, resp.StatusCode, err, body)
	}
	// OMS sometimes sends success as the string "true".
	success := string(reply.Success) == "true" || string(reply.Success) == `"true"`
	return &Health{Success: success, Healthy: reply.Data.Healthy, Version: reply.Data.Version, Status: reply.Data.Status}, nil
}

// faultName is what a fault file may be called.
var faultName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// FaultPath is the host path of a node's fault file: the simulator reads
// /home/ds/run/omssim-faults/<fault> in its container, which is <mount_dir>/run/omssim-faults
// on the host.
func (n *Node) FaultPath(fault string) string {
	return filepath.Join(n.MountDir, "run", "omssim-faults", fault)
}

// SetFault switches a simulator fault on for a node by writing value to its fault file (see
// lab/README.md for the faults the simulator knows and what their values mean).
func (l *Lab) SetFault(node, fault, value string) error {
	n, err := l.mustNode(node)
	if err != nil {
		return err
	}
	if !faultName.MatchString(fault) {
		return fmt.Errorf("lab %s: fault name %q: use lower-case letters, digits, - and _", l.Name, fault)
	}
	path := n.FaultPath(fault)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("lab %s: set fault %s on %s: %w", l.Name, fault, node, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(value), 0o644); err != nil {
		return fmt.Errorf("lab %s: set fault %s on %s: %w", l.Name, fault, node, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("lab %s: set fault %s on %s: %w", l.Name, fault, node, err)
	}
	return nil
}

// ClearFault switches a fault off for a node ("" clears every fault of the node).
func (l *Lab) ClearFault(node, fault string) error {
	n, err := l.mustNode(node)
	if err != nil {
		return err
	}
	if fault == "" {
		if err := os.RemoveAll(filepath.Dir(n.FaultPath("x"))); err != nil {
			return fmt.Errorf("lab %s: clear faults on %s: %w", l.Name, node, err)
		}
		return nil
	}
	if err := os.Remove(n.FaultPath(fault)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab %s: clear fault %s on %s: %w", l.Name, fault, node, err)
	}
	return nil
}

// StopSSH stops a node's sshd, as if the node went unreachable; open connections break too.
func (l *Lab) StopSSH(node string) error {
	n, err := l.mustNode(node)
	if err != nil {
		return err
	}
	if err := l.stopSSH(n); err != nil {
		return err
	}
	return l.save()
}

// StartSSH starts a node's sshd again after StopSSH. It needs the lab brought up by Up in this
// process (a lab re-opened with Load cannot restart nodes).
func (l *Lab) StartSSH(ctx context.Context, node string) error {
	n, err := l.mustNode(node)
	if err != nil {
		return err
	}
	if l.cluster == nil {
		return fmt.Errorf("lab %s: StartSSH needs the lab brought up by Up in this process; bring it up again with `omslab up` instead", l.Name)
	}
	for i, cn := range l.cluster.Nodes {
		if cn.Addr == n.IP {
			if err := l.cluster.StartNode(ctx, i); err != nil {
				return err
			}
			n.SSHPid = cn.Pid()
			return l.save()
		}
	}
	return fmt.Errorf("lab %s: no sshd for %s", l.Name, node)
}

// OpenDB opens a connection pool to one of the lab's databases ("" for none).
func (l *Lab) OpenDB(ctx context.Context, database string) (*sql.DB, error) {
	return l.MetaDBServer().Open(ctx, database)
}

// TableChecksums returns CHECKSUM TABLE of every table of every lab database, keyed
// "database.table". Two calls compare equal when the data is the same, byte for byte.
func (l *Lab) TableChecksums(ctx context.Context) (map[string]int64, error) {
	db, err := l.OpenDB(ctx, "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[string]int64{}
	for _, name := range l.DB.All() {
		tables, err := tablesOf(ctx, db, name)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			var table string
			var sum sql.NullInt64
			q := "CHECKSUM TABLE `" + name + "`.`" + t + "`"
			if err := db.QueryRowContext(ctx, q).Scan(&table, &sum); err != nil {
				return nil, fmt.Errorf("lab %s: %s: %w", l.Name, q, err)
			}
			out[name+"."+t] = sum.Int64
		}
	}
	return out, nil
}

// tablesOf lists the base tables of a database, sorted.
func tablesOf(ctx context.Context, db *sql.DB, database string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", database)
	if err != nil {
		return nil, fmt.Errorf("lab: list tables of %s: %w", database, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// Check returns nil when every part of the lab is up: each node's sshd, its old container
// running and healthy, and the MetaDB answering. Otherwise it names what is not.
func (l *Lab) Check(ctx context.Context) error {
	var errs []error
	db, err := l.OpenDB(ctx, "")
	if err != nil {
		errs = append(errs, err)
	} else {
		db.Close()
	}
	for _, n := range l.Nodes {
		if n.SSHPid == 0 || !pidRuns(n.SSHPid, n.SSHConfig) {
			errs = append(errs, fmt.Errorf("%s: sshd not running", n.Name))
		} else if !listening(ctx, net.JoinHostPort(n.IP, strconv.Itoa(l.SSHPort))) {
			errs = append(errs, fmt.Errorf("%s: sshd not listening on %s:%d", n.Name, n.IP, l.SSHPort))
		}
		if st := containerState(ctx, n.OldContainer); st != "running" {
			errs = append(errs, fmt.Errorf("%s: container %s is %q, not running", n.Name, n.OldContainer, st))
			continue
		}
		h, err := l.Health(ctx, n.Name)
		if err != nil {
			errs = append(errs, err)
		} else if !h.Healthy {
			errs = append(errs, fmt.Errorf("%s: not healthy (status %q)", n.Name, h.Status))
		}
	}
	return errors.Join(errs...)
}

func listening(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Status is a snapshot of a lab for `omslab status`.
type Status struct {
	MetaDB string // "up" or the error
	Nodes  []NodeStatus
	// OK: the MetaDB answers and every node has its sshd and one healthy container.
	OK bool
}

// NodeStatus is one node's line of a Status.
type NodeStatus struct {
	Name, Region, IP string
	SSHD             string // "up" or "down"
	Old, New         string // container states ("running", "exited", "-" for none)
	Health           string // "healthy", "unhealthy (<status>)" or the error
}

// Status looks at every part of the lab without changing anything.
func (l *Lab) Status(ctx context.Context) *Status {
	st := &Status{MetaDB: "up", OK: true}
	if db, err := l.OpenDB(ctx, ""); err != nil {
		st.MetaDB, st.OK = err.Error(), false
	} else {
		db.Close()
	}
	for _, n := range l.Nodes {
		ns := NodeStatus{Name: n.Name, Region: n.Region, IP: n.IP, SSHD: "down", Old: "-", New: "-"}
		if n.SSHPid != 0 && pidRuns(n.SSHPid, n.SSHConfig) && listening(ctx, net.JoinHostPort(n.IP, strconv.Itoa(l.SSHPort))) {
			ns.SSHD = "up"
		} else {
			st.OK = false
		}
		if s := containerState(ctx, n.OldContainer); s != "" {
			ns.Old = s
		}
		if s := containerState(ctx, n.NewContainer); s != "" {
			ns.New = s
		}
		h, err := l.Health(ctx, n.Name)
		switch {
		case err != nil:
			ns.Health, st.OK = "no answer", false
		case h.Healthy:
			ns.Health = strings.TrimSpace("healthy " + h.Version) // strict health gives no version
		default:
			ns.Health, st.OK = fmt.Sprintf("unhealthy (%s)", h.Status), false
		}
		st.Nodes = append(st.Nodes, ns)
	}
	return st
}

// InitRun is one run of docker_init.sh or of the V4.1.0 upgrade/rollback scripts, as the
// simulator records it in <cm_db>.init_record (a table of the lab, not of the product).
type InitRun struct {
	NodeIP, Region, From, To, Result string // Result: SUCCESS or FAILED
	ConfigID                         string // the config file's identity (content hash @ device:inode)
	Message                          string // the error, or omssim.MsgInitRerun for a strict rerun
}

// InitRuns reads every recorded script run, oldest first. A test proving that init ran once
// per region counts the SUCCESS rows with To == l.NewVersion per Region (or per ConfigID).
func (l *Lab) InitRuns(ctx context.Context) ([]InitRun, error) {
	db, err := l.OpenDB(ctx, l.DB.CM)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT node_ip, region, COALESCE(from_version, ''), COALESCE(to_version, ''), result, COALESCE(config_id, ''), COALESCE(message, '') FROM init_record ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("lab %s: read %s.init_record: %w", l.Name, l.DB.CM, err)
	}
	defer rows.Close()
	var out []InitRun
	for rows.Next() {
		var r InitRun
		if err := rows.Scan(&r.NodeIP, &r.Region, &r.From, &r.To, &r.Result, &r.ConfigID, &r.Message); err != nil {
			return nil, fmt.Errorf("lab %s: read init_record: %w", l.Name, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
