package oms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// WaitOnline waits until OMS nodes are Online: their health endpoint answers healthy and, with
// MetaDB arguments, the cm database marks them ONLINE with a fresh heartbeat.
type WaitOnline struct {
	// client, when set (tests only), replaces the HTTP client.
	client *http.Client
}

// Name is the task key.
func (WaitOnline) Name() string { return "wait_online" }

// Spec declares the arguments.
func (WaitOnline) Spec() modules.Spec {
	return modules.Spec{
		Summary: "wait until OMS nodes are Online (health endpoint, cm host status, heartbeat)",
		Description: `Polls every interval, from the controller, GET http://<ip>:<port><path> of each node and wants
{"success":true,"data":{"healthy":true}}. With MetaDB arguments and cm_db, the node's row in
<cm_db>.host must also say ONLINE, and with heartbeat_dbs its freshest heart_beat row must be
younger than heartbeat_max_age: a host has several rows (one per task_type and task_name of its
processes), and the newest of them across those databases is the host's last beat. nodes: a list of {name, ip[, port]} maps
or of IPs; by default the play's hosts (play_hosts) with hostvars[<host>].oms_host_ip. A live
progress line goes to the output when the picture changes (and every 30 s). On timeout the task
fails naming every node that is not Online with its last reason.`,
		CheckMode: "probes once without waiting and reports ok with the per-node status; the message names the nodes not Online now (it does not fail: waiting is what Apply is for)",
		// The MetaDB comes as metadb or dsn only: port is the health port here.
		Args: append(mysqlConnArgs(false)[:1:1],
			modules.Arg{Name: "dsn", Type: modules.String, Secret: true, Doc: "a go-sql-driver DSN instead of metadb; secret"},
			modules.Arg{Name: "nodes", Type: modules.List, Doc: "nodes to wait for: [{name, ip, port}] or [ip]; default: the play's hosts and their oms_host_ip"},
			modules.Arg{Name: "port", Type: modules.Int, Default: 8089, Doc: "health port"},
			modules.Arg{Name: "path", Type: modules.String, Default: "/oms/health", Doc: "health path"},
			modules.Arg{Name: "cm_db", Type: modules.String, Doc: "cm database whose host table must say ONLINE (needs MetaDB arguments)"},
			modules.Arg{Name: "heartbeat_dbs", Type: modules.StringList, Doc: "heartbeat databases (one per region) in which the host's newest heart_beat row must be fresh"},
			modules.Arg{Name: "heartbeat_max_age", Type: modules.Duration, Default: 30 * time.Second, Doc: "oldest acceptable heartbeat"},
			modules.Arg{Name: "timeout", Type: modules.Duration, Default: 900 * time.Second, Doc: "how long to wait (obd waits 900 s)"},
			modules.Arg{Name: "interval", Type: modules.Duration, Default: 2 * time.Second, Doc: "time between probes"},
		),
		Returns: []modules.Field{
			{Name: "nodes", Type: "list", Doc: "per node: {name, ip, online, reason, healthy, status, version, host_status, heartbeat_age (seconds or null)}"},
			{Name: "online", Type: "bool", Doc: "every node is Online"},
			{Name: "elapsed", Type: "float", Doc: "seconds waited"},
		},
	}
}

// onlineNode is one node to wait for.
type onlineNode struct {
	Name string
	IP   string
	Port int
}

// nodeStatus is what one probe found.
type nodeStatus struct {
	node         onlineNode
	online       bool
	reason       string
	healthy      bool
	status       string
	version      string
	hostStatus   string
	heartbeatAge *float64
}

func (s nodeStatus) data() map[string]any {
	d := map[string]any{"name": s.node.Name, "ip": s.node.IP, "online": s.online, "reason": s.reason, "healthy": s.healthy,
		"status": s.status, "version": s.version, "host_status": s.hostStatus, "heartbeat_age": nil}
	if s.heartbeatAge != nil {
		d["heartbeat_age"] = *s.heartbeatAge
	}
	return d
}

// Check probes once.
func (m WaitOnline) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply waits until every node is Online or the timeout passes.
func (m WaitOnline) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

func (m WaitOnline) nodes(h *modules.Host, args modules.Args) ([]onlineNode, error) {
	port := args.Int("port")
	var out []onlineNode
	if args.Has("nodes") {
		for i, n := range args.List("nodes") {
			switch x := n.(type) {
			case string:
				out = append(out, onlineNode{Name: x, IP: x, Port: port})
			case map[string]any:
				node := onlineNode{Port: port}
				if v, ok := x["ip"]; ok {
					node.IP = fmt.Sprint(v)
				}
				node.Name = node.IP
				if v, ok := x["name"]; ok {
					node.Name = fmt.Sprint(v)
				}
				if v, ok := x["port"]; ok {
					p, err := modules.Int.Coerce(v)
					if err != nil {
						return nil, fmt.Errorf("nodes[%d].port: %w", i, err)
					}
					node.Port = p.(int)
				}
				if node.IP == "" {
					return nil, fmt.Errorf("nodes[%d] has no ip: write {name: oms-hz-1, ip: 10.0.0.11}", i)
				}
				out = append(out, node)
			default:
				return nil, fmt.Errorf("nodes[%d]: want an IP or a {name, ip} map, got %v", i, n)
			}
		}
		return out, nil
	}
	var names []string
	switch ph := h.Vars["play_hosts"].(type) {
	case []string:
		names = ph
	case []any:
		for _, n := range ph {
			names = append(names, fmt.Sprint(n))
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no nodes: give nodes: [{name, ip}], or run in a play whose hosts have oms_host_ip")
	}
	hostvars, _ := h.Vars["hostvars"].(map[string]any)
	for _, name := range names {
		hv, _ := hostvars[name].(map[string]any)
		ip, ok := hv["oms_host_ip"]
		if !ok || fmt.Sprint(ip) == "" {
			return nil, fmt.Errorf("host %s has no oms_host_ip variable: set it in the inventory or give nodes: explicitly", name)
		}
		out = append(out, onlineNode{Name: name, IP: fmt.Sprint(ip), Port: port})
	}
	return out, nil
}

type onlineProber struct {
	client   *http.Client
	path     string
	db       *sql.DB
	cmDB     string
	hbDBs    []string
	maxAge   time.Duration
	useMeta  bool
	reqLimit time.Duration
}

func (m WaitOnline) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	nodes, err := m.nodes(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	p := &onlineProber{client: m.client, path: args.String("path"), cmDB: args.String("cm_db"), hbDBs: args.Strings("heartbeat_dbs"), maxAge: args.Duration("heartbeat_max_age")}
	if !strings.HasPrefix(p.path, "/") {
		p.path = "/" + p.path
	}
	interval := args.Duration("interval")
	if interval <= 0 {
		interval = 2 * time.Second
	}
	p.reqLimit = min(max(interval, time.Second), 10*time.Second)
	if p.client == nil {
		p.client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	}
	if (p.cmDB != "" || len(p.hbDBs) > 0) && !mysqlConnGiven(args) {
		return modules.Fail("cm_db and heartbeat_dbs need the MetaDB: give metadb: {host, port, user, password}", nil), nil
	}
	if mysqlConnGiven(args) && (p.cmDB != "" || len(p.hbDBs) > 0) {
		metaArgs := modules.Args{}
		for _, k := range []string{"metadb", "dsn"} {
			if v, ok := args[k]; ok {
				metaArgs[k] = v
			}
		}
		target, err := resolveMySQL(h, metaArgs, "")
		if err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
		if p.db, err = target.open(ctx); err != nil {
			return modules.Fail(h.Mask(err.Error()), nil), nil
		}
		defer p.db.Close()
		p.useMeta = true
	}
	start := time.Now()
	timeout := args.Duration("timeout")
	var lastSummary string
	var lastReport time.Time
	for {
		statuses := p.probeAll(ctx, nodes)
		elapsed := time.Since(start)
		var waiting []string
		var online int
		var list []any
		for _, s := range statuses {
			list = append(list, s.data())
			if s.online {
				online++
			} else {
				waiting = append(waiting, fmt.Sprintf("%s (%s): %s", s.node.Name, s.node.IP, s.reason))
			}
		}
		data := map[string]any{"nodes": list, "online": online == len(nodes), "elapsed": elapsed.Round(time.Millisecond).Seconds()}
		modules.Progress(ctx, int64(online), int64(len(nodes)), "nodes Online")
		summary := fmt.Sprintf("%d/%d Online", online, len(nodes))
		if len(waiting) > 0 {
			summary += "; waiting for " + strings.Join(waiting, "; ")
		}
		switch {
		case online == len(nodes):
			return modules.Result{Msg: fmt.Sprintf("all %d node(s) Online after %s", len(nodes), elapsed.Round(time.Second)), Data: data}, nil
		case check:
			return modules.Result{Msg: fmt.Sprintf("not Online now (%d/%d): %s", online, len(nodes), strings.Join(waiting, "; ")), Data: data}, nil
		case elapsed >= timeout:
			return modules.Fail(h.Mask(fmt.Sprintf("timed out after %s: %d of %d node(s) not Online: %s", timeout, len(waiting), len(nodes), strings.Join(waiting, "; "))), data), nil
		}
		if summary != lastSummary || time.Since(lastReport) >= 30*time.Second {
			h.Output("stdout", h.Mask(fmt.Sprintf("wait_online %s: %s", elapsed.Round(time.Second), summary)))
			lastSummary, lastReport = summary, time.Now()
		}
		wait := min(interval, timeout-elapsed)
		select {
		case <-ctx.Done():
			return modules.Result{}, fmt.Errorf("wait_online interrupted after %s: %w", elapsed.Round(time.Second), ctx.Err())
		case <-time.After(wait):
		}
	}
}

func (p *onlineProber) probeAll(ctx context.Context, nodes []onlineNode) []nodeStatus {
	out := make([]nodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = p.probe(ctx, n)
		}()
	}
	wg.Wait()
	return out
}

// healthReply is the OMS health answer; success may be a bool or the string "true".
type healthReply struct {
	Success any `json:"success"`
	Data    struct {
		Healthy any    `json:"healthy"`
		Version string `json:"version"`
		Status  string `json:"status"`
	} `json:"data"`
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

func (p *onlineProber) probe(ctx context.Context, n onlineNode) nodeStatus {
	s := nodeStatus{node: n}
	var reasons []string
	url := "http://" + net.JoinHostPort(n.IP, strconv.Itoa(n.Port)) + p.path
	rctx, cancel := context.WithTimeout(ctx, p.reqLimit)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	resp, err := p.client.Do(req)
	if err != nil {
		reasons = append(reasons, "health: "+shortNetError(err))
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var hr healthReply
		switch {
		case resp.StatusCode != http.StatusOK:
			reasons = append(reasons, fmt.Sprintf("health: HTTP %d", resp.StatusCode))
		case json.Unmarshal(body, &hr) != nil:
			reasons = append(reasons, "health: the answer is not JSON: "+firstLine(string(body), 80))
		default:
			s.status, s.version = hr.Data.Status, hr.Data.Version
			s.healthy = truthy(hr.Success) && truthy(hr.Data.Healthy)
			if !s.healthy {
				r := fmt.Sprintf("health: healthy=%v", hr.Data.Healthy)
				if hr.Data.Status != "" {
					r += " (status " + hr.Data.Status + ")"
				}
				reasons = append(reasons, r)
			}
		}
	}
	if p.useMeta {
		reasons = append(reasons, p.metaReasons(ctx, &s)...)
	}
	s.online = len(reasons) == 0
	s.reason = strings.Join(reasons, ", ")
	if s.online {
		s.reason = "Online"
	}
	return s
}

func (p *onlineProber) metaReasons(ctx context.Context, s *nodeStatus) []string {
	var reasons []string
	if p.cmDB != "" {
		var status sql.NullString
		err := p.db.QueryRowContext(ctx, "SELECT host_status FROM "+quoteIdent(p.cmDB)+".host WHERE ip = ?", s.node.IP).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			reasons = append(reasons, "no row in "+p.cmDB+".host")
		case err != nil:
			reasons = append(reasons, "cm host: "+err.Error())
		default:
			s.hostStatus = status.String
			if !strings.EqualFold(status.String, "ONLINE") {
				reasons = append(reasons, "host_status "+status.String)
			}
		}
	}
	if len(p.hbDBs) > 0 {
		var best *float64
		var errs []string
		for _, hb := range p.hbDBs {
			var micros sql.NullInt64
			err := p.db.QueryRowContext(ctx, "SELECT TIMESTAMPDIFF(MICROSECOND, MAX(gmt_modified), NOW(3)) FROM "+quoteIdent(hb)+".heart_beat WHERE host_ip = ?", s.node.IP).Scan(&micros)
			if errors.Is(err, sql.ErrNoRows) || err == nil && !micros.Valid {
				continue
			}
			if err != nil {
				errs = append(errs, hb+": "+err.Error())
				continue
			}
			age := float64(micros.Int64) / 1e6
			if best == nil || age < *best {
				best = &age
			}
		}
		s.heartbeatAge = best
		switch {
		case best == nil && len(errs) > 0:
			reasons = append(reasons, "heartbeat: "+strings.Join(errs, "; "))
		case best == nil:
			reasons = append(reasons, "no heartbeat row in "+strings.Join(p.hbDBs, ", "))
		case *best > p.maxAge.Seconds():
			reasons = append(reasons, fmt.Sprintf("heartbeat %.0fs old (max %s)", *best, p.maxAge))
		}
	}
	return reasons
}

// shortNetError keeps the useful end of a network error ("connection refused").
func shortNetError(err error) string {
	msg := err.Error()
	for _, tail := range []string{"connection refused", "no route to host", "i/o timeout", "context deadline exceeded", "connection reset by peer", "EOF"} {
		if strings.Contains(msg, tail) {
			return tail
		}
	}
	return msg
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
