package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// DockerCall is one docker call the recorder saw.
type DockerCall struct {
	Time string `json:"time"` // UTC, RFC 3339 with nanoseconds
	// Argv is the call as made, "docker" first, every -e/--env value replaced by ***.
	Argv []string `json:"argv"`
	// PrivilegedDropped: the engine refuses privileged containers and the recorder removed
	// --privileged[=true] from this run/create before calling docker.
	PrivilegedDropped bool `json:"privileged_dropped,omitempty"`
}

// DockerCalls reads the recorder's log, oldest call first (none when nothing was recorded).
func (l *Lab) DockerCalls() ([]DockerCall, error) {
	f, err := os.Open(l.ArgvLogPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: docker argv log: %w", l.Name, err)
	}
	defer f.Close()
	var out []DockerCall
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		var c DockerCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("lab %s: %s:%d: %w", l.Name, l.ArgvLogPath(), line, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab %s: docker argv log: %w", l.Name, err)
	}
	return out, nil
}

// DockerArgv returns the argv of every recorded docker call ("docker" first, -e values
// masked), oldest first.
func (l *Lab) DockerArgv() ([][]string, error) {
	calls, err := l.DockerCalls()
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(calls))
	for i, c := range calls {
		out[i] = c.Argv
	}
	return out, nil
}

// recordedNames lists the --name of every recorded docker run/create (the containers the
// playbooks started through docker_cmd, throw-away ones included).
func (l *Lab) recordedNames() []string {
	calls, err := l.DockerCalls()
	if err != nil {
		l.logf("warning: %v", err)
	}
	var names []string
	for _, c := range calls {
		if sub := subcommand(c.Argv); sub != "run" && sub != "create" {
			continue
		}
		for i, a := range c.Argv {
			switch {
			case a == "--name" && i+1 < len(c.Argv):
				names = append(names, c.Argv[i+1])
			case strings.HasPrefix(a, "--name="):
				names = append(names, strings.TrimPrefix(a, "--name="))
			}
		}
	}
	return names
}

// subcommand is the docker subcommand of an argv ("docker" first): "run" for both
// `docker run` and `docker container run`.
func subcommand(argv []string) string {
	var words []string
	for _, a := range argv[min(1, len(argv)):] {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
			if len(words) == 2 || words[0] != "container" {
				break
			}
		}
	}
	switch {
	case len(words) == 0:
		return ""
	case words[0] == "container" && len(words) == 2:
		return words[1]
	}
	return words[0]
}
