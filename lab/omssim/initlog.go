package omssim

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// InitLogName is the log of one docker_init.sh run in /home/admin/logs (a mount that outlives
// the container): docker_init_<yyyymmddHHMMSS>.log, as the guide says its logs are ".log
// files prefixed with docker_init". Its last line is the run's result: InitDonePrefix on
// success, the error otherwise.
func InitLogName(t time.Time) string {
	return "docker_init_" + t.Format("20060102150405") + ".log"
}

// initLogRE matches the name of a docker_init.sh run's log.
var initLogRE = regexp.MustCompile(`^docker_init_[0-9]{14}\.log$`)

// InitLogs lists the docker_init_<yyyymmddHHMMSS>.log files of a log directory, oldest first
// (two runs within one second share a file).
func InitLogs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list docker_init logs: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && initLogRE.MatchString(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// InitDonePrefix starts the last line of a successful docker_init.sh run (the simulator's
// wording: the real script's is not confirmed).
const InitDonePrefix = "docker_init.sh finished: "
