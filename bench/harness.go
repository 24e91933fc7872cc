package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/lab/sshd"
)

// Options say what to run. Zero values take the full benchmark's settings (Defaults).
type Options struct {
	Reps        int   // repetitions of each timed run (alternating tools)
	StartupReps int   // repetitions of the startup measurements
	CommandNs   []int // workload 1 host counts
	Tasks       int   // tasks per play in workloads 1 and 5
	CopyHosts   int   // workload 3 hosts
	CopyMB      int   // workload 3 file size
	DumpMB      int   // workload 4 database size (MB of data + index)
	ScaleN      int   // workload 5 host count
	// Workloads 6-9 (the executor): host counts, the round trip of workload 7's proxies, and
	// whether workload 6 times Ansible too (about 100 s a run at 50 x 10).
	ExecHosts    int
	ExecAnsible  bool
	LatencyHosts int
	LatencyRTT   time.Duration
	ExecScaleN   int
	// Workloads limits the run to these workload numbers ("1".."5"); empty means all.
	Workloads []string
	WorkDir   string // state: sshd, inventories, ansible files, copies, dumps
	Omsbook   string // the omsbook binary
	Ansible   string // ansible-playbook; "" skips Ansible (then the ratios are missing)
	Scp       string // scp
	Mysqldump string // the bare mysqldump client
	Log       io.Writer
}

// Defaults is the full benchmark; Quick the small one for checking the harness.
func Defaults() Options {
	return Options{Reps: 3, StartupReps: 10, CommandNs: []int{1, 10, 50}, Tasks: 10, CopyHosts: 10, CopyMB: 100, DumpMB: 200, ScaleN: 200,
		ExecHosts: 50, ExecAnsible: true, LatencyHosts: 20, LatencyRTT: 40 * time.Millisecond, ExecScaleN: 1000}
}

// Quick is a fast pass over every workload with small sizes and one repetition.
func Quick() Options {
	return Options{Reps: 1, StartupReps: 3, CommandNs: []int{1, 5}, Tasks: 10, CopyHosts: 3, CopyMB: 10, DumpMB: 20, ScaleN: 20,
		ExecHosts: 5, LatencyHosts: 3, LatencyRTT: 40 * time.Millisecond, ExecScaleN: 20}
}

// Basepath of the benchmark hosts: 127.0.1.1 .. 127.0.1.200, port 2222 (the lab and the tests
// use 127.0.0.x).
const (
	hostNet  = "127.0.1."
	MaxHosts = 200
	HostPort = 2222
)

// Measurement is the samples of one tool on one case.
type Measurement struct {
	Workload string   `json:"workload"`
	Case     string   `json:"case"`
	Tool     string   `json:"tool"`
	Samples  []Sample `json:"samples"`
	MedianNS int64    `json:"median_ns"`
	CPUNS    int64    `json:"median_cpu_ns"`
	MaxRSSKB int64    `json:"max_rss_kb"` // wait4's ru_maxrss: see Sample.MaxRSSKB
	HWMKB    int64    `json:"hwm_kb"`     // VmHWM of the process alone: its peak RSS
	Note     string   `json:"note,omitempty"`
	// Load is /proc/loadavg's 1-minute figure when the measurement ended: other work on the
	// machine slows both tools, Ansible (CPU-bound) more.
	Load float64 `json:"load1"`
}

// Row is one line of the printed table: omsbook against a baseline.
type Row struct {
	Workload string  `json:"workload"`
	Case     string  `json:"case"`
	Omsbook  int64   `json:"omsbook_ns"`
	Baseline string  `json:"baseline"`
	Base     int64   `json:"baseline_ns"`
	Ratio    float64 `json:"ratio"` // baseline / omsbook: above 1 means omsbook is faster
	Extra    string  `json:"extra,omitempty"`
	Load     float64 `json:"load1"` // the machine's 1-minute load when the case ended
}

// Results is what a run leaves in results.json.
type Results struct {
	Started      time.Time     `json:"started"`
	Machine      Machine       `json:"machine"`
	Options      Options       `json:"options"`
	Measurements []Measurement `json:"measurements"`
	Rows         []Row         `json:"rows"`
	Notes        []string      `json:"notes"`
}

// Harness runs the workloads on one set of nodes.
type Harness struct {
	opt     Options
	cluster *sshd.Cluster
	hosts   []Host
	access  Access
	env     []string // the clean environment both tools run in
	sshCfg  string
	res     *Results
}

// Run starts the nodes, runs the workloads asked for and stops every node it started, also
// when ctx is cancelled or a workload fails. The results gathered so far are returned even on
// error.
func Run(ctx context.Context, opt Options) (res *Results, err error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	res = &Results{Started: time.Now().UTC(), Options: opt, Machine: DescribeMachine(ctx, opt)}
	h := &Harness{opt: opt, res: res}
	n := 1
	if h.wants("1") {
		for _, c := range opt.CommandNs {
			n = max(n, c)
		}
	}
	if h.wants("3") {
		n = max(n, opt.CopyHosts)
	}
	if h.wants("5") {
		n = max(n, opt.ScaleN)
	}
	if h.wants("6") {
		n = max(n, opt.ExecHosts)
	}
	if h.wants("7") || h.wants("9") {
		n = max(n, opt.LatencyHosts)
	}
	if h.wants("8") {
		// Several hosts per sshd: as many sshd as workload 6 uses, at most 50.
		n = max(n, min(opt.ExecScaleN, max(opt.ExecHosts, 50)))
	}
	if n > MaxHosts {
		return res, fmt.Errorf("%d hosts asked for: the benchmark has addresses for %d (127.0.1.1-%d)", n, MaxHosts, MaxHosts)
	}
	if err := h.start(ctx, n); err != nil {
		return res, err
	}
	defer func() {
		h.stopAnsibleMasters()
		if serr := h.cluster.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the sshd nodes: %w", serr))
		}
		h.logf("stopped %d sshd nodes", len(h.cluster.Nodes))
	}()
	for _, w := range []struct {
		id  string
		run func(context.Context) error
	}{
		{"1", h.workloadCommand},
		{"2", h.workloadStartup},
		{"3", h.workloadCopy},
		{"4", h.workloadDump},
		{"5", h.workloadScale},
		{"6", h.workloadExecutor},
		{"7", h.workloadLatency},
		{"8", h.workloadExecutorScale},
		{"9", h.workloadFree},
	} {
		if !h.wants(w.id) {
			continue
		}
		if err := w.run(ctx); err != nil {
			return res, fmt.Errorf("workload %s: %w", w.id, err)
		}
	}
	return res, nil
}

func (h *Harness) wants(id string) bool {
	if len(h.opt.Workloads) == 0 {
		return true
	}
	for _, w := range h.opt.Workloads {
		if w == id {
			return true
		}
	}
	return false
}

func (h *Harness) logf(format string, args ...any) {
	fmt.Fprintf(h.opt.Log, "omsbench: "+format+"\n", args...)
}

func (h *Harness) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	h.res.Notes = append(h.res.Notes, s)
	h.logf("note: %s", s)
}

// start starts n sshd nodes and writes the files both tools share.
func (h *Harness) start(ctx context.Context, n int) error {
	if err := os.MkdirAll(h.opt.WorkDir, 0o755); err != nil {
		return fmt.Errorf("create the work dir: %w", err)
	}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = hostNet + strconv.Itoa(i+1)
	}
	h.logf("starting %d sshd nodes on %s1-%d:%d", n, hostNet, n, HostPort)
	t0 := time.Now()
	cfg := sshd.Config{Dir: filepath.Join(h.opt.WorkDir, "sshd"), Addrs: addrs, Port: HostPort, NamePrefix: "bench"}
	if h.wants("8") {
		// Workload 8 puts many hosts on each sshd: their logins come at once.
		cfg.ExtraConfig = []string{"MaxStartups 400:30:800", "MaxSessions 50"}
	}
	c, err := sshd.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("start the nodes: %w", err)
	}
	h.cluster = c
	h.logf("nodes up in %s", time.Since(t0).Round(time.Millisecond))
	for _, nd := range c.Nodes {
		h.hosts = append(h.hosts, Host{Name: nd.Name, Addr: nd.Addr, Port: nd.Port})
	}
	h.access = Access{User: c.User, ClientKey: c.ClientKey, KnownHosts: c.KnownHosts}
	home := filepath.Join(h.opt.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	// Both tools run with the same small environment and an empty HOME: nothing from the
	// calling shell (pyenv shims on PATH, ANSIBLE_* variables, ~/.ansible.cfg) changes them.
	h.env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home,
		"USER=root",
		"LANG=C.UTF-8",
		"ANSIBLE_CONFIG=" + filepath.Join(h.opt.WorkDir, "ansible", "ansible.cfg"),
		// Where the hosts cache omsbook's executor (they share this machine's disk).
		"OMSBOOK_EXECUTOR_DIR=" + filepath.Join(h.opt.WorkDir, "executor-cache"),
	}
	h.sshCfg = filepath.Join(h.opt.WorkDir, "ssh_config")
	return WriteFile(h.sshCfg, SSHConfig(h.access, ClientKex(ctx)), 0o644)
}

// ClientKex is the key exchange order the OpenSSH client (Ansible, scp) is given: the same
// preference as omsbook (curve25519 first), limited to what the installed client knows.
func ClientKex(ctx context.Context) []string {
	out, err := exec.CommandContext(ctx, "ssh", "-Q", "kex").Output()
	if err != nil {
		return nil
	}
	have := map[string]bool{}
	for _, k := range strings.Fields(string(out)) {
		have[k] = true
	}
	var list []string
	for _, k := range []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "mlkem768x25519-sha256", "sntrup761x25519-sha512@openssh.com", "ecdh-sha2-nistp256"} {
		if have[k] {
			list = append(list, k)
		}
	}
	return list
}

// setup is the files of one case, for both tools.
type setup struct {
	omsInv, ansInv, playbook string
}

// writeCase writes inventories for hosts[:n] and the playbook text under WorkDir/<name>.
func (h *Harness) writeCase(name string, n int, playbook []byte, omsVars map[string]any) (setup, error) {
	return h.writeCaseSecrets(name, n, playbook, omsVars, nil)
}

// writeCaseSecrets is writeCase with the omsbook inventory's secrets list.
func (h *Harness) writeCaseSecrets(name string, n int, playbook []byte, omsVars map[string]any, secrets []string) (setup, error) {
	dir := filepath.Join(h.opt.WorkDir, "cases", name)
	s := setup{
		omsInv:   filepath.Join(dir, "omsbook-inventory.yml"),
		ansInv:   filepath.Join(dir, "ansible-hosts.ini"),
		playbook: filepath.Join(dir, "playbook.yml"),
	}
	inv, err := OmsbookInventory(h.access, h.hosts[:n], omsVars, secrets)
	if err != nil {
		return s, err
	}
	if err := WriteFile(s.omsInv, inv, 0o600); err != nil {
		return s, err
	}
	if err := WriteFile(s.ansInv, AnsibleInventory(h.hosts[:n], nil), 0o644); err != nil {
		return s, err
	}
	if err := WriteFile(s.playbook, playbook, 0o644); err != nil {
		return s, err
	}
	return s, nil
}

// writeAnsibleCfg writes ansible.cfg (at the path ANSIBLE_CONFIG names) for inventory inv.
func (h *Harness) writeAnsibleCfg(inv string) error {
	dir := filepath.Join(h.opt.WorkDir, "ansible")
	return WriteFile(filepath.Join(dir, "ansible.cfg"), AnsibleConfig(AnsibleSettings{
		Inventory:      inv,
		SSHConfig:      h.sshCfg,
		ControlPathDir: filepath.Join(dir, "cp"),
		LocalTmp:       filepath.Join(dir, "tmp"),
		Forks:          50,
		Python:         "/usr/bin/python3",
	}), 0o644)
}

func (h *Harness) omsbookRun(s setup, extra ...string) Proc {
	argv := append([]string{h.opt.Omsbook, "run", s.playbook, "-i", s.omsInv, "--forks", "50"}, extra...)
	return Proc{Argv: argv, Env: h.env, Dir: h.opt.WorkDir}
}

func (h *Harness) ansibleRun(s setup) Proc {
	return Proc{Argv: []string{h.opt.Ansible, "-i", s.ansInv, s.playbook}, Env: h.env, Dir: h.opt.WorkDir}
}

// runChecked runs p and checks its output with check (nil: exit status only).
func runChecked(ctx context.Context, p Proc, check func(out string) error) (Sample, error) {
	s, out, err := RunOutput(ctx, p)
	if err != nil {
		return s, err
	}
	if check != nil {
		if err := check(out); err != nil {
			return s, fmt.Errorf("%s: %w; its output ends:\n%s", filepath.Base(p.Argv[0]), err, tailString(out, 1500))
		}
	}
	return s, nil
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// recapCheck checks that the recap (Ansible's, and omsbook's, which has the same form) lists
// every host with ok=tasks, none unreachable, none failed.
func recapCheck(hosts, tasks int) func(string) error {
	return func(out string) error {
		want := fmt.Sprintf("ok=%d ", tasks)
		got := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, want) && strings.Contains(line, "unreachable=0") && strings.Contains(line, "failed=0") {
				got++
			}
		}
		if got != hosts {
			return fmt.Errorf("the recap shows %d of %d hosts with %d tasks ok", got, hosts, tasks)
		}
		return nil
	}
}

// record stores a measurement and returns it.
func (h *Harness) record(workload, cas, tool string, samples []Sample, note string) Measurement {
	m := Measurement{Workload: workload, Case: cas, Tool: tool, Samples: samples,
		MedianNS: int64(Median(Walls(samples))), CPUNS: int64(MedianCPU(samples)), MaxRSSKB: MaxRSS(samples), HWMKB: MaxHWM(samples), Note: note, Load: LoadAvg()}
	h.res.Measurements = append(h.res.Measurements, m)
	h.logf("%s %s %s: median %s over %d (cpu %s, peak RSS %d KiB, load %.1f)", workload, cas, tool,
		time.Duration(m.MedianNS).Round(time.Millisecond), len(samples), time.Duration(m.CPUNS).Round(time.Millisecond), m.HWMKB, m.Load)
	return m
}

func (h *Harness) row(workload, cas string, oms Measurement, baseline string, base Measurement, extra string) {
	r := Row{Workload: workload, Case: cas, Omsbook: oms.MedianNS, Baseline: baseline, Base: base.MedianNS, Extra: extra, Load: oms.Load}
	if oms.MedianNS > 0 && base.MedianNS > 0 {
		r.Ratio = float64(base.MedianNS) / float64(oms.MedianNS)
	}
	h.res.Rows = append(h.res.Rows, r)
}

// stopAnsibleMasters ends the ControlPersist masters Ansible left, so every Ansible run
// starts cold, as every omsbook run does, and none outlives the benchmark.
func (h *Harness) stopAnsibleMasters() {
	dir := filepath.Join(h.opt.WorkDir, "ansible", "cp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, e := range entries {
		sock := filepath.Join(dir, e.Name())
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ssh", "-F", h.sshCfg, "-o", "ControlPath="+sock, "-O", "exit", "bench-master")
			cmd.Env = h.env
			_ = cmd.Run()
			_ = os.Remove(sock)
		}()
	}
	wg.Wait()
}

// Serve starts n nodes, writes the shared files (ssh_config, ansible.cfg for all n hosts and
// both inventories under WorkDir/cases/serve) and keeps the nodes up until ctx ends: for
// looking at a slow case by hand.
func Serve(ctx context.Context, opt Options, n int) (err error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	h := &Harness{opt: opt, res: &Results{}}
	if err := h.start(ctx, n); err != nil {
		return err
	}
	defer func() {
		h.stopAnsibleMasters()
		err = errors.Join(err, h.cluster.Stop())
		h.logf("stopped %d sshd nodes", len(h.cluster.Nodes))
	}()
	s, err := h.writeCase("serve", n, CommandPlaybook(opt.Tasks), nil)
	if err != nil {
		return err
	}
	if err := h.writeAnsibleCfg(s.ansInv); err != nil {
		return err
	}
	h.logf("serving; files in %s; environment: %s", filepath.Dir(s.playbook), strings.Join(h.env, " "))
	<-ctx.Done()
	return nil
}
