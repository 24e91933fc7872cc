package oms

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
)

// OMSReady waits, on the node that runs the container, until a freshly started OMS container
// is ready for its metadata initialisation, as OceanBase's deployer (obd) waits for it: the
// container log line that the service has started, then the health endpoint's data.healthy,
// and at least the guide's delay since the container started.
type OMSReady struct {
	// client, when set (tests only), makes the health requests.
	client *http.Client
}

// Name is the task key.
func (OMSReady) Name() string { return "oms_ready" }

// defaultStartedLine is the log line obd waits for before it polls the health endpoint.
const defaultStartedLine = "OMS service start successfully"

// Spec declares the arguments.
func (OMSReady) Spec() modules.Spec {
	return modules.Spec{
		Summary: "wait until a started OMS container is ready for docker_init.sh (log line, data.healthy, the guide's delay)",
		Description: `Three conditions, all of them, polled every interval until timeout: (1) the container's log since it
last started (what it wrote after its previous stop) holds log_line, which obd waits for; (2) GET
http://<ip>:<port><path> answers {"success":true,"data":{"healthy":true}}, which obd polls next;
(3) the container has been up for at least delay, the guide's "sleep 300" before
docker_init.sh (the console and the cluster manager come up well after nginx answers on 8089).
The delay is counted from docker's StartedAt, so clocks of controller and node are assumed in step.
A container that is not running fails at once with the end of its log. Progress (what is still
awaited, and the time left of the delay) goes to the output every 30 s, and on a terminal the
status line counts the delay down.`,
		CheckMode: "probes once without waiting and reports what is ready; a container that is missing or not running is unknown (an earlier task may create it), never a failure",
		Args: []modules.Arg{
			{Name: "container", Type: modules.String, Required: true, Doc: "the container to wait for"},
			{Name: "ip", Type: modules.String, Doc: "address of its health endpoint; default the host's oms_host_ip"},
			{Name: "port", Type: modules.Int, Default: 8089, Doc: "health port"},
			{Name: "path", Type: modules.String, Default: "/oms/health", Doc: "health path"},
			{Name: "log_line", Type: modules.String, Default: defaultStartedLine, Doc: "text the container log must hold (\"\" to skip)"},
			{Name: "delay", Type: modules.Duration, Default: 300 * time.Second, Doc: "least time since the container started (the guide sleeps 300 s)"},
			{Name: "timeout", Type: modules.Duration, Default: 900 * time.Second, Doc: "how long to wait (obd waits 900 s)"},
			{Name: "interval", Type: modules.Duration, Default: 2 * time.Second, Doc: "time between probes"},
			dockerCmdArg,
		},
		Returns: []modules.Field{
			{Name: "ready", Type: "bool", Doc: "all three conditions hold"},
			{Name: "log_line_seen", Type: "bool", Doc: "the log since the start holds log_line"},
			{Name: "healthy", Type: "bool", Doc: "the health endpoint says healthy"},
			{Name: "started_at", Type: "string", Doc: "docker's StartedAt of the container"},
			{Name: "uptime", Type: "float", Doc: "seconds since it started"},
			{Name: "waited", Type: "float", Doc: "seconds this task waited"},
		},
	}
}

// Check probes once.
func (m OMSReady) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, true)
}

// Apply waits until the container is ready or the timeout passes.
func (m OMSReady) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.run(ctx, h, args, false)
}

// readiness is one probe's picture.
type readiness struct {
	startedAt time.Time
	logSeen   bool
	health    nodeStatus
	uptime    time.Duration
}

func (r readiness) missing(logLine string, delay time.Duration) []string {
	var out []string
	if logLine != "" && !r.logSeen {
		out = append(out, fmt.Sprintf("log line %q not yet in the container log", logLine))
	}
	if !r.health.healthy {
		out = append(out, r.health.reason)
	}
	if r.uptime < delay {
		out = append(out, fmt.Sprintf("up %s of the %s delay (%s left)", r.uptime.Round(time.Second), delay, (delay-r.uptime).Round(time.Second)))
	}
	return out
}

func (m OMSReady) run(ctx context.Context, h *modules.Host, args modules.Args, check bool) (modules.Result, error) {
	name := args.String("container")
	ip := args.String("ip")
	if ip == "" {
		ip = fmt.Sprint(h.Vars["oms_host_ip"])
		if h.Vars["oms_host_ip"] == nil || ip == "" {
			return modules.Fail(fmt.Sprintf("host %s has no oms_host_ip variable: set it in the inventory or give ip", h.Name), nil), nil
		}
	}
	p := &onlineProber{client: m.client, path: args.String("path"), reqLimit: 5 * time.Second}
	if !strings.HasPrefix(p.path, "/") {
		p.path = "/" + p.path
	}
	if p.client == nil {
		p.client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	}
	node := onlineNode{Name: h.Name, IP: ip, Port: args.Int("port")}
	d := newDockerCLI(h, args)
	logLine, delay, timeout := args.String("log_line"), args.Duration("delay"), args.Duration("timeout")
	interval := max(args.Duration("interval"), 100*time.Millisecond)
	start := time.Now()
	var lastReport time.Time
	for {
		r, err := m.probe(ctx, d, p, node, name, logLine)
		if err != nil && check {
			// Under --check the container is often still to be created by an earlier task.
			return modules.Result{Unknown: true, Msg: h.Mask(err.Error()), Data: map[string]any{"ready": false}}, nil
		}
		if err != nil {
			return modules.Fail(h.Mask(err.Error()), nil), nil
		}
		waited := time.Since(start)
		missing := r.missing(logLine, delay)
		data := map[string]any{"ready": len(missing) == 0, "log_line_seen": r.logSeen, "healthy": r.health.healthy,
			"started_at": r.startedAt.Format(time.RFC3339Nano), "uptime": r.uptime.Round(time.Millisecond).Seconds(),
			"waited": waited.Round(time.Millisecond).Seconds()}
		switch {
		case len(missing) == 0:
			return modules.Result{Msg: fmt.Sprintf("container %s is ready (up %s, healthy, log line seen)", name, r.uptime.Round(time.Second)), Data: data}, nil
		case check:
			return modules.Result{Msg: fmt.Sprintf("container %s is not ready now: %s", name, strings.Join(missing, "; ")), Data: data}, nil
		case waited >= timeout:
			return modules.Fail(h.Mask(fmt.Sprintf("container %s was not ready after %s: %s", name, timeout, strings.Join(missing, "; "))), data), nil
		}
		// The status line counts the delay down (seconds of it that have passed).
		modules.Progress(ctx, int64(min(r.uptime, delay).Seconds()), int64(delay.Seconds()), "s of the delay")
		if lastReport.IsZero() || time.Since(lastReport) >= 30*time.Second {
			h.Output("stdout", h.Mask(fmt.Sprintf("oms_ready %s %s: waiting for %s", name, waited.Round(time.Second), strings.Join(missing, "; "))))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return modules.Result{}, fmt.Errorf("oms_ready interrupted after %s: %w", waited.Round(time.Second), ctx.Err())
		case <-time.After(min(interval, timeout-waited)):
		}
	}
}

// probe reads the container's state and log since its start and asks the health endpoint.
func (m OMSReady) probe(ctx context.Context, d dockerCLI, p *onlineProber, node onlineNode, name, logLine string) (readiness, error) {
	var r readiness
	ci, err := d.inspectContainer(ctx, name)
	if err != nil {
		return r, err
	}
	if ci == nil {
		return r, fmt.Errorf("container %s does not exist on %s: start it first", name, d.h.Name)
	}
	if !ci.State.Running {
		res, _ := d.run(ctx, "logs", "--tail", "20", name)
		tail := ""
		if res != nil {
			tail = lastLines(string(res.Stdout)+string(res.Stderr), 20)
		}
		return r, fmt.Errorf("container %s is %s (exit code %d), not starting: the end of its log:\n%s", name, ci.State.Status, ci.State.ExitCode, tail)
	}
	if r.startedAt, err = time.Parse(time.RFC3339Nano, ci.State.StartedAt); err != nil {
		return r, fmt.Errorf("container %s: docker's StartedAt %q: %w", name, ci.State.StartedAt, err)
	}
	r.uptime = max(time.Since(r.startedAt), 0)
	if logLine != "" {
		// The log of this start: what came after the previous stop. Not --since StartedAt:
		// docker records StartedAt after the process has begun, and a quick first line would
		// stand before it. A container that never stopped has only this start's log.
		args := []string{"logs"}
		if fin, err := time.Parse(time.RFC3339Nano, ci.State.FinishedAt); err == nil && fin.Year() > 1 && fin.Before(r.startedAt) {
			args = append(args, "--since", ci.State.FinishedAt)
		}
		res, err := d.run(ctx, append(args, name)...)
		if err != nil {
			return r, err
		}
		r.logSeen = res.RC == 0 && (strings.Contains(string(res.Stdout), logLine) || strings.Contains(string(res.Stderr), logLine))
	}
	r.health = p.probe(ctx, node)
	return r, nil
}
