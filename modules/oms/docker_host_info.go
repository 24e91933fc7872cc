package oms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/oms/internal/omsutil"
)

// DockerHostInfo reads facts about the Docker host and lists its containers, as Ansible's
// community.docker.docker_host_info does; it changes nothing.
type DockerHostInfo struct{}

// Name is the task key.
func (DockerHostInfo) Name() string { return "docker_host_info" }

// Spec declares the arguments.
func (DockerHostInfo) Spec() modules.Spec {
	return modules.Spec{
		Summary: "facts about the Docker host and a filtered list of its containers",
		Description: `Returns host_info (docker system info) and, with containers: true, the containers docker ps lists:
running ones only unless containers_all, narrowed by containers_filters (each key=value becomes one
docker ps --filter key=value; a list value gives one filter per item; docker ANDs different keys and
ORs values of the same key). Filters are docker's: name (a regular expression on the name, which
starts with "/"), ancestor (an image and its descendants), volume (a volume name, the host source
of a bind mount, or a mount destination), label, status, id, ... Each container is given as the
Engine API and Ansible's docker_host_info give it, in short form: Id, Image, Command, Created (Unix
time), Status, State, Ports (a list of "ip:port->port/proto" texts) and Names (a list, each name
with its leading "/", as the API has it). The task fails, with can_talk_to_docker false, when the
docker CLI or its Engine does not answer.`,
		CheckMode: "runs as in a normal run: it only reads (docker info, docker ps)",
		Args: []modules.Arg{
			{Name: "containers", Type: modules.Bool, Default: false, Doc: "list containers"},
			{Name: "containers_all", Type: modules.Bool, Default: false, Doc: "list stopped containers too (docker ps -a)"},
			{Name: "containers_filters", Type: modules.Map, Doc: "docker ps filters: key -> value or list of values, e.g. {ancestor: oms:4.2.3, volume: /data/oms/logs}"},
			dockerCmdArg,
		},
		Returns: []modules.Field{
			{Name: "can_talk_to_docker", Type: "bool", Doc: "the docker CLI and its Engine answered"},
			{Name: "host_info", Type: "map", Doc: "docker system info, as docker info --format '{{json .}}' gives it"},
			{Name: "containers", Type: "list", Doc: "with containers: true: [{Id, Image, Command, Created, Status, State, Ports, Names}]"},
		},
	}
}

// Validate checks the filters' shape without I/O.
func (DockerHostInfo) Validate(args modules.Args) error {
	_, err := dockerPSFilters(args.Map("containers_filters"))
	return err
}

// Check reads, as Apply does: the module changes nothing.
func (m DockerHostInfo) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

// Apply reads the host's facts and containers.
func (DockerHostInfo) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	filters, err := dockerPSFilters(args.Map("containers_filters"))
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	d := newDockerCLI(h, args)
	data := map[string]any{"can_talk_to_docker": false}
	out, err := d.runOK(ctx, "info", "--format", "{{json .}}")
	if err != nil {
		return modules.Fail(fmt.Sprintf("cannot talk to docker on %s: %v", h.Name, err), data), nil
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var info map[string]any
	if err := dec.Decode(&info); err != nil {
		return modules.Fail(fmt.Sprintf("docker info on %s did not give JSON: %v", h.Name, err), data), nil
	}
	data["can_talk_to_docker"] = true
	data["host_info"] = omsutil.Normalize(info)
	if !args.Bool("containers") {
		return modules.Result{Msg: "read the docker host's facts", Data: data}, nil
	}
	ps := []string{"ps", "--no-trunc", "--format", "{{json .}}"}
	if args.Bool("containers_all") {
		ps = append(ps, "--all")
	}
	for _, f := range filters {
		ps = append(ps, "--filter", f)
	}
	out, err = d.runOK(ctx, ps...)
	if err != nil {
		return modules.Fail(fmt.Sprintf("list containers on %s: %v", h.Name, err), data), nil
	}
	containers, err := parseDockerPS(out)
	if err != nil {
		return modules.Fail(fmt.Sprintf("docker ps on %s: %v", h.Name, err), data), nil
	}
	data["containers"] = containers
	return modules.Result{Msg: fmt.Sprintf("%d container(s) match", len(containers)), Data: data}, nil
}

// dockerPSFilters turns containers_filters into docker ps --filter values, sorted so that the
// command line is the same on every run.
func dockerPSFilters(m map[string]any) ([]string, error) {
	var out []string
	for k, v := range m {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return nil, fmt.Errorf("containers_filters: %q is not a docker ps filter name (e.g. name, ancestor, volume, label, status)", k)
		}
		values, ok := []any{v}, true
		switch x := v.(type) {
		case []any:
			values = x
		case []string:
			values = make([]any, len(x))
			for i, s := range x {
				values[i] = s
			}
		}
		for _, e := range values {
			var s string
			if s, ok = modules.ScalarString(e); !ok {
				return nil, fmt.Errorf("containers_filters: the value of %s must be a string or a list of strings, not %T", k, e)
			}
			out = append(out, k+"="+s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// psLine is one line of docker ps --format '{{json .}}'.
type psLine struct {
	ID        string `json:"ID"`
	Image     string `json:"Image"`
	Command   string `json:"Command"`
	CreatedAt string `json:"CreatedAt"`
	Status    string `json:"Status"`
	State     string `json:"State"`
	Ports     string `json:"Ports"`
	Names     string `json:"Names"`
}

// psCreatedLayout is how docker ps prints CreatedAt.
const psCreatedLayout = "2006-01-02 15:04:05 -0700 MST"

// parseDockerPS turns docker ps JSON lines into the Engine API's short container form.
func parseDockerPS(out string) ([]any, error) {
	containers := []any{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var l psLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("a line is not JSON: %w: %s", err, line)
		}
		if l.ID == "" {
			return nil, errors.New("a container without an ID: " + line)
		}
		cmd := l.Command
		if unq, err := strconv.Unquote(cmd); err == nil {
			cmd = unq // --no-trunc quotes the command
		}
		var created any = l.CreatedAt
		if t, err := time.Parse(psCreatedLayout, l.CreatedAt); err == nil {
			created = int(t.Unix())
		}
		names := []any{}
		for _, n := range strings.Split(l.Names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, "/"+strings.TrimPrefix(n, "/"))
			}
		}
		ports := []any{}
		for _, p := range strings.Split(l.Ports, ",") {
			if p = strings.TrimSpace(p); p != "" {
				ports = append(ports, p)
			}
		}
		containers = append(containers, map[string]any{
			"Id": l.ID, "Image": l.Image, "Command": cmd, "Created": created,
			"Status": l.Status, "State": l.State, "Ports": ports, "Names": names,
		})
	}
	return containers, nil
}
