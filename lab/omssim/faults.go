package omssim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Fault names. A fault is on when the file <run dir>/omssim-faults/<name> exists (in the
// container: /home/ds/run/omssim-faults/<name>, i.e. <node dir>/run/omssim-faults/<name> on the
// host) or when the environment variable OMSSIM_FAULT_<NAME> is set (upper case, '-' as '_').
// A number in the file or variable is the fault's parameter, in seconds.
const (
	// FaultInitFails makes docker_init.sh and the V4.1.0 upgrade/rollback scripts fail.
	FaultInitFails = "init-fails"
	// FaultSlowStart delays start-up by N seconds (default 30) before the service is healthy.
	FaultSlowStart = "slow-start"
	// FaultNeverHealthy keeps the service unhealthy (status "starting") for ever: never ONLINE,
	// no heartbeats, no start-up log line.
	FaultNeverHealthy = "never-healthy"
	// FaultHeartbeatStops stops heartbeats N seconds (default 0) after the service became
	// healthy; /oms/health keeps saying healthy and the host row stays ONLINE, so only the
	// heartbeat's age shows it.
	FaultHeartbeatStops = "heartbeat-stops"
	// FaultExit makes the service exit with status 1, N seconds (default 0) after start or as
	// soon as the file appears.
	FaultExit = "exit"
)

// faults reads the per-node fault switches.
type faults struct {
	dir    string // <run dir>/omssim-faults
	getenv func(string) string
}

// get reports whether a fault is on and its parameter (def when none is given).
func (f faults) get(name string, def time.Duration) (bool, time.Duration) {
	val, on := "", false
	envName := "OMSSIM_FAULT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v := f.getenv(envName); v != "" {
		val, on = v, true
	}
	if f.dir != "" {
		if b, err := os.ReadFile(filepath.Join(f.dir, name)); err == nil {
			val, on = string(b), true
		}
	}
	if !on {
		return false, 0
	}
	val = strings.TrimSpace(val)
	if secs, err := strconv.ParseFloat(val, 64); err == nil && secs >= 0 {
		return true, time.Duration(secs * float64(time.Second))
	}
	return true, def
}

func (f faults) on(name string) bool {
	on, _ := f.get(name, 0)
	return on
}
