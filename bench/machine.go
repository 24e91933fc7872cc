package bench

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemTotal  string  `json:"mem_total"`
	Kernel    string  `json:"kernel"`
	OpenSSH   string  `json:"openssh"`
	Ansible   string  `json:"ansible"`
	Mysqldump string  `json:"mysqldump"`
	Omsbook   string  `json:"omsbook"`
	Go        string  `json:"go"`
	LoadStart float64 `json:"load1_at_start"`
}

// DescribeMachine gathers the machine facts RESULTS.md records.
func DescribeMachine(ctx context.Context, opt Options) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: LoadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = field(string(b), "model name")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = field(string(b), "MemTotal")
	}
	m.Kernel = firstLine(ctx, "uname", "-r")
	m.OpenSSH = firstLine(ctx, "ssh", "-V") // ssh -V prints on stderr; firstLine reads both
	if opt.Ansible != "" {
		m.Ansible = firstLine(ctx, opt.Ansible, "--version")
	}
	if opt.Mysqldump != "" {
		m.Mysqldump = firstLine(ctx, opt.Mysqldump, "--version")
	}
	if opt.Omsbook != "" {
		m.Omsbook = firstLine(ctx, opt.Omsbook, "version")
	}
	return m
}

// field returns the value of the first "key : value" line in s.
func field(s, key string) string {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// firstLine runs a command and returns the first line it printed, "" when it fails.
func firstLine(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// LoadAvg is the 1-minute load average, 0 when unreadable.
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
