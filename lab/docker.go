package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// labLabel marks every container the lab starts with its instance name, so that Down finds
// them even when an interrupted Up could not record their ids.
const labLabel = "org.omsbook.lab"

// docker runs the docker client and returns its trimmed standard output; a failure carries
// its standard error.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %s: %w", strings.Join(args, " "), strings.TrimSpace(stderr.String()), err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// runArgs are the guide's `docker run` arguments for a node's old container (U422-07 without
// IS_UPGRADE: this is a fresh deploy), plus the lab's label. They go through the docker
// recorder, which drops --privileged=true where the engine refuses it.
func (l *Lab) runArgs(n *Node) []string {
	args := []string{
		"run", "-d", "--net", "host",
		"-v", n.ConfigFile + ":/home/admin/conf/config.yaml",
		"-v", n.MountDir + "/logs:/home/admin/logs",
		"-v", n.MountDir + "/store:/home/ds/store",
		"-v", n.MountDir + "/run:/home/ds/run",
		"-e", "OMS_HOST_IP=" + n.IP,
		"--privileged=true",
	}
	if l.Config.SSLMounts {
		args = append(args,
			"-v", n.MountDir+"/https_crt:/etc/pki/nginx/oms_server.crt",
			"-v", n.MountDir+"/https_key:/etc/pki/nginx/oms_server.key")
	}
	return append(args,
		"--pids-limit", "-1", "--ulimit", "nproc=65535:65535",
		"--label", labLabel+"="+l.Name,
		"--name", n.OldContainer,
		imageTag(l.Version),
	)
}

// privilegedAllowed reports whether the engine runs privileged containers: it starts a
// throw-away one from image.
func privilegedAllowed(ctx context.Context, image string) bool {
	_, err := docker(ctx, "run", "--rm", "--privileged=true", "--net", "none", "--entrypoint", "/bin/true", image)
	return err == nil
}

// containerState returns a container's state ("running", "exited", ...) or "" when there is
// no such container.
func containerState(ctx context.Context, name string) string {
	out, err := docker(ctx, "inspect", "--format", "{{.State.Status}}", name)
	if err != nil {
		return ""
	}
	return out
}

// containerLogs returns the last lines of a container's output, for error messages.
func containerLogs(ctx context.Context, name string) string {
	out, err := exec.CommandContext(ctx, "docker", "logs", "--tail", "20", name).CombinedOutput()
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// labContainers lists the ids of every container, running or not, labelled for instance name.
func labContainers(ctx context.Context, name string) ([]string, error) {
	out, err := docker(ctx, "ps", "-a", "-q", "--no-trunc", "--filter", "label="+labLabel+"="+name)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// removeContainers removes containers by id or name, ignoring those that do not exist.
func removeContainers(ctx context.Context, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var uniq []string
	for _, r := range refs {
		if r != "" && !seen[r] {
			seen[r] = true
			uniq = append(uniq, r)
		}
	}
	// One `docker rm -f` per container: a missing one must not stop the others.
	var errs []string
	for _, r := range uniq {
		out, err := exec.CommandContext(ctx, "docker", "rm", "-f", "-v", r).CombinedOutput()
		if err != nil && !strings.Contains(strings.ToLower(string(out)), "no such container") {
			errs = append(errs, fmt.Sprintf("%s: %s", r, strings.TrimSpace(string(out))))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab: remove containers: %s", strings.Join(errs, "; "))
	}
	return nil
}

// containersMounting lists the ids of the containers, running or not, with a mount whose host
// side is dir or below it.
func containersMounting(ctx context.Context, dir string) ([]string, error) {
	all, err := docker(ctx, "ps", "-a", "-q", "--no-trunc")
	if err != nil || all == "" {
		return nil, err
	}
	out, err := docker(ctx, append([]string{"inspect", "--format", "{{.Id}}{{range .Mounts}} {{.Source}}{{end}}"}, strings.Fields(all)...)...)
	if err != nil {
		// A container removed between ps and inspect makes inspect fail: ask one by one.
		out = ""
		for _, id := range strings.Fields(all) {
			if line, err := docker(ctx, "inspect", "--format", "{{.Id}}{{range .Mounts}} {{.Source}}{{end}}", id); err == nil {
				out += line + "\n"
			}
		}
	}
	return mountingFrom(out, dir), nil
}

// mountingFrom picks, from lines "<id> <source> <source>...", the ids with a source at or
// under dir.
func mountingFrom(lines, dir string) []string {
	dir = filepath.Clean(dir)
	var ids []string
	for _, line := range strings.Split(lines, "\n") {
		f := strings.Fields(line)
		for _, src := range f[min(1, len(f)):] {
			if src == dir || strings.HasPrefix(src, dir+string(filepath.Separator)) {
				ids = append(ids, f[0])
				break
			}
		}
	}
	return ids
}

// runRecorded runs docker through the recorder and returns its trimmed standard output.
func (l *Lab) runRecorded(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, l.RecorderPath(), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %s: %w", strings.Join(args, " "), strings.TrimSpace(stderr.String()), err)
	}
	return strings.TrimSpace(stdout.String()), nil
}
