package oms

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/internal/shellquote"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/transport"
)

// dockerCmdArg is the docker_cmd argument shared by docker_image and docker_container.
var dockerCmdArg = modules.Arg{Name: "docker_cmd", Type: modules.String, Default: "docker", Doc: `how to call the docker CLI on the host, split on spaces (e.g. "sudo docker")`}

// dockerCLI runs the docker CLI on the host a module executes on, through its transport, so
// that every probe reuses the host's one connection.
type dockerCLI struct {
	h    *modules.Host
	argv []string
}

func newDockerCLI(h *modules.Host, args modules.Args) dockerCLI {
	argv := strings.Fields(args.String("docker_cmd"))
	if len(argv) == 0 {
		argv = []string{"docker"}
	}
	return dockerCLI{h: h, argv: argv}
}

// run runs docker with args. A non-zero exit status is not an error; a transport failure is.
func (d dockerCLI) run(ctx context.Context, args ...string) (*transport.ExecResult, error) {
	return d.runCmd(ctx, d.h.ArgvCmd(append(append([]string(nil), d.argv...), args...)...))
}

func (d dockerCLI) runCmd(ctx context.Context, cmd *transport.Cmd) (*transport.ExecResult, error) {
	res, err := d.h.Conn.Exec(ctx, cmd)
	if err != nil {
		what := strings.Join(cmd.Argv, " ")
		if what == "" {
			what = strings.Join(d.argv, " ")
		}
		return res, fmt.Errorf("run %s on %s: %w", what, d.h.Name, err)
	}
	return res, nil
}

// withEnvFile is the command that runs docker with args; envFile, when not empty, is the
// content of the env file that args name as --env-file /dev/stdin. It travels as the
// command's standard input through `cat |`, which makes it a pipe whatever the transport gives
// (an SSH channel may be a socket, which /dev/stdin cannot reopen), so that the values it holds
// are never in a file on the host (not even for a moment, so a killed task leaves none) nor in
// an argv. /dev/stdin rather than another descriptor, because sudo in docker_cmd closes every
// descriptor above 2; docker reads the file before it starts the container, whose standard
// input then ends at once, as it would without the file.
func (d dockerCLI) withEnvFile(args []string, envFile string) *transport.Cmd {
	argv := append(append([]string(nil), d.argv...), args...)
	if envFile == "" {
		return d.h.ArgvCmd(argv...)
	}
	cmd := d.h.Cmd("cat | " + shellquote.Join(argv...))
	cmd.Stdin = strings.NewReader(envFile)
	return cmd
}

// runOK runs docker with args and turns a non-zero exit status into an error quoting docker's
// message.
func (d dockerCLI) runOK(ctx context.Context, args ...string) (string, error) {
	return d.runCmdOK(ctx, d.h.ArgvCmd(append(append([]string(nil), d.argv...), args...)...), args)
}

// runCmdOK is runOK for a command built already (see withEnvFile); args name it in errors.
func (d dockerCLI) runCmdOK(ctx context.Context, cmd *transport.Cmd, args []string) (string, error) {
	res, err := d.runCmd(ctx, cmd)
	if err != nil {
		return "", err
	}
	if res.RC != 0 {
		return string(res.Stdout), fmt.Errorf("%s %s failed (rc %d): %s", strings.Join(d.argv, " "), dockerVerb(args), res.RC, dockerMessage(res))
	}
	return string(res.Stdout), nil
}

// dockerVerb names a docker call in messages without its (possibly long) arguments.
func dockerVerb(args []string) string {
	if len(args) >= 2 && !strings.HasPrefix(args[1], "-") && (args[0] == "image" || args[0] == "container") {
		return args[0] + " " + args[1]
	}
	if len(args) > 0 {
		return args[0]
	}
	return ""
}

// dockerMessage is docker's own complaint: stderr, else stdout, trimmed.
func dockerMessage(res *transport.ExecResult) string {
	msg := strings.TrimSpace(string(res.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(res.Stdout))
	}
	if msg == "" {
		msg = "no message"
	}
	return msg
}

func dockerNoSuch(res *transport.ExecResult) bool {
	return strings.Contains(string(res.Stderr), "No such")
}

// containerInspect is the part of `docker inspect` a module reads.
type containerInspect struct {
	ID      string `json:"Id"`
	Name    string `json:"Name"`
	Image   string `json:"Image"`
	Created string `json:"Created"`
	State   struct {
		Status     string `json:"Status"`
		Running    bool   `json:"Running"`
		ExitCode   int    `json:"ExitCode"`
		StartedAt  string `json:"StartedAt"`
		FinishedAt string `json:"FinishedAt"`
	} `json:"State"`
	Config struct {
		Image     string   `json:"Image"`
		Env       []string `json:"Env"`
		Cmd       []string `json:"Cmd"`
		Tty       bool     `json:"Tty"`
		OpenStdin bool     `json:"OpenStdin"`
	} `json:"Config"`
	HostConfig struct {
		Binds         []string       `json:"Binds"`
		NetworkMode   string         `json:"NetworkMode"`
		Privileged    bool           `json:"Privileged"`
		PidsLimit     *int64         `json:"PidsLimit"`
		Ulimits       []dockerUlimit `json:"Ulimits"`
		RestartPolicy struct {
			Name              string `json:"Name"`
			MaximumRetryCount int    `json:"MaximumRetryCount"`
		} `json:"RestartPolicy"`
	} `json:"HostConfig"`
	Mounts []struct {
		Type        string `json:"Type"`
		Name        string `json:"Name"`
		Source      string `json:"Source"`
		Destination string `json:"Destination"`
		RW          bool   `json:"RW"`
	} `json:"Mounts"`
}

type dockerUlimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

func (u dockerUlimit) String() string { return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard) }

// inspectContainer runs one `docker inspect` for name; a missing container gives nil, nil.
func (d dockerCLI) inspectContainer(ctx context.Context, name string) (*containerInspect, error) {
	res, err := d.run(ctx, "container", "inspect", "--", name)
	if err != nil {
		return nil, err
	}
	if res.RC != 0 {
		if dockerNoSuch(res) {
			return nil, nil
		}
		return nil, fmt.Errorf("docker inspect %s on %s failed (rc %d): %s", name, d.h.Name, res.RC, dockerMessage(res))
	}
	var list []containerInspect
	if err := json.Unmarshal(res.Stdout, &list); err != nil {
		return nil, fmt.Errorf("docker inspect %s on %s: cannot parse its JSON: %w", name, d.h.Name, err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("docker inspect %s on %s: want one container, got %d", name, d.h.Name, len(list))
	}
	return &list[0], nil
}

// dockerEnvMap splits KEY=VALUE entries.
func dockerEnvMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}
