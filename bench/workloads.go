package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// floorSample dials hosts[:n], runs the floor's work and closes. The returned samples are the
// work alone (open connections) and the work plus the dials.
func (h *Harness) floorSample(ctx context.Context, n, tasks int) (work, withDial Sample, err error) {
	work, withDial, _, err = h.floorSamples(ctx, n, tasks, false)
	return work, withDial, err
}

// floorSamples is floorSample that, with lockstep, times the lockstep floor instead (only its
// work, in lock).
func (h *Harness) floorSamples(ctx context.Context, n, tasks int, lockstep bool) (work, withDial, lock Sample, err error) {
	targets := make([]FloorTarget, n)
	for i, hst := range h.hosts[:n] {
		targets[i] = FloorTarget{Addr: fmt.Sprintf("%s:%d", hst.Addr, hst.Port)}
	}
	t0 := time.Now()
	u0, s0 := selfCPU()
	defer func() {
		// The floor runs in this process: its client-side CPU is this process's.
		u1, s1 := selfCPU()
		withDial.UserCPU, withDial.SysCPU = u1-u0, s1-s0
	}()
	f, err := DialFloor(ctx, FloorConfig{User: h.access.User, ClientKey: h.access.ClientKey, KnownHosts: h.access.KnownHosts}, targets)
	if err != nil {
		return work, withDial, lock, err
	}
	defer f.Close()
	dial := time.Since(t0)
	if lockstep {
		l, err := f.RunLockstep(ctx, tasks, "/bin/true")
		if err != nil {
			return work, withDial, lock, err
		}
		return work, withDial, Sample{Wall: l}, nil
	}
	d, err := f.Run(ctx, tasks, "/bin/true")
	if err != nil {
		return work, withDial, lock, err
	}
	return Sample{Wall: d}, Sample{Wall: dial + d}, lock, nil
}

// workloadCommand is workload 1: tasks x `command: /bin/true` on N hosts, omsbook, Ansible and
// the floor alternately.
func (h *Harness) workloadCommand(ctx context.Context) error {
	tasks := h.opt.Tasks
	for _, n := range h.opt.CommandNs {
		name := fmt.Sprintf("N=%d", n)
		s, err := h.writeCase(fmt.Sprintf("command-%d", n), n, CommandPlaybook(tasks), nil)
		if err != nil {
			return err
		}
		// The same play with one task: the difference to the full play is the cost of the
		// other tasks on connections already open, which the floor's figure is.
		s1, err := h.writeCase(fmt.Sprintf("command-%d-one", n), n, CommandPlaybook(1), nil)
		if err != nil {
			return err
		}
		if err := h.writeAnsibleCfg(s.ansInv); err != nil {
			return err
		}
		var oms, oms1, ans, floor, floorDial, floorLock []Sample
		for rep := range h.opt.Reps {
			h.logf("workload 1 %s rep %d/%d", name, rep+1, h.opt.Reps)
			sm, err := runChecked(ctx, h.omsbookRun(s), recapCheck(n, tasks))
			if err != nil {
				return err
			}
			oms = append(oms, sm)
			sm, err = runChecked(ctx, h.omsbookRun(s1), recapCheck(n, 1))
			if err != nil {
				return err
			}
			oms1 = append(oms1, sm)
			if h.opt.Ansible != "" {
				sm, err := runChecked(ctx, h.ansibleRun(s), recapCheck(n, tasks))
				h.stopAnsibleMasters()
				if err != nil {
					return err
				}
				ans = append(ans, sm)
			}
			w, wd, err := h.floorSample(ctx, n, tasks)
			if err != nil {
				return err
			}
			// The lockstep floor on connections of its own: the first sessions on a fresh
			// connection cost more, and each variant should pay for them once.
			_, _, l, err := h.floorSamples(ctx, n, tasks, true)
			if err != nil {
				return err
			}
			floor, floorDial, floorLock = append(floor, w), append(floorDial, wd), append(floorLock, l)
		}
		mo := h.record("1 command", name, "omsbook", oms, "")
		mf := h.record("1 command", name, "floor", floor, "x/crypto/ssh sessions on already-open connections")
		mfd := h.record("1 command", name, "floor+dial", floorDial, "the floor including its dials")
		perTask := func(m Measurement) string {
			return (time.Duration(m.MedianNS) / time.Duration(n*tasks)).Round(10 * time.Microsecond).String()
		}
		if len(ans) > 0 {
			ma := h.record("1 command", name, "ansible", ans, "")
			h.row("1 command", name, mo, "ansible", ma, fmt.Sprintf("per host-task: omsbook %s, ansible %s", perTask(mo), perTask(ma)))
		}
		h.row("1 command", name, mo, "floor", mf, fmt.Sprintf("omsbook/floor %.2f; per host-task: floor %s", ratio(mo, mf), perTask(mf)))
		mo1 := h.record("1 command", name, "omsbook-1-task", oms1, "the same play with its first task only")
		if tasks > 1 && mo.MedianNS <= mo1.MedianNS {
			h.note("workload 1 %s: the %d-task run (%s) took no longer than the 1-task run (%s): the marginal cost per host-task is lost in the noise; use more repetitions",
				name, tasks, FormatDuration(time.Duration(mo.MedianNS)), FormatDuration(time.Duration(mo1.MedianNS)))
		} else if tasks > 1 {
			// Per host-task on open connections: omsbook's marginal cost of tasks 2..10 against
			// the floor's sessions on open connections.
			marginal := time.Duration(mo.MedianNS-mo1.MedianNS) / time.Duration(n*(tasks-1))
			floorPer := time.Duration(mf.MedianNS) / time.Duration(n*tasks)
			h.row("1 command", name+" per host-task", Measurement{MedianNS: int64(marginal), Load: mo.Load}, "floor", Measurement{MedianNS: int64(floorPer)},
				fmt.Sprintf("open connections: omsbook (%d-task run - 1-task run)/(%d x %d) against the floor's sessions; omsbook/floor %.2f (target <= 1.2: %s)",
					tasks, n, tasks-1, float64(marginal)/float64(floorPer), verdict(float64(marginal) <= 1.2*float64(floorPer))))
		}
		h.row("1 command", name, mo, "floor+dial", mfd, fmt.Sprintf("omsbook/(floor+dial) %.2f", ratio(mo, mfd)))
		mfl := h.record("1 command", name, "floor-lockstep", floorLock, "the floor task by task, all hosts finishing each task before the next (linear strategy)")
		h.row("1 command", name, mo, "floor-lockstep", mfl, fmt.Sprintf("omsbook/floor-lockstep %.2f", ratio(mo, mfl)))
	}
	return nil
}

// ratio is a's median over b's.
func ratio(a, b Measurement) float64 {
	if b.MedianNS == 0 {
		return 0
	}
	return float64(a.MedianNS) / float64(b.MedianNS)
}

// workloadStartup is workload 2: `omsbook version`, and one task on one host for both tools.
func (h *Harness) workloadStartup(ctx context.Context) error {
	var ver []Sample
	for range h.opt.StartupReps {
		sm, err := runChecked(ctx, Proc{Argv: []string{h.opt.Omsbook, "version"}, Env: h.env}, nil)
		if err != nil {
			return err
		}
		ver = append(ver, sm)
	}
	mv := h.record("2 startup", "omsbook version", "omsbook", ver, "")
	h.row("2 startup", "omsbook version", mv, "target 20ms", Measurement{MedianNS: int64(20 * time.Millisecond)}, verdict(mv.MedianNS < int64(20*time.Millisecond)))

	s, err := h.writeCase("startup", 1, CommandPlaybook(1), nil)
	if err != nil {
		return err
	}
	if err := h.writeAnsibleCfg(s.ansInv); err != nil {
		return err
	}
	var oms, ans []Sample
	for rep := range h.opt.StartupReps {
		h.logf("workload 2 1x1 rep %d/%d", rep+1, h.opt.StartupReps)
		sm, err := runChecked(ctx, h.omsbookRun(s), recapCheck(1, 1))
		if err != nil {
			return err
		}
		oms = append(oms, sm)
		if h.opt.Ansible != "" {
			sm, err := runChecked(ctx, h.ansibleRun(s), recapCheck(1, 1))
			h.stopAnsibleMasters()
			if err != nil {
				return err
			}
			ans = append(ans, sm)
		}
	}
	// The least an SSH runner can spend on this: one dial and one session, in-process.
	var floor []Sample
	for range h.opt.StartupReps {
		_, wd, err := h.floorSample(ctx, 1, 1)
		if err != nil {
			return err
		}
		floor = append(floor, wd)
	}
	mo := h.record("2 startup", "1 task x 1 host", "omsbook", oms, "")
	mf := h.record("2 startup", "1 task x 1 host", "floor+dial", floor, "one dial and one session, no process start")
	h.row("2 startup", "1 task x 1 host", mo, "floor+dial", mf, fmt.Sprintf("omsbook/(floor+dial) %.2f", ratio(mo, mf)))
	target := fmt.Sprintf("target < 100ms: %s", verdict(mo.MedianNS < int64(100*time.Millisecond)))
	if len(ans) > 0 {
		ma := h.record("2 startup", "1 task x 1 host", "ansible", ans, "")
		h.row("2 startup", "1 task x 1 host", mo, "ansible", ma, target)
	} else {
		h.row("2 startup", "1 task x 1 host", mo, "target 100ms", Measurement{MedianNS: int64(100 * time.Millisecond)}, target)
	}
	return nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// workloadCopy is workload 3: one file of CopyMB to CopyHosts hosts, omsbook's copy (SFTP)
// against scp (SFTP too since OpenSSH 9.0) to the same hosts, all hosts at once for both.
func (h *Harness) workloadCopy(ctx context.Context) error {
	n, size := h.opt.CopyHosts, int64(h.opt.CopyMB)<<20
	src := filepath.Join(h.opt.WorkDir, fmt.Sprintf("copy-src-%dMB.bin", h.opt.CopyMB))
	if err := EnsureRandomFile(src, size); err != nil {
		return err
	}
	dest := filepath.Join(h.opt.WorkDir, "copy-dest")
	s, err := h.writeCase("copy", n, CopyPlaybookOmsbook(src, dest), nil)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%d MB to %d hosts", h.opt.CopyMB, n)
	var oms, scp []Sample
	for rep := range h.opt.Reps {
		h.logf("workload 3 %s rep %d/%d", name, rep+1, h.opt.Reps)
		// Every run starts from an empty destination, so that every run transfers.
		if err := freshDir(dest); err != nil {
			return err
		}
		sm, err := runChecked(ctx, h.omsbookRun(s), nil)
		if err != nil {
			return err
		}
		if err := checkCopies(dest, "", h.hosts[:n], size); err != nil {
			return fmt.Errorf("omsbook copy: %w", err)
		}
		oms = append(oms, sm)
		if err := freshDir(dest); err != nil {
			return err
		}
		sm, err = h.scpAll(ctx, src, dest, n)
		if err != nil {
			return err
		}
		if err := checkCopies(dest, "-scp", h.hosts[:n], size); err != nil {
			return fmt.Errorf("scp: %w", err)
		}
		scp = append(scp, sm)
	}
	_ = os.RemoveAll(dest)
	mo := h.record("3 copy", name, "omsbook", oms, "copy module over SFTP")
	ms := h.record("3 copy", name, "scp", scp, "one scp per host, all at once")
	mbps := func(m Measurement) float64 {
		return float64(int64(n)*size) / (1 << 20) / time.Duration(m.MedianNS).Seconds()
	}
	h.row("3 copy", name, mo, "scp", ms, fmt.Sprintf("throughput omsbook %.0f MB/s, scp %.0f MB/s; target >= 0.8x scp: %s",
		mbps(mo), mbps(ms), verdict(ratio(ms, mo) >= 0.8)))
	return nil
}

// scpAll copies src to every host at once with scp and measures the whole.
func (h *Harness) scpAll(ctx context.Context, src, dest string, n int) (Sample, error) {
	errs := make([]error, n)
	samples := make([]Sample, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i, hst := range h.hosts[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := fmt.Sprintf("%s@%s:%s/%s-scp.bin", h.access.User, hst.Addr, dest, hst.Name)
			samples[i], errs[i] = Time(ctx, Proc{Argv: []string{h.opt.Scp, "-q", "-F", h.sshCfg, "-P", fmt.Sprint(hst.Port), src, target}, Env: h.env})
		}()
	}
	wg.Wait()
	total := Sample{Wall: time.Since(start)}
	for _, s := range samples {
		total.UserCPU += s.UserCPU
		total.SysCPU += s.SysCPU
		total.MaxRSSKB = max(total.MaxRSSKB, s.MaxRSSKB)
		total.HWMKB = max(total.HWMKB, s.HWMKB)
	}
	for _, err := range errs {
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func freshDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	return os.MkdirAll(dir, 0o755)
}

// checkCopies checks that every host got its copy, whole.
func checkCopies(dir, suffix string, hosts []Host, size int64) error {
	for _, hst := range hosts {
		p := filepath.Join(dir, hst.Name+suffix+".bin")
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("the copy for %s is missing: %w", hst.Name, err)
		}
		if fi.Size() != size {
			return fmt.Errorf("the copy %s has %d bytes, want %d", p, fi.Size(), size)
		}
	}
	return nil
}

// workloadDump is workload 4: the mysqldump module against the bare client on the lab
// MetaDB, one database grown to DumpMB.
func (h *Harness) workloadDump(ctx context.Context) error {
	db, err := EnsureBigDB(ctx, BigDBName, int64(h.opt.DumpMB)<<20, h.logf)
	if err != nil {
		return err
	}
	h.logf("database %s: %d MB of data and indexes", BigDBName, db.Bytes>>20)
	destOms := filepath.Join(h.opt.WorkDir, "dump-omsbook")
	destBare := filepath.Join(h.opt.WorkDir, "dump-bare")
	vars := map[string]any{"metadb": map[string]any{"host": db.Host, "port": db.Port, "user": db.User, "password": db.Password}}
	s, err := h.writeCaseSecrets("dump", 1, DumpPlaybookOmsbook(BigDBName, destOms), vars, []string{"metadb.password"})
	if err != nil {
		return err
	}
	cnf := filepath.Join(h.opt.WorkDir, "dump-client.cnf")
	if err := WriteFile(cnf, []byte(db.OptionFile()), 0o600); err != nil {
		return err
	}
	if err := freshDir(destBare); err != nil {
		return err
	}
	if err := os.MkdirAll(destOms, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s, %d MB", BigDBName, db.Bytes>>20)
	bareOut := filepath.Join(destBare, BigDBName+".sql")
	var oms, bare []Sample
	for rep := range h.opt.Reps {
		h.logf("workload 4 rep %d/%d", rep+1, h.opt.Reps)
		sm, err := runChecked(ctx, h.omsbookRun(s), nil)
		if err != nil {
			return err
		}
		oms = append(oms, sm)
		// The same options the module passes: --single-transaction --skip-triggers.
		sm, err = Time(ctx, Proc{Argv: []string{h.opt.Mysqldump, "--defaults-extra-file=" + cnf, "--single-transaction", "--skip-triggers", BigDBName},
			Env: h.env, Stdout: bareOut})
		if err != nil {
			return err
		}
		bare = append(bare, sm)
	}
	var dumpSize int64
	if fi, err := os.Stat(filepath.Join(destOms, BigDBName+".sql")); err == nil {
		dumpSize = fi.Size()
	}
	mo := h.record("4 mysqldump", name, "omsbook", oms, "mysqldump module (dump, verify trailer, sha256, manifest)")
	mb := h.record("4 mysqldump", name, "mysqldump", bare, "bare client to a file")
	h.row("4 mysqldump", name, mo, "mysqldump", mb, fmt.Sprintf("omsbook/bare %.2f (target <= 1.1: %s); dump %d MB; omsbook's own peak RSS %d MB, the bare client's %d MB",
		ratio(mo, mb), verdict(ratio(mo, mb) <= 1.1), dumpSize>>20, mo.HWMKB>>10, mb.HWMKB>>10))
	_ = os.RemoveAll(destBare)
	return nil
}

// workloadScale is workload 5: ScaleN hosts x Tasks, omsbook's wall time and peak RSS, and the
// floor on the same hosts.
func (h *Harness) workloadScale(ctx context.Context) error {
	n, tasks := h.opt.ScaleN, h.opt.Tasks
	s, err := h.writeCase(fmt.Sprintf("scale-%d", n), n, CommandPlaybook(tasks), nil)
	if err != nil {
		return err
	}
	before := h.maxStartupsLines()
	var oms, floor []Sample
	for rep := range h.opt.Reps {
		h.logf("workload 5 N=%d rep %d/%d", n, rep+1, h.opt.Reps)
		sm, err := runChecked(ctx, h.omsbookRun(s), recapCheck(n, tasks))
		if err != nil {
			return err
		}
		oms = append(oms, sm)
		_, wd, err := h.floorSample(ctx, n, tasks)
		if err != nil {
			return err
		}
		floor = append(floor, wd)
	}
	throttled := h.maxStartupsLines() - before
	name := fmt.Sprintf("%d hosts x %d tasks", n, tasks)
	mo := h.record("5 scale", name, "omsbook", oms, "")
	mf := h.record("5 scale", name, "floor+dial", floor, "the floor including its dials")
	h.row("5 scale", name, mo, "floor+dial", mf, fmt.Sprintf("omsbook's peak RSS %d MB (target < 100 MB: %s); sshd MaxStartups log lines: %d",
		mo.HWMKB>>10, verdict(mo.HWMKB > 0 && mo.HWMKB < 100<<10), throttled))
	if throttled > 0 {
		h.note("workload 5: sshd logged %d MaxStartups throttling lines", throttled)
	}
	return nil
}

// maxStartupsLines counts the lines in the nodes' sshd logs that say a connection was dropped
// or throttled because of MaxStartups.
func (h *Harness) maxStartupsLines() int {
	total := 0
	for _, nd := range h.cluster.Nodes {
		b, err := os.ReadFile(nd.LogFile)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "MaxStartups") || strings.Contains(line, "drop connection") {
				total++
			}
		}
	}
	return total
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
