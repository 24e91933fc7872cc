package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Workloads 6-9 measure the executor (transport/executor): omsbook with it on and off, the
// floor, Ansible and Ansible with mitogen, on loopback, behind a delaying proxy (a WAN's round
// trips), at 1,000 hosts, and strategy free against linear on hosts of mixed speed.

// ProxyPort is where the delaying proxies listen, on each host's own address.
const ProxyPort = 2322

// mitogenStrategy is the strategy plugin Debian's ansible-mitogen installs.
const mitogenStrategy = "mitogen_linear"

// executorRun is omsbookRun with the executor on or off.
func (h *Harness) executorRun(s setup, executor string, extra ...string) Proc {
	p := h.omsbookRun(s, extra...)
	p.Env = append(append([]string{}, p.Env...), "OMSBOOK_EXECUTOR="+executor)
	return p
}

// mitogenRun is ansibleRun with the mitogen_linear strategy.
func (h *Harness) mitogenRun(s setup) Proc {
	p := h.ansibleRun(s)
	p.Env = append(append([]string{}, p.Env...), "ANSIBLE_STRATEGY="+mitogenStrategy)
	return p
}

// hasMitogen reports whether Ansible can load the mitogen strategy.
func hasMitogen() bool {
	for _, p := range []string{"/usr/lib/python3/dist-packages/ansible/plugins/strategy/mitogen_linear.py",
		"/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy/mitogen_linear.py"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// contender is one tool in an alternating comparison: its run of the full play and of the
// play's first task alone.
type contender struct {
	tool      string
	full, one func() Proc
	ansible   bool // stop the ControlPersist masters after each run
	fulls     []Sample
	ones      []Sample
}

// alternate runs every contender's full and one-task play, rep after rep, checking each recap.
func (h *Harness) alternate(ctx context.Context, label string, cs []*contender, n, tasks int) error {
	for rep := range h.opt.Reps {
		for _, c := range cs {
			h.logf("%s %s rep %d/%d", label, c.tool, rep+1, h.opt.Reps)
			for _, run := range []struct {
				p     func() Proc
				tasks int
				into  *[]Sample
			}{{c.full, tasks, &c.fulls}, {c.one, 1, &c.ones}} {
				if run.p == nil {
					continue
				}
				sm, err := runChecked(ctx, run.p(), recapCheck(n, run.tasks))
				if c.ansible {
					h.stopAnsibleMasters()
				}
				if err != nil {
					return fmt.Errorf("%s: %w", c.tool, err)
				}
				*run.into = append(*run.into, sm)
			}
		}
	}
	return nil
}

// warmExecutor runs the one-task play once with the executor, before the timed runs, so that
// the hosts have it cached as they do after their first run; that first run (which uploads it)
// is recorded on its own.
func (h *Harness) warmExecutor(ctx context.Context, wl, name string, s1 setup, n int) error {
	h.logf("%s %s: first run with the executor (uploads it)", wl, name)
	sm, err := runChecked(ctx, h.executorRun(s1, "on"), recapCheck(n, 1))
	if err != nil {
		return fmt.Errorf("first run with the executor: %w", err)
	}
	h.record(wl, name+" (1 task, first run)", "omsbook+executor", []Sample{sm}, "the first run on hosts without the executor cached: it is uploaded")
	return nil
}

// marginal is the cost of each further task on open connections: (full - one) / (tasks - 1).
func marginal(full, one Measurement, tasks int) time.Duration {
	if tasks < 2 || full.MedianNS <= one.MedianNS {
		return 0
	}
	return time.Duration(full.MedianNS-one.MedianNS) / time.Duration(tasks-1)
}

func (h *Harness) commandContenders(s, s1 setup, withAnsible bool) []*contender {
	cs := []*contender{
		{tool: "omsbook+executor", full: func() Proc { return h.executorRun(s, "on") }, one: func() Proc { return h.executorRun(s1, "on") }},
		{tool: "omsbook", full: func() Proc { return h.executorRun(s, "off") }, one: func() Proc { return h.executorRun(s1, "off") }},
	}
	if withAnsible && h.opt.Ansible != "" {
		cs = append(cs, &contender{tool: "ansible", ansible: true, full: func() Proc { return h.ansibleRun(s) }, one: func() Proc { return h.ansibleRun(s1) }})
		if hasMitogen() {
			cs = append(cs, &contender{tool: "ansible+mitogen", ansible: true, full: func() Proc { return h.mitogenRun(s) }, one: func() Proc { return h.mitogenRun(s1) }})
		} else {
			h.note("ansible-mitogen is not installed (apt-get install ansible-mitogen): no mitogen figures")
		}
	}
	return cs
}

// workloadExecutor is workload 6: ExecHosts x Tasks `command: /bin/true` on loopback, omsbook
// with the executor and without, the floor, Ansible and Ansible + mitogen, alternately.
func (h *Harness) workloadExecutor(ctx context.Context) error {
	n, tasks := h.opt.ExecHosts, h.opt.Tasks
	s, err := h.writeCase(fmt.Sprintf("executor-%d", n), n, CommandPlaybook(tasks), nil)
	if err != nil {
		return err
	}
	s1, err := h.writeCase(fmt.Sprintf("executor-%d-one", n), n, CommandPlaybook(1), nil)
	if err != nil {
		return err
	}
	if err := h.writeAnsibleCfg(s.ansInv); err != nil {
		return err
	}
	if err := h.cleanExecutorCache(); err != nil {
		return err
	}
	if err := h.warmExecutor(ctx, "6 executor", fmt.Sprintf("%d hosts", n), s1, n); err != nil {
		return err
	}
	cs := h.commandContenders(s, s1, h.opt.ExecAnsible)
	var floor []Sample
	for rep := range h.opt.Reps {
		saved := h.opt.Reps
		h.opt.Reps = 1
		err := h.alternate(ctx, fmt.Sprintf("workload 6 N=%d (rep %d/%d)", n, rep+1, saved), cs, n, tasks)
		h.opt.Reps = saved
		if err != nil {
			return err
		}
		w, _, err := h.floorSample(ctx, n, tasks)
		if err != nil {
			return err
		}
		floor = append(floor, w)
	}
	const wl = "6 executor"
	name := fmt.Sprintf("%d hosts x %d tasks", n, tasks)
	mf := h.record(wl, name, "floor", floor, "x/crypto/ssh sessions on already-open connections")
	floorPer := time.Duration(mf.MedianNS) / time.Duration(n*tasks)
	ms := map[string]Measurement{}
	for _, c := range cs {
		full := h.record(wl, name, c.tool, c.fulls, "")
		one := h.record(wl, name+" (1 task)", c.tool, c.ones, "the play's first task alone")
		ms[c.tool] = full
		per := marginal(full, one, tasks) / time.Duration(n)
		extra := fmt.Sprintf("per host-task on open connections %s; floor %s; /floor %.2f", per.Round(10*time.Microsecond), floorPer.Round(10*time.Microsecond), float64(per)/float64(floorPer))
		if c.tool == "omsbook+executor" {
			extra += fmt.Sprintf(" (target <= 0.5: %s)", verdict(per > 0 && float64(per) <= 0.5*float64(floorPer)))
		}
		h.row(wl, name+" per host-task", Measurement{MedianNS: int64(per), Load: full.Load}, "floor", Measurement{MedianNS: int64(floorPer)}, c.tool+": "+extra)
	}
	x := ms["omsbook+executor"]
	for _, base := range []struct {
		tool   string
		target float64
	}{{"omsbook", 0}, {"ansible", 50}, {"ansible+mitogen", 30}} {
		b, ok := ms[base.tool]
		if !ok {
			continue
		}
		extra := "whole run, omsbook with the executor against " + base.tool
		if base.target > 0 {
			extra += fmt.Sprintf(" (target >= %.0fx: %s)", base.target, verdict(ratio(b, x) >= base.target))
		}
		h.row(wl, name, x, base.tool, b, extra)
	}
	return nil
}

// workloadLatency is workload 7: LatencyHosts x Tasks dependent commands through a delaying
// proxy per host (round trip LatencyRTT): omsbook with and without the executor, Ansible and
// Ansible + mitogen. Round trips per task = the marginal cost of a task / the round trip.
func (h *Harness) workloadLatency(ctx context.Context) error {
	n, tasks, rtt := h.opt.LatencyHosts, h.opt.Tasks, h.opt.LatencyRTT
	ph, stop, err := h.proxied(n, rtt/2)
	if err != nil {
		return err
	}
	defer stop()
	name := fmt.Sprintf("%d hosts x %d tasks, RTT %v", n, tasks, rtt)
	s, err := ph.writeCase(fmt.Sprintf("latency-%d", n), n, CommandPlaybook(tasks), nil)
	if err != nil {
		return err
	}
	s1, err := ph.writeCase(fmt.Sprintf("latency-%d-one", n), n, CommandPlaybook(1), nil)
	if err != nil {
		return err
	}
	if err := ph.writeAnsibleCfg(s.ansInv); err != nil {
		return err
	}
	if err := ph.cleanExecutorCache(); err != nil {
		return err
	}
	if err := ph.warmExecutor(ctx, "7 latency", name, s1, n); err != nil {
		return err
	}
	cs := ph.commandContenders(s, s1, true)
	if err := ph.alternate(ctx, "workload 7 "+name, cs, n, tasks); err != nil {
		return err
	}
	const wl = "7 latency"
	ms := map[string]Measurement{}
	for _, c := range cs {
		full := h.record(wl, name, c.tool, c.fulls, "")
		one := h.record(wl, name+" (1 task)", c.tool, c.ones, "the play's first task alone: connections, start-up, one task")
		ms[c.tool] = full
		per := marginal(full, one, tasks)
		rts := float64(per) / float64(rtt)
		extra := fmt.Sprintf("%s: a further task costs %s = %.2f round trips; connecting and the first task %s",
			c.tool, per.Round(time.Millisecond), rts, time.Duration(one.MedianNS).Round(time.Millisecond))
		if c.tool == "omsbook+executor" {
			extra += fmt.Sprintf(" (target <= 1.3 round trips: %s)", verdict(per > 0 && rts <= 1.3))
		}
		h.row(wl, name+" per task", Measurement{MedianNS: int64(per), Load: full.Load}, "round trip", Measurement{MedianNS: int64(rtt)}, extra)
	}
	x := ms["omsbook+executor"]
	for _, base := range []string{"omsbook", "ansible", "ansible+mitogen"} {
		if b, ok := ms[base]; ok {
			h.row(wl, name, x, base, b, "whole run, omsbook with the executor against "+base)
		}
	}
	return nil
}

// proxied is a harness whose hosts are hosts[:n] reached through delaying proxies on
// ProxyPort, with known_hosts and ssh_config of their own; stop ends the proxies.
func (h *Harness) proxied(n int, oneWay time.Duration) (*Harness, func(), error) {
	ph := *h
	ph.hosts = nil
	var proxies []*DelayProxy
	stop := func() {
		for _, p := range proxies {
			p.Close()
		}
	}
	var kh strings.Builder
	for i, hst := range h.hosts[:n] {
		p, err := StartDelayProxy(fmt.Sprintf("%s:%d", hst.Addr, ProxyPort), fmt.Sprintf("%s:%d", hst.Addr, hst.Port), oneWay)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("start the delaying proxy for %s: %w", hst.Name, err)
		}
		proxies = append(proxies, p)
		ph.hosts = append(ph.hosts, Host{Name: hst.Name, Addr: hst.Addr, Port: ProxyPort})
		line := h.cluster.Nodes[i].HostKeyLine
		kh.WriteString(strings.Replace(line, fmt.Sprintf("]:%d ", hst.Port), fmt.Sprintf("]:%d ", ProxyPort), 1) + "\n")
	}
	dir := filepath.Join(h.opt.WorkDir, "proxied")
	ph.access.KnownHosts = filepath.Join(dir, "known_hosts")
	ph.sshCfg = filepath.Join(dir, "ssh_config")
	if err := WriteFile(ph.access.KnownHosts, []byte(kh.String()), 0o644); err != nil {
		stop()
		return nil, nil, err
	}
	if err := WriteFile(ph.sshCfg, SSHConfig(ph.access, ClientKex(context.Background())), 0o644); err != nil {
		stop()
		return nil, nil, err
	}
	ph.res = h.res
	return &ph, stop, nil
}

// workloadExecutorScale is workload 8: ScaleHosts hosts (several per sshd) x Tasks, omsbook
// with the executor and without, peak RSS and open file descriptors.
func (h *Harness) workloadExecutorScale(ctx context.Context) error {
	n, tasks := h.opt.ExecScaleN, h.opt.Tasks
	sh := *h
	sh.hosts = nil
	for i := range n {
		nd := h.hosts[i%len(h.hosts)]
		sh.hosts = append(sh.hosts, Host{Name: fmt.Sprintf("scale%d", i+1), Addr: nd.Addr, Port: nd.Port})
	}
	s, err := sh.writeCase(fmt.Sprintf("xscale-%d", n), n, CommandPlaybook(tasks), nil)
	if err != nil {
		return err
	}
	s1, err := sh.writeCase(fmt.Sprintf("xscale-%d-one", n), n, CommandPlaybook(1), nil)
	if err != nil {
		return err
	}
	if err := sh.warmExecutor(ctx, "8 scale", fmt.Sprintf("%d hosts", n), s1, n); err != nil {
		return err
	}
	cs := sh.commandContenders(s, s1, false)
	before := h.maxStartupsLines()
	if err := sh.alternate(ctx, fmt.Sprintf("workload 8 N=%d", n), cs, n, tasks); err != nil {
		return err
	}
	const wl = "8 scale"
	name := fmt.Sprintf("%d hosts on %d sshd x %d tasks", n, len(h.hosts), tasks)
	for _, c := range cs {
		full := h.record(wl, name, c.tool, c.fulls, "")
		one := h.record(wl, name+" (1 task)", c.tool, c.ones, "the play's first task alone")
		per := marginal(full, one, tasks) / time.Duration(n)
		extra := fmt.Sprintf("%s: per host-task on open connections %s; peak RSS %d MB (target < 300 MB: %s); peak fds %d; every run's recap: all ok",
			c.tool, per.Round(10*time.Microsecond), full.HWMKB>>10, verdict(full.HWMKB > 0 && full.HWMKB < 300<<10), maxFDs(c.fulls))
		h.row(wl, name, full, "1 task", one, extra)
	}
	if throttled := h.maxStartupsLines() - before; throttled > 0 {
		h.note("workload 8: sshd logged %d MaxStartups throttling lines", throttled)
	}
	return nil
}

// cleanExecutorCache empties the hosts' executor cache, so that the first run uploads it.
func (h *Harness) cleanExecutorCache() error {
	return os.RemoveAll(filepath.Join(h.opt.WorkDir, "executor-cache"))
}

func maxFDs(samples []Sample) int {
	m := 0
	for _, s := range samples {
		m = max(m, s.PeakFDs)
	}
	return m
}

// FreePlaybook is workload 9's play: tasks commands on every host, where host i is slow (a
// sleep of slow) on every fifth task, each host on other ones, and fast (a sleep of fast)
// otherwise; strategy is "linear" or "free".
func FreePlaybook(tasks int, strategy string, slow, fast time.Duration) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "- name: bench mixed speed\n  hosts: all\n  gather_facts: false\n  strategy: %s\n  tasks:\n", strategy)
	for t := 1; t <= tasks; t++ {
		fmt.Fprintf(&b, "    - name: step %d\n      command: 'sleep {{ if eq (mod (atoi (trimPrefix \"bench\" .inventory_hostname)) 5) %d }}%.3f{{ else }}%.3f{{ end }}'\n",
			t, t%5, slow.Seconds(), fast.Seconds())
	}
	return []byte(b.String())
}

// workloadFree is workload 9: strategy free against linear on hosts of mixed speed, with the
// executor on.
func (h *Harness) workloadFree(ctx context.Context) error {
	n, tasks := min(h.opt.LatencyHosts, len(h.hosts)), h.opt.Tasks
	slow, fast := 500*time.Millisecond, 10*time.Millisecond
	lin, err := h.writeCase("free-linear", n, FreePlaybook(tasks, "linear", slow, fast), nil)
	if err != nil {
		return err
	}
	free, err := h.writeCase("free-free", n, FreePlaybook(tasks, "free", slow, fast), nil)
	if err != nil {
		return err
	}
	cs := []*contender{
		{tool: "linear", full: func() Proc { return h.executorRun(lin, "on") }},
		{tool: "free", full: func() Proc { return h.executorRun(free, "on") }},
	}
	if err := h.alternate(ctx, "workload 9", cs, n, tasks); err != nil {
		return err
	}
	const wl = "9 strategy"
	name := fmt.Sprintf("%d hosts x %d tasks, each host slow (%v) on every fifth task", n, tasks, slow)
	ml := h.record(wl, name, "omsbook linear", cs[0].fulls, "")
	mfr := h.record(wl, name, "omsbook free", cs[1].fulls, "")
	slowTasks := 0 // tasks on which some host is slow
	for t := 1; t <= tasks; t++ {
		for i := 1; i <= n; i++ {
			if i%5 == t%5 {
				slowTasks++
				break
			}
		}
	}
	h.row(wl, name, mfr, "linear", ml, fmt.Sprintf("free against linear; the least possible: free %v (each host's own sum), linear %v (each task waits for its slowest host)",
		time.Duration(tasks/5)*slow+time.Duration(tasks-tasks/5)*fast, time.Duration(slowTasks)*slow+time.Duration(tasks-slowTasks)*fast))
	return nil
}
