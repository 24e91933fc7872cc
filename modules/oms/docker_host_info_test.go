package oms

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// fakeDockerPS writes a docker CLI stand-in that records its argv and answers info and ps
// with the given output (exit 1 and a message for info when down).
func fakeDockerPS(t *testing.T, ps string, down bool) (cmd, argvLog string) {
	t.Helper()
	dir := t.TempDir()
	argvLog = filepath.Join(dir, "argv")
	psOut := filepath.Join(dir, "ps.out")
	if err := os.WriteFile(psOut, []byte(ps), 0o644); err != nil {
		t.Fatal(err)
	}
	infoCase := `echo '{"ServerVersion":"20.10.24","Containers":3,"NCPU":2,"Name":"host-1"}'`
	if down {
		infoCase = `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`
	}
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + argvLog + "\ncase \"$1\" in\ninfo) " + infoCase + " ;;\nps) cat " + psOut + " ;;\n*) exit 3 ;;\nesac\n"
	cmd = filepath.Join(dir, "docker")
	if err := os.WriteFile(cmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return cmd, argvLog
}

func TestDockerHostInfo(t *testing.T) {
	const psOut = `{"Command":"\"/bin/omssim serve\"","CreatedAt":"2026-12-01 19:54:56 +0000 UTC","ID":"f203f4462a6b","Image":"oms:feature_4.2.3-ce","Labels":"","Mounts":"/data/oms/logs","Names":"oms_10_0_0_11","Ports":"","State":"running","Status":"Up 2 minutes"}
{"Command":"\"bash\"","CreatedAt":"2026-12-01 19:50:00 +0000 UTC","ID":"aa11","Image":"oms:feature_4.2.3-ce","Names":"tool,alias","Ports":"0.0.0.0:80->80/tcp, :::80->80/tcp","State":"exited","Status":"Exited (0) 1 minute ago"}
`
	tests := []struct {
		name     string
		raw      map[string]any
		down     bool
		wantArgv []string
		want     []any // containers; nil: not listed
		failed   string
	}{
		{
			name:     "host facts only",
			raw:      map[string]any{},
			wantArgv: []string{"info --format {{json .}}"},
		},
		{
			name: "filtered containers, stopped ones too",
			raw: map[string]any{"containers": true, "containers_all": true,
				"containers_filters": map[string]any{"volume": "/data/oms/logs", "ancestor": "oms:feature_4.2.3-ce", "status": []any{"running", "exited"}}},
			wantArgv: []string{"info --format {{json .}}",
				"ps --no-trunc --format {{json .}} --all --filter ancestor=oms:feature_4.2.3-ce --filter status=exited --filter status=running --filter volume=/data/oms/logs"},
			want: []any{
				map[string]any{"Id": "f203f4462a6b", "Image": "oms:feature_4.2.3-ce", "Command": "/bin/omssim serve", "Created": 1796154896,
					"Status": "Up 2 minutes", "State": "running", "Ports": []any{}, "Names": []any{"/oms_10_0_0_11"}},
				map[string]any{"Id": "aa11", "Image": "oms:feature_4.2.3-ce", "Command": "bash", "Created": 1796154600,
					"Status": "Exited (0) 1 minute ago", "State": "exited", "Ports": []any{"0.0.0.0:80->80/tcp", ":::80->80/tcp"}, "Names": []any{"/tool", "/alias"}},
			},
		},
		{
			name:   "docker down",
			raw:    map[string]any{"containers": true},
			down:   true,
			failed: "cannot talk to docker on localhost",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, argvLog := fakeDockerPS(t, psOut, tt.down)
			raw := map[string]any{"docker_cmd": cmd}
			for k, v := range tt.raw {
				raw[k] = v
			}
			m := DockerHostInfo{}
			args := coerceArgs(t, m, raw)
			for _, check := range []bool{false, true} {
				_ = os.Remove(argvLog)
				run := m.Apply
				if check {
					run = m.Check // read-only: check mode runs the same probes
				}
				r, err := run(context.Background(), newTestHost(t).Host, args)
				if err != nil {
					t.Fatal(err)
				}
				if tt.failed != "" {
					if !r.Failed || !strings.Contains(r.Msg, tt.failed) || !strings.Contains(r.Msg, "Is the docker daemon running?") || r.Data["can_talk_to_docker"] != false {
						t.Fatalf("%+v, want a failure %q with docker's message", r, tt.failed)
					}
					return
				}
				if r.Failed || r.Changed {
					t.Fatalf("%+v, want ok", r)
				}
				b, _ := os.ReadFile(argvLog)
				if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !reflect.DeepEqual(got, tt.wantArgv) {
					t.Fatalf("docker calls:\n%q\nwant\n%q", got, tt.wantArgv)
				}
				if info := r.Data["host_info"].(map[string]any); info["ServerVersion"] != "20.10.24" || info["Containers"] != 3 {
					t.Fatalf("host_info = %v", info)
				}
				got, listed := r.Data["containers"]
				if (tt.want == nil) == listed {
					t.Fatalf("containers listed = %v, want listed %v", listed, tt.want != nil)
				}
				if listed && !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("containers:\n%#v\nwant\n%#v", got, tt.want)
				}
			}
		})
	}
}

func TestDockerHostInfoValidate(t *testing.T) {
	m := DockerHostInfo{}
	for _, bad := range []map[string]any{
		{"containers_filters": map[string]any{"name=x": "y"}},
		{"containers_filters": map[string]any{"label": map[string]any{"a": "b"}}},
		{"containers_filters": map[string]any{"label": []any{"a", []any{"b"}}}},
	} {
		if err := m.Validate(coerceArgs(t, m, bad)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	if err := m.Validate(coerceArgs(t, m, map[string]any{"containers_filters": map[string]any{"label": []any{"a=b", "c"}, "exited": 0}})); err != nil {
		t.Errorf("valid filters: %v", err)
	}
}

// TestDockerHostInfoWithDocker lists real containers of the machine's Docker Engine: a running
// one that bind-mounts a directory and a stopped one from the same image. The filters find
// them by image and mount (as U410-04 finds the container the deploy script started), by name
// prefix (as U410-03 finds the throw-away containers of killed runs), and stopped ones only
// with containers_all.
func TestDockerHostInfoWithDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs containers in the machine's Docker Engine (not in -short mode)")
	}
	needDocker(t)
	ctx := testCtx(t, 2*time.Minute)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	running := testContainerName(t, "info-run")
	prefix := strings.TrimSuffix(running, "info-run")
	stopped := prefix + "info-stop"
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", stopped).Run() })
	runDocker(t, "run", "-d", "--name", running, "-v", logs+":/home/admin/logs", testImage, "sleep", "600")
	runDocker(t, "create", "--name", stopped, testImage, "true")

	m := DockerHostInfo{}
	find := func(filters map[string]any, all bool) []string {
		t.Helper()
		r, err := m.Check(ctx, newTestHost(t).Host, coerceArgs(t, m, map[string]any{"containers": true, "containers_all": all, "containers_filters": filters}))
		if err != nil || r.Failed || r.Changed || r.Data["can_talk_to_docker"] != true {
			t.Fatalf("%v: %+v, %v", filters, r, err)
		}
		var names []string
		for _, c := range r.Data["containers"].([]any) {
			c := c.(map[string]any)
			if c["Image"] != testImage || len(c["Id"].(string)) != 64 || c["Created"].(int) < 1e9 {
				t.Errorf("container facts %v", c)
			}
			for _, n := range c["Names"].([]any) {
				names = append(names, n.(string))
			}
		}
		sort.Strings(names)
		return names
	}
	if got := find(map[string]any{"ancestor": testImage, "volume": logs}, true); !reflect.DeepEqual(got, []string{"/" + running}) {
		t.Errorf("by image and bind source: %v, want [/%s]", got, running)
	}
	if got := find(map[string]any{"name": "^/" + regexp.QuoteMeta(prefix)}, true); !reflect.DeepEqual(got, []string{"/" + running, "/" + stopped}) {
		t.Errorf("by name prefix, all: %v", got)
	}
	if got := find(map[string]any{"name": "^/" + regexp.QuoteMeta(prefix)}, false); !reflect.DeepEqual(got, []string{"/" + running}) {
		t.Errorf("by name prefix, running only: %v", got)
	}
	if got := find(map[string]any{"name": "^/" + regexp.QuoteMeta(prefix), "status": "exited"}, true); len(got) != 0 {
		t.Errorf("a created container is not exited: %v", got)
	}
}
