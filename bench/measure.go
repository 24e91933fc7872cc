package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sample is one timed run of a program.
type Sample struct {
	Wall    time.Duration `json:"wall_ns"`
	UserCPU time.Duration `json:"user_cpu_ns"` // the process and the children it waited for
	SysCPU  time.Duration `json:"sys_cpu_ns"`
	// MaxRSSKB is ru_maxrss from wait4, in KiB: the largest of the process and its waited-for
	// children. Beware: Linux folds the parent's (the harness's) resident set at the time of
	// exec into it (exec_mmap keeps the old mm's high-water mark), so for a small program it
	// reports the harness's size. HWMKB is the program's own figure.
	MaxRSSKB int64 `json:"max_rss_kb"`
	// HWMKB is the peak resident set of the process alone (its VmHWM, polled every 10 ms
	// while it runs, so a peak in its last 10 ms may be missed; 0 when it ended first).
	HWMKB    int64 `json:"hwm_kb"`
	ExitCode int   `json:"exit_code"`
	// PeakFDs is the most file descriptors the process had open at once (polled with HWMKB).
	PeakFDs int `json:"peak_fds,omitempty"`
}

// Proc is a program to time.
type Proc struct {
	Argv []string
	Env  []string // the whole environment; nil means an empty one
	Dir  string
	// Stdout, when set, is a file that receives the standard output (created or truncated);
	// the output is then not kept for messages.
	Stdout string
}

// outputLimit bounds the output kept for error messages and checks: the recap of 1,000 hosts
// (about 90 KB) must fit.
const outputLimit = 512 << 10

// Time starts p, waits for it and measures it. A non-zero exit is an error that quotes the
// end of the output: a benchmark of a failing run measures nothing.
func Time(ctx context.Context, p Proc) (Sample, error) {
	s, _, err := RunOutput(ctx, p)
	return s, err
}

// RunOutput is Time that also returns the end of the output (the last few KB), for checks.
func RunOutput(ctx context.Context, p Proc) (Sample, string, error) {
	if len(p.Argv) == 0 {
		return Sample{}, "", errors.New("run: empty argv")
	}
	cmd := exec.CommandContext(ctx, p.Argv[0], p.Argv[1:]...)
	cmd.Env = p.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = p.Dir
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if p.Stdout != "" {
		f, err := os.Create(p.Stdout)
		if err != nil {
			return Sample{}, "", fmt.Errorf("create %s for the output of %s: %w", p.Stdout, p.Argv[0], err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	// Its own process group, so that a cancelled run takes its children (ssh) with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Sample{}, "", fmt.Errorf("start %s: %w", p.Argv[0], err)
	}
	done := make(chan struct{})
	hwm := make(chan [2]int64, 1)
	go func() {
		peak, fds := pollHWM(cmd.Process.Pid, done)
		hwm <- [2]int64{peak, int64(fds)}
	}()
	err := cmd.Wait()
	s := Sample{Wall: time.Since(start)}
	close(done)
	polled := <-hwm
	s.HWMKB, s.PeakFDs = polled[0], int(polled[1])
	if ps := cmd.ProcessState; ps != nil {
		s.UserCPU, s.SysCPU = ps.UserTime(), ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			s.MaxRSSKB = ru.Maxrss
		}
		s.ExitCode = ps.ExitCode()
	}
	if err != nil {
		if ctx.Err() != nil {
			return s, out.String(), fmt.Errorf("%s: %w", p.Argv[0], ctx.Err())
		}
		return s, out.String(), fmt.Errorf("%s failed (%v); its output ends:\n%s", strings.Join(p.Argv, " "), err, out.String())
	}
	return s, out.String(), nil
}

// tailBuffer keeps the last outputLimit bytes written to it.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 2*outputLimit {
		rest := t.b.Bytes()[t.b.Len()-outputLimit:]
		keep := append([]byte(nil), rest...)
		t.b.Reset()
		t.b.Write(keep)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	b := t.b.Bytes()
	if len(b) > outputLimit {
		b = b[len(b)-outputLimit:]
	}
	return string(b)
}

// Median returns the median of ds (the mean of the middle two for an even count), 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Walls lists the wall times of samples.
func Walls(samples []Sample) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = s.Wall
	}
	return out
}

// MaxRSS is the largest MaxRSSKB of samples.
func MaxRSS(samples []Sample) int64 {
	var m int64
	for _, s := range samples {
		m = max(m, s.MaxRSSKB)
	}
	return m
}

// MedianCPU is the median of user+system CPU time of samples.
func MedianCPU(samples []Sample) time.Duration {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = s.UserCPU + s.SysCPU
	}
	return Median(out)
}

// pollHWM reads the VmHWM of pid every 10 ms until done is closed and returns the last (the
// largest: VmHWM only grows) value it read, and the most open file descriptors it saw.
func pollHWM(pid int, done <-chan struct{}) (int64, int) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	fdDir := "/proc/" + strconv.Itoa(pid) + "/fd"
	var peak int64
	fds := 0
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if v := readHWM(path); v > peak {
			peak = v
		}
		if entries, err := os.ReadDir(fdDir); err == nil {
			fds = max(fds, len(entries))
		}
		select {
		case <-done:
			return peak, fds
		case <-t.C:
		}
	}
}

// readHWM returns the VmHWM line of a /proc/<pid>/status file in KiB, 0 when unreadable.
func readHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// MaxHWM is the largest HWMKB of samples.
func MaxHWM(samples []Sample) int64 {
	var m int64
	for _, s := range samples {
		m = max(m, s.HWMKB)
	}
	return m
}
