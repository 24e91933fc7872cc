package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/omssim"
)

// TestLabStrict brings up a strict-profile lab (127.0.9.11-12; the strict tests own
// 127.0.9.1-20) and checks what the strict profile serves, the docker recorder and that Down
// removes the containers the playbooks would leave: throw-away ones started through the
// recorder and new ones, whatever their names, on the lab's mounts.
func TestLabStrict(t *testing.T) {
	l := ForTest(t, Config{Name: "strictlab", FirstIP: "127.0.9.11", Profile: omssim.ProfileStrict, StrictStartup: 3 * time.Second,
		Regions: []Region{{Name: "hangzhou", Nodes: 2}}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	inv, err := os.ReadFile(l.InventoryPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docker_cmd: " + q(l.RecorderPath()), "oms_privileged: true", `lab_profile: "strict"`, "lab_startup_seconds: 3"} {
		if !strings.Contains(string(inv), want) {
			t.Errorf("inventory lacks %q", want)
		}
	}
	for _, n := range l.Nodes {
		b, err := os.ReadFile(filepath.Join(n.MountDir, "run", omssim.ProfileFileName))
		if err != nil || string(b) != "strict startup=3s\n" {
			t.Errorf("%s: profile file %q, %v", n.Name, b, err)
		}
		resp, err := http.Get(n.HealthURL())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != `{"data":{"healthy":true},"success":true}` {
			t.Errorf("%s: health %s", n.Name, body)
		}
	}
	db, err := l.OpenDB(ctx, l.DB.Heartbeat[0])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, n := range l.Nodes {
		var rows int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM heart_beat WHERE host_ip = ?", n.IP).Scan(&rows); err != nil || rows < 3 {
			t.Errorf("%s: %d heart_beat rows (%v), want several", n.Name, rows, err)
		}
	}

	// The lab's own docker run went through the recorder with the guide's --privileged=true.
	argv, err := l.DockerArgv()
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, a := range argv {
		if subcommand(a) == "run" && slices.Contains(a, "--privileged=true") && slices.Contains(a, "OMS_HOST_IP=***") {
			runs++
		}
	}
	if runs != len(l.Nodes) {
		t.Errorf("recorded %d old-container runs with --privileged=true, want %d:\n%q", runs, len(l.Nodes), argv)
	}
	priv, err := l.runRecorded(ctx, "inspect", l.Nodes[0].OldContainer)
	if err != nil || !strings.Contains(priv, `"Privileged": true`) {
		t.Errorf("docker inspect through the recorder does not say Privileged: %v", err)
	}

	// Init twice in strict: not refused, and the second run is recorded as a rerun.
	for i := 0; i < 2; i++ {
		if out, err := l.runRecorded(ctx, "exec", l.Nodes[0].OldContainer, "bash", "/root/docker_init.sh"); err != nil {
			t.Fatalf("docker_init.sh run %d: %v\n%s", i+1, err, out)
		}
	}
	runs2, err := l.InitRuns(ctx)
	if err != nil || len(runs2) != 2 || runs2[0].Result != "SUCCESS" || runs2[1].Result != "SUCCESS" ||
		runs2[0].Message != "" || runs2[1].Message != omssim.MsgInitRerun || runs2[1].Region != "hangzhou" {
		t.Errorf("init runs %+v, %v", runs2, err)
	}
	if logs, err := omssim.InitLogs(filepath.Join(l.Nodes[0].MountDir, "logs")); err != nil || len(logs) == 0 {
		t.Errorf("docker_init_<time>.log in the node's logs mount: %v, %v", logs, err)
	}

	// docker stop: the strict service ignores SIGTERM past Docker's 10 s, so it is killed.
	stopStart := time.Now()
	if out, err := l.runRecorded(ctx, "stop", l.Nodes[1].OldContainer); err != nil {
		t.Fatalf("docker stop: %v %s", err, out)
	}
	t.Logf("docker stop took %s", time.Since(stopStart))
	if code, err := docker(ctx, "inspect", "--format", "{{.State.ExitCode}}", l.Nodes[1].OldContainer); err != nil || code != "137" {
		t.Errorf("exit code after docker stop %q (%v), want 137 (SIGKILL)", code, err)
	}

	// Containers Down must remove: a throw-away one started through the recorder, and one on
	// a node's mounts with a name nobody recorded. Another lab's throw-away one stays.
	image := imageTag(l.NewVersion)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	tool := "oms-config-tool-oms-hz-1-" + suffix
	if out, err := l.runRecorded(ctx, "run", "-d", "--net", "none", "--name", tool, image, "sleep", "600"); err != nil {
		t.Fatalf("throw-away container: %v %s", err, out)
	}
	unnamed := "oms_127_0_9_11_" + suffix
	if out, err := docker(ctx, "run", "-d", "--net", "none", "-v", l.Nodes[0].MountDir+"/logs:/home/admin/logs", "--name", unnamed, image, "sleep", "600"); err != nil {
		t.Fatalf("container on the node's mounts: %v %s", err, out)
	}
	other := "oms-config-tool-oms-hz-1-other" + suffix
	if out, err := docker(ctx, "run", "-d", "--net", "none", "--name", other, image, "sleep", "600"); err != nil {
		t.Fatalf("another lab's container: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", other).Run() })
	if err := l.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for _, name := range []string{tool, unnamed} {
		if st := containerState(ctx, name); st != "" {
			t.Errorf("container %s left after Down (%s)", name, st)
		}
	}
	if st := containerState(ctx, other); st == "" {
		t.Errorf("Down removed %s, which is not this lab's", other)
	}
}
