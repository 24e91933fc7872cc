package omssim

import (
	"fmt"
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
	// FaultRollbackFails makes only the V4.1.0 rollback script
	// (docker_oms_ce_version_roll_back.sh) fail.
	FaultRollbackFails = "rollback-fails"
	// FaultSlowStart delays start-up by N seconds (default 30) before the service is healthy.
	FaultSlowStart = "slow-start"
	// FaultNeverHealthy keeps the service unhealthy (status "starting") for ever: never ONLINE,
	// no heartbeats, no start-up log line.
	FaultNeverHealthy = "never-healthy"
	// FaultHeartbeatStops stops heartbeats N seconds (default 0) after the service became
	// healthy; /oms/health keeps saying healthy and the host row stays ONLINE, so only the
	// heartbeat's age shows it.
	FaultHeartbeatStops = "heartbeat-stops"
	// FaultSlowInit makes docker_init.sh work N seconds (default 5) before it migrates
	// anything, with its log already written: long enough to lose the controller meanwhile.
	FaultSlowInit = "slow-init"
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

// Profiles. The default profile ("") is the simulator as it has always been: it serves a few
// conveniences the vendor does not document (health's version and status, one heartbeat row
// per host, a start in well under a second, init refusing a second run). The strict profile
// serves only what section "Facts" of shared/reference/oms-upgrade-procedure.md confirms and
// makes the rest as awkward as a real deployment (lab/README.md, "Profiles").
const (
	ProfileDefault = ""
	ProfileStrict  = "strict"
)

// ProfileFileName is the profile switch in a node's run directory (<run dir>/omssim-profile,
// /home/ds/run/omssim-profile in the container). OMSSIM_PROFILE in the environment is read
// when there is no file.
const ProfileFileName = "omssim-profile"

// Defaults of the strict profile's parameters.
const (
	// StrictStartupDefault is how long the console takes to start: the guide sleeps 300 s
	// before docker_init.sh.
	StrictStartupDefault = 300 * time.Second
	// StrictStopDefault is how long the service takes to stop after SIGTERM: longer than
	// Docker's default stop timeout (10 s), so a plain `docker stop` ends with SIGKILL.
	StrictStopDefault = 30 * time.Second
)

// Profile is what a node's profile switch says.
type Profile struct {
	Name string // ProfileDefault or ProfileStrict
	// Startup (strict): from the process start until the console answers /oms/health and the
	// log says StartedLine.
	Startup time.Duration
	// Stop (strict): how long the service ignores SIGTERM before it stops by itself.
	Stop time.Duration
}

// Strict reports whether this is the strict profile.
func (p Profile) Strict() bool { return p.Name == ProfileStrict }

// String is the profile in the file's syntax.
func (p Profile) String() string {
	if !p.Strict() {
		return "default"
	}
	return fmt.Sprintf("strict startup=%s stop=%s", p.Startup, p.Stop)
}

// ParseProfile reads a profile switch: "" or "default", or "strict" followed by optional
// parameters "startup=<duration>" and "stop=<duration>" (Go durations such as 8s or 5m, or
// plain seconds), separated by blanks.
func ParseProfile(s string) (Profile, error) {
	f := strings.Fields(s)
	if len(f) == 0 || f[0] == "default" {
		if len(f) > 1 {
			return Profile{}, fmt.Errorf("omssim profile %q: the default profile takes no parameters", s)
		}
		return Profile{}, nil
	}
	if f[0] != ProfileStrict {
		return Profile{}, fmt.Errorf("omssim profile %q: unknown profile %q (want default or strict)", s, f[0])
	}
	p := Profile{Name: ProfileStrict, Startup: StrictStartupDefault, Stop: StrictStopDefault}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Profile{}, fmt.Errorf("omssim profile %q: parameter %q: write name=value", s, kv)
		}
		d, err := parseSeconds(v)
		if err != nil {
			return Profile{}, fmt.Errorf("omssim profile %q: %s: %w", s, k, err)
		}
		switch k {
		case "startup":
			p.Startup = d
		case "stop":
			p.Stop = d
		default:
			return Profile{}, fmt.Errorf("omssim profile %q: unknown parameter %q (want startup or stop)", s, k)
		}
	}
	return p, nil
}

// parseSeconds reads a Go duration or a number of seconds, not negative.
func parseSeconds(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, err2 := strconv.ParseFloat(v, 64)
		if err2 != nil {
			return 0, fmt.Errorf("%q is not a duration (write 8s, 5m or a number of seconds)", v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// profile reads the node's profile switch: the file in the run directory, else OMSSIM_PROFILE.
func (e *Env) profile() (Profile, error) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	src := getenv("OMSSIM_PROFILE")
	if e.RunDir != "" {
		if b, err := os.ReadFile(filepath.Join(e.RunDir, ProfileFileName)); err == nil {
			src = string(b)
		}
	}
	return ParseProfile(src)
}
