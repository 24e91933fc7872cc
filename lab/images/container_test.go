package images

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/omssim"
	"github.com/omsbook/omsbook/lab/omssim/simtest"
)

// These tests run the built images as the lab does. Node IPs 127.0.0.56-59 belong to them
// (lab/omssim's in-process tests use 127.0.0.51-55).

// docker runs the docker client and returns its combined output.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// node is one lab node of a test: a mount directory with logs/ store/ run/ and a config file.
type node struct {
	t      *testing.T
	ip     string
	dir    string
	config string
	prefix string
}

func newTestNode(t *testing.T, m *simtest.MetaDB, ip string) *node {
	dir := t.TempDir()
	for _, d := range []string{"logs", "store", "run"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	cfg := simtest.WriteConfig(t, dir, "config.yaml", m.Config(simtest.ConfigOptions{Nodes: []string{ip}}))
	return &node{t: t, ip: ip, dir: dir, config: cfg, prefix: strings.TrimSuffix(m.Prefix, "_")}
}

// run starts a container of version as the guide does (U422-07) and removes it at the end.
func (n *node) run(name, version string, upgrade bool) string {
	n.t.Helper()
	name = n.prefix + "_" + name
	args := []string{"run", "-dit", "--net", "host",
		"-v", n.config + ":/home/admin/conf/config.yaml",
		"-v", n.dir + "/logs:/home/admin/logs", "-v", n.dir + "/store:/home/ds/store", "-v", n.dir + "/run:/home/ds/run",
		"-e", "OMS_HOST_IP=" + n.ip}
	if upgrade {
		args = append(args, "-e", "IS_UPGRADE=true")
	}
	if privilegedWorks(n.t) {
		args = append(args, "--privileged=true")
	}
	args = append(args, "--pids-limit", "-1", "--ulimit", "nproc=65535:65535", "--name", name, Tag(version))
	// A failed start can still leave a created container behind: clean up either way.
	n.t.Cleanup(func() { docker("rm", "-f", name) })
	if out, err := docker(args...); err != nil {
		n.t.Fatalf("docker run %s: %v\n%s", name, err, out)
	}
	return name
}

var privileged *bool

// privilegedWorks reports whether this Docker Engine can run --privileged containers (an
// engine inside a container often cannot: "unable to apply caps").
func privilegedWorks(t *testing.T) bool {
	if privileged == nil {
		_, err := docker("run", "--rm", "--privileged=true", Tag("4.2.2"), "true")
		ok := err == nil
		privileged = &ok
		if !ok {
			t.Log("this Docker Engine cannot run privileged containers: the tests run them without --privileged=true")
		}
	}
	return *privileged
}

func (n *node) health() (omssim.Health, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + n.ip + ":8089/oms/health")
	if err != nil {
		return omssim.Health{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Success bool          `json:"success"`
		Data    omssim.Health `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return omssim.Health{}, err
	}
	if !body.Success {
		return omssim.Health{}, errors.New("success is false")
	}
	return body.Data, nil
}

func (n *node) waitHealth(container string, limit time.Duration, what string, ok func(omssim.Health) bool) {
	n.t.Helper()
	deadline := time.Now().Add(limit)
	var h omssim.Health
	var err error
	for time.Now().Before(deadline) {
		if h, err = n.health(); err == nil && ok(h) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs, _ := docker("logs", container)
	n.t.Fatalf("%s (%s): not %s within %s: last health %+v, %v\ncontainer log:\n%s", container, n.ip, what, limit, h, err, logs)
}

func isHealthy(h omssim.Health) bool { return h.Healthy }

// isRunning: healthy and past any pending upgrade (Online).
func isRunning(h omssim.Health) bool { return h.Healthy && h.Status == "running" }

func pending(h omssim.Health) bool { return strings.HasPrefix(h.Status, "upgrade pending") }

// needLab builds the images and reserves MetaDB databases for the test.
func needLab(t *testing.T) *simtest.MetaDB {
	buildForTest(t)
	return simtest.NewMetaDB(t)
}

// TestContainerUpgrade422To423 walks U422-02..10 with real containers.
func TestContainerUpgrade422To423(t *testing.T) {
	m := needLab(t)
	n := newTestNode(t, m, "127.0.0.56")
	old := n.run("old", "4.2.2", false)
	start := time.Now()
	n.waitHealth(old, 5*time.Second, "healthy", isHealthy)
	t.Logf("4.2.2 container healthy %s after docker run", time.Since(start))
	if logs, _ := docker("logs", old); !strings.Contains(logs, omssim.StartedLine) {
		t.Errorf("container log lacks %q:\n%s", omssim.StartedLine, logs)
	}
	hb := m.Name("hb1")
	c1 := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip=?", n.ip)
	time.Sleep(3 * time.Second)
	if c2 := m.Count(t, "SELECT COUNT(*) FROM "+hb+".heatbeat_sequence WHERE host_ip=?", n.ip); c2 < c1+2 {
		t.Errorf("heartbeats did not advance: %d -> %d", c1, c2)
	}
	if s := m.String(t, "SELECT host_status FROM "+m.Name("cm")+".host WHERE ip=?", n.ip); s != "ONLINE" {
		t.Errorf("host_status %q, want ONLINE", s)
	}
	stop := time.Now()
	if out, err := docker("stop", old); err != nil {
		t.Fatalf("docker stop: %v %s", err, out)
	}
	t.Logf("docker stop took %s", time.Since(stop))
	if d := time.Since(stop); d > 5*time.Second {
		t.Errorf("docker stop took %s (the service must exit promptly on SIGTERM)", d)
	}
	if s := m.String(t, "SELECT host_status FROM "+m.Name("cm")+".host WHERE ip=?", n.ip); s != "OFFLINE" {
		t.Errorf("host_status after docker stop %q, want OFFLINE", s)
	}

	// The new image with IS_UPGRADE waits for docker_init.sh.
	newer := n.run("new", "4.2.3", true)
	n.waitHealth(newer, 5*time.Second, "upgrade pending", pending)
	out, err := docker("exec", newer, "bash", "/root/docker_init.sh")
	if err != nil {
		t.Fatalf("docker_init.sh: %v\n%s", err, out)
	}
	n.waitHealth(newer, 3*time.Second, "running after docker_init.sh", isRunning)
	if logs, err := omssim.InitLogs(filepath.Join(n.dir, "logs")); err != nil || len(logs) != 1 {
		t.Errorf("docker_init_<time>.log files: %v, %v; want one", logs, err)
	}
	// Not idempotent: a second run in the region with the same config file fails.
	if out, err := docker("exec", newer, "bash", "/root/docker_init.sh"); err == nil || !strings.Contains(out, "init is not idempotent") {
		t.Errorf("second docker_init.sh: %v\n%s", err, out)
	}
}

// TestContainerVersionBefore411 reproduces U422-09's message and its fix.
func TestContainerVersionBefore411(t *testing.T) {
	m := needLab(t)
	n := newTestNode(t, m, "127.0.0.57")
	old := n.run("old", "4.2.2", false)
	n.waitHealth(old, 5*time.Second, "healthy", isHealthy)
	docker("stop", old)
	m.Exec(t, "DROP TABLE "+m.Name("rm")+".oms_version")
	newer := n.run("new", "4.2.3", true)
	n.waitHealth(newer, 5*time.Second, "upgrade pending", pending)
	out, err := docker("exec", newer, "bash", "/root/docker_init.sh")
	if err == nil || !strings.Contains(out, omssim.MsgVersionBefore411) {
		t.Fatalf("docker_init.sh without oms_version: %v\n%s", err, out)
	}
	m.Exec(t, "CREATE TABLE IF NOT EXISTS "+m.Name("rm")+".oms_version (version varchar(64) NOT NULL, gmt_modified timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY(version)) DEFAULT CHARSET=utf8mb4")
	m.Exec(t, "REPLACE INTO "+m.Name("rm")+".oms_version(version) VALUES('4.2.2-CE')")
	if out, err := docker("exec", newer, "bash", "/root/docker_init.sh"); err != nil {
		t.Fatalf("docker_init.sh after the fix: %v\n%s", err, out)
	}
	n.waitHealth(newer, 3*time.Second, "running after the fix", isRunning)
}

// TestContainer410Path walks U410-01..05 and R410-01..04 with the real scripts: the deploy
// script runs on the host under dash with piped answers.
func TestContainer410Path(t *testing.T) {
	m := needLab(t)
	n := newTestNode(t, m, "127.0.0.58")
	old := n.run("old", "4.1.0", false)
	n.waitHealth(old, 5*time.Second, "healthy", isHealthy)

	work := t.TempDir()
	// U410-01: copy the config out of the old container; U410-02: stop it.
	if out, err := docker("cp", old+":/home/admin/conf/config.yaml", work); err != nil {
		t.Fatalf("docker cp config: %v %s", err, out)
	}
	docker("stop", old)
	// U410-03: extract the deploy script from the new image, as the guide does.
	tool := n.prefix + "_config_tool"
	t.Cleanup(func() { docker("rm", "-f", tool) })
	if out, err := docker("run", "-d", "--net", "host", "--name", tool, Tag("4.2.3"), "bash"); err != nil {
		t.Fatalf("docker run tool: %v %s", err, out)
	}
	script := filepath.Join(work, "docker_remote_deploy_410_up_423_version.sh")
	if out, err := docker("cp", tool+":/root/docker_remote_deploy_410_up_423_version.sh", work); err != nil {
		t.Fatalf("docker cp script: %v %s", err, out)
	}
	docker("rm", "-f", tool)

	// U410-04, with one wrong answer first. Answers: mode, task, exists-continue, reinitialise,
	// settings, mount dir (default), image, SSL, config path, new region.
	newName := n.prefix + "_new"
	t.Cleanup(func() { docker("rm", "-f", newName) })
	answers := "3\n2\n1\ny\ny\ny\n\ny\nn\ny\nn\n"
	shell := "dash"
	if _, err := exec.LookPath(shell); err != nil {
		shell = "sh"
	}
	cmd := exec.Command(shell, script, "-o", n.dir, "-c", filepath.Join(work, "config.yaml"), "-i", n.ip, "-d", Tag("4.2.3"), "-n", newName)
	cmd.Stdin = strings.NewReader(answers)
	cmd.Dir = work
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err != nil {
		t.Fatalf("deploy script: %v\n%s", err, out)
	}
	order := []string{
		"Select a deployment mode", "Invalid input \"3\"", "Use Configuration File Uploaded with Script Option [-c]",
		"The specified database names already exist in the MetaDB. Are you sure that you want to continue?",
		"The specified database names already exist in the MetaDB. Do you want to reinitialize the MetaDB?",
		"Are the settings correct?", "Enter the mount directory", "Use OMS_IMAGE=" + Tag("4.2.3"),
		"Mount an SSL certificate", "The config.yaml file will be written to", "deploy OMS Community Edition in a new region?",
		"[Completed] OMS Community Edition V4.2.3 is deployed on " + n.ip,
	}
	pos := 0
	for _, want := range order {
		i := strings.Index(out[pos:], want)
		if i < 0 {
			t.Fatalf("deploy script output lacks %q after position %d:\n%s", want, pos, out)
		}
		pos += i + len(want)
	}
	if strings.Contains(out, m.Server.Password) {
		t.Error("the deploy script printed the MetaDB password")
	}
	if _, err := os.Stat(filepath.Join(work, "config_copy.yaml")); err != nil {
		t.Errorf("config_copy.yaml: %v", err)
	}
	n.waitHealth(newName, 5*time.Second, "upgrade pending", pending)

	// U410-05.
	up, err := docker("exec", newName, "sh", "/root/docker_oms_ce_version_upgrade.sh")
	if err != nil || !strings.Contains(up, omssim.MsgCompleted) {
		t.Fatalf("upgrade script: %v\n%s", err, up)
	}
	n.waitHealth(newName, 3*time.Second, "running after the upgrade", isRunning)

	// R410-01..04.
	back, err := docker("exec", newName, "/root/docker_oms_ce_version_roll_back.sh")
	if err != nil || !strings.Contains(back, omssim.MsgCompleted) {
		t.Fatalf("rollback script: %v\n%s", err, back)
	}
	docker("stop", newName)
	docker("rm", newName)
	a, _ := os.ReadFile(filepath.Join(work, "config.yaml"))
	b, _ := os.ReadFile(filepath.Join(work, "config_copy.yaml"))
	if string(a) != string(b) {
		t.Error("config.yaml differs from config_copy.yaml after the deploy")
	}
	if out, err := docker("start", old); err != nil {
		t.Fatalf("docker start old: %v %s", err, out)
	}
	n.waitHealth(old, 5*time.Second, "V4.1.0 healthy after the rollback", isHealthy)
}

// TestContainerFaultExit switches the exit fault on through the run mount.
func TestContainerFaultExit(t *testing.T) {
	m := needLab(t)
	n := newTestNode(t, m, "127.0.0.59")
	c := n.run("faulty", "4.2.2", false)
	n.waitHealth(c, 5*time.Second, "healthy", isHealthy)
	os.MkdirAll(filepath.Join(n.dir, "run", "omssim-faults"), 0o755)
	os.WriteFile(filepath.Join(n.dir, "run", "omssim-faults", "exit"), nil, 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		state, _ := docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", c)
		if state == "exited 1" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	state, _ := docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", c)
	t.Fatalf("container %s did not exit with 1 after the exit fault: %s", c, state)
}

// TestContainerStrict runs a strict-profile container (node IP 127.0.9.5; the strict tests
// own 127.0.9.1-20): the port accepts at once but the console answers 502 and the log has no
// start-up line before the start-up delay; afterwards health says only "healthy", heart_beat
// has several rows for the host, and `docker stop` ends by SIGKILL after Docker's 10 s.
func TestContainerStrict(t *testing.T) {
	m := needLab(t)
	const ip = "127.0.9.5"
	n := newTestNode(t, m, ip)
	if err := os.WriteFile(filepath.Join(n.dir, "run", omssim.ProfileFileName), []byte("strict startup=6s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := n.run("strict", "4.2.2", false)
	started := time.Now()
	code := 0
	for time.Since(started) < 5*time.Second && code == 0 {
		if resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + ip + ":8089/oms/health"); err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	logs, _ := docker("logs", c)
	if code != http.StatusBadGateway {
		t.Errorf("health while the console starts: HTTP %d, want 502", code)
	}
	if strings.Contains(logs, omssim.StartedLine) {
		t.Errorf("start-up line before the 6 s start-up delay:\n%s", logs)
	}
	n.waitHealth(c, 60*time.Second, "healthy", isHealthy)
	if logs, _ := docker("logs", c); !strings.Contains(logs, omssim.StartedLine) {
		t.Errorf("docker logs lack %q:\n%s", omssim.StartedLine, logs)
	}
	if b, _ := os.ReadFile(filepath.Join(n.dir, "logs", "oms.log")); !strings.Contains(string(b), omssim.StartedLine) {
		t.Errorf("oms.log lacks %q", omssim.StartedLine)
	}
	resp, err := http.Get("http://" + ip + ":8089/oms/health")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if len(body["data"]) != 1 || body["data"]["healthy"] != true {
		t.Errorf("strict health data %v, want only healthy: true", body["data"])
	}
	time.Sleep(2 * time.Second)
	if rows := m.Count(t, "SELECT COUNT(*) FROM "+m.Name("hb1")+".heart_beat WHERE host_ip=?", ip); rows < 3 {
		t.Errorf("%d heart_beat rows for %s, want several", rows, ip)
	}
	stopStart := time.Now()
	if out, err := docker("stop", c); err != nil {
		t.Fatalf("docker stop: %v %s", err, out)
	}
	t.Logf("docker stop took %s", time.Since(stopStart))
	if state, _ := docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", c); state != "exited 137" {
		t.Errorf("after docker stop: %q, want exited 137 (killed after ignoring SIGTERM)", state)
	}
	// Killed: the host row stays as it was.
	if s := m.String(t, "SELECT host_status FROM "+m.Name("cm")+".host WHERE ip=?", ip); s != "ONLINE" {
		t.Errorf("host_status after the kill %q, want ONLINE (as it was)", s)
	}

	// The deploy script takes only the guide's options in strict.
	out, err := docker("run", "--rm", "--net", "none", "-e", "OMSSIM_PROFILE=strict", Tag("4.2.3"),
		"sh", "/root/docker_remote_deploy_410_up_423_version.sh", "-o", "/home/ds", "-c", "/x.yaml", "-i", ip, "-d", Tag("4.2.3"), "-n", "mine")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "illegal option -- n") {
		t.Errorf("deploy script with -n in strict: %v\n%s", err, out)
	}
}
