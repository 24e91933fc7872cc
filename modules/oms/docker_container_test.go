package oms

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestParseDockerUlimit(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"nproc=65535:65535", "nproc=65535:65535", false},
		{"nofile=1024", "nofile=1024:1024", false},
		{"nproc", "", true},
		{"nproc=x", "", true},
		{"nproc=1:y", "", true},
	}
	for _, tt := range tests {
		u, err := parseDockerUlimit(tt.in)
		if (err != nil) != tt.err || (err == nil && u.String() != tt.want) {
			t.Errorf("parseDockerUlimit(%q) = %v, %v; want %q, err %v", tt.in, u, err, tt.want, tt.err)
		}
	}
}

func TestDockerContainerValidate(t *testing.T) {
	m := DockerContainer{}
	tests := []struct {
		name string
		args map[string]any
		want string
	}{
		{"two actions", map[string]any{"name": "c", "state": "started", "exec": "ls"}, "give only one of state, exec"},
		{"copy_from without dest", map[string]any{"name": "c", "copy_from": "/x"}, "copy_from needs dest"},
		{"copy_to without src", map[string]any{"name": "c", "copy_to": "/x"}, "copy_to needs src"},
		{"bind_targets alone", map[string]any{"name": "c", "state": "started", "bind_targets": []any{"/x"}}, "name the container to carry the mounts of in binds_from"},
		{"binds_from alone", map[string]any{"name": "c", "state": "started", "binds_from": "old"}, ""},
		{"inspect only", map[string]any{"name": "c"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Validate(coerceArgs(t, m, tt.args))
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSpecDiffMasksSecretEnv(t *testing.T) {
	oh := newTestHost(t)
	m := DockerContainer{}
	dc := &dockerContainerRun{h: oh.Host, args: coerceArgs(t, m, map[string]any{"name": "c", "secret_env": []any{"DB_PW"}})}
	var ci containerInspect
	ci.Config.Image = "img:1"
	ci.Config.Env = []string{"DB_PW=old-secret-value", "OMS_HOST_IP=1.1.1.1", "PATH=/bin"}
	pl := int64(0)
	ci.HostConfig.PidsLimit = &pl
	n := -1
	lines, _, _ := dc.specDiff(runSpec{image: "img:2", env: map[string]string{"DB_PW": "new-secret-value", "OMS_HOST_IP": "1.1.1.1"}, pidsLimit: &n}, &ci)
	got := strings.Join(lines, "\n")
	if strings.Contains(got, "secret-value") {
		t.Fatalf("diff shows a secret: %s", got)
	}
	for _, want := range []string{"image: want img:2, have img:1", "env DB_PW: want ********, have ******** (differs)"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "OMS_HOST_IP") || strings.Contains(got, "pids_limit") {
		t.Errorf("equal fields reported as different: %s", got)
	}
}

// runArgsU422 is the run spec of the guide's U422-07, on the test image.
func runArgsU422(name, dir string) map[string]any {
	return map[string]any{
		"name": name, "state": "started", "image": testImage, "network_mode": "host",
		"binds": []any{dir + "/logs:/home/admin/logs", dir + "/store:/home/ds/store", dir + "/run:/home/ds/run"},
		"env":   map[string]any{"OMS_HOST_IP": "127.0.0.31", "IS_UPGRADE": "true", "OMS_META_PASSWORD": "very-secret-pw-31"},
		// privileged: true fails in this machine's nested Docker ("unable to apply caps"), so
		// the test compares privileged false; the flag is passed the same way.
		"privileged": false, "pids_limit": -1, "ulimits": []any{"nproc=65535:65535"},
		"command": "sleep 3600", "detach": true, "interactive": true, "tty": true,
	}
}

func TestDockerContainerLifecycle(t *testing.T) {
	ctx, oh, name := dockerContainerTest(t, "life", 3*time.Minute)
	m := DockerContainer{}
	dir := dataMountDir(t)
	run := coerceArgs(t, m, runArgsU422(name, dir))

	// Check before Apply changes nothing: the container it would run is still not there.
	// (Only the test's own container is looked at: other tests' containers come and go on
	// the same engine meanwhile, and a status such as "Up 3 seconds" ages by itself.)
	ps := func() string {
		return runDocker(t, "ps", "-a", "--filter", "name=^"+name+"$", "--format", "{{.ID}} {{.Names}} {{.State}}")
	}
	psBefore := ps()
	r, err := m.Check(ctx, oh.Host, run)
	if err != nil || !r.Changed || r.Failed || r.Data["action"] != "run" {
		t.Fatalf("check on a missing container = %+v, %v; want would run", r, err)
	}
	if after := ps(); after != psBefore || after != "" {
		t.Fatalf("check changed docker ps -a:\n%s\n->\n%s", psBefore, after)
	}

	r, err = m.Apply(ctx, oh.Host, run)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("first apply = %+v, %v; want changed", r, err)
	}
	facts := r.Data["container"].(map[string]any)
	if facts["running"] != true || facts["image"] != testImage {
		t.Fatalf("facts = %v", facts)
	}
	env := facts["env"].(map[string]any)
	if env["OMS_META_PASSWORD"] != "********" || env["OMS_HOST_IP"] != "127.0.0.31" {
		t.Fatalf("registered env = %v; want the password masked", env)
	}
	if oh.Mask("x very-secret-pw-31 y") != "x ******** y" {
		t.Fatalf("the secret env value was not registered as a secret")
	}
	if got := runDocker(t, "exec", name, "sh", "-c", "echo $OMS_META_PASSWORD"); got != "very-secret-pw-31" {
		t.Fatalf("the env file did not reach the container: %q", got)
	}
	mounts := facts["mounts"].([]any)
	if len(mounts) != 3 {
		t.Fatalf("mounts = %v", mounts)
	}

	// docker inspect lists mounts in no stable order: compare what a change would touch.
	inspectFormat := "{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{json .Config}} {{json .HostConfig}}"
	inspectBefore := runDocker(t, "inspect", "--format", inspectFormat, name)
	r, err = m.Apply(ctx, oh.Host, run)
	if err != nil || r.Changed || r.Failed {
		t.Fatalf("second apply = %+v, %v; want ok", r, err)
	}
	r, err = m.Check(ctx, oh.Host, run)
	if err != nil || r.Changed || r.Failed {
		t.Fatalf("check on the running container = %+v, %v; want ok", r, err)
	}
	if got := runDocker(t, "inspect", "--format", inspectFormat, name); got != inspectBefore {
		t.Fatalf("a second apply or a check changed the container:\n%s\n->\n%s", inspectBefore, got)
	}

	// A different spec fails with a diff, unless recreate.
	changedSpec := runArgsU422(name, dir)
	changedSpec["env"].(map[string]any)["OMS_HOST_IP"] = "127.0.0.32"
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, changedSpec))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "env OMS_HOST_IP: want 127.0.0.32, have 127.0.0.31") || !strings.Contains(r.Msg, "recreate: true") || r.Diff == nil {
		t.Fatalf("apply with another spec = %+v, %v; want a failure with the diff", r, err)
	}
	changedSpec["recreate"] = true
	r, err = m.Check(ctx, oh.Host, coerceArgs(t, m, changedSpec))
	if err != nil || !r.Changed || r.Data["action"] != "recreate" {
		t.Fatalf("check recreate = %+v, %v", r, err)
	}
	if got := runDocker(t, "inspect", "--format", inspectFormat, name); got != inspectBefore {
		t.Fatalf("check recreate changed the container")
	}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, changedSpec))
	if err != nil || !r.Changed || r.Failed || r.Data["container"].(map[string]any)["env"].(map[string]any)["OMS_HOST_IP"] != "127.0.0.32" {
		t.Fatalf("apply recreate = %+v, %v", r, err)
	}

	// binds_from takes the same three mounts for a new container.
	second := testContainerName(t, "second")
	fromArgs := coerceArgs(t, m, map[string]any{"name": second, "state": "present", "image": testImage, "binds_from": name,
		"bind_targets": []any{"/home/admin/logs", "/home/ds/store", "/home/ds/run"}, "command": []any{"sleep", "3600"}})
	r, err = m.Apply(ctx, oh.Host, fromArgs)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("present with binds_from = %+v, %v", r, err)
	}
	if got := r.Data["container"].(map[string]any)["binds"].([]any); len(got) != 3 || got[0] != dir+"/logs:/home/admin/logs" || got[2] != dir+"/store:/home/ds/store" {
		t.Fatalf("binds_from gave %v", got)
	}
	if r, err = m.Apply(ctx, oh.Host, fromArgs); err != nil || r.Changed || r.Failed {
		t.Fatalf("present again = %+v, %v; want ok", r, err)
	}
	bad := coerceArgs(t, m, map[string]any{"name": second, "state": "present", "binds_from": name, "bind_targets": []any{"/nowhere"}})
	if r, _ = m.Apply(ctx, oh.Host, bad); !r.Failed || !strings.Contains(r.Msg, "has no mount at /nowhere") {
		t.Fatalf("binds_from with a missing target = %+v", r)
	}

	// stopped, then stopped again; restarted; absent twice.
	stop := coerceArgs(t, m, map[string]any{"name": name, "state": "stopped", "stop_timeout": 1})
	if r, err = m.Apply(ctx, oh.Host, stop); err != nil || !r.Changed || r.Data["container"].(map[string]any)["running"] != false {
		t.Fatalf("stop = %+v, %v", r, err)
	}
	if r, err = m.Apply(ctx, oh.Host, stop); err != nil || r.Changed || r.Failed {
		t.Fatalf("stop again = %+v, %v; want ok", r, err)
	}
	ex := coerceArgs(t, m, map[string]any{"name": name, "exec": "true"})
	if r, _ = m.Apply(ctx, oh.Host, ex); !r.Failed || !strings.Contains(r.Msg, "is not running (state exited)") {
		t.Fatalf("exec in a stopped container = %+v", r)
	}
	if r, _ = m.Check(ctx, oh.Host, ex); !r.Unknown {
		t.Fatalf("check exec in a stopped container = %+v; want unknown", r)
	}
	if r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "state": "restarted", "stop_timeout": 1})); err != nil || !r.Changed || r.Data["container"].(map[string]any)["running"] != true {
		t.Fatalf("restarted = %+v, %v", r, err)
	}
	absent := coerceArgs(t, m, map[string]any{"name": name, "state": "absent"})
	if r, err = m.Apply(ctx, oh.Host, absent); err != nil || !r.Changed || r.Data["exists"] != false {
		t.Fatalf("absent = %+v, %v", r, err)
	}
	if r, err = m.Apply(ctx, oh.Host, absent); err != nil || r.Changed || r.Failed {
		t.Fatalf("absent again = %+v, %v; want ok", r, err)
	}
	if r, err = m.Apply(ctx, oh.Host, stop); err != nil || r.Changed || r.Failed || !strings.Contains(r.Msg, "nothing to stop") {
		t.Fatalf("stop a missing container = %+v, %v; want ok", r, err)
	}
	if r, _ = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "state": "started"})); !r.Failed || !strings.Contains(r.Msg, "give image") {
		t.Fatalf("start a missing container without image = %+v", r)
	}
	if r, _ = m.Check(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "state": "present"})); r.Failed || !r.Unknown || r.Data["exists"] != false {
		t.Fatalf("check present on a missing container without image = %+v; want unknown, exists false", r)
	}
}

func TestDockerContainerExecAndCopy(t *testing.T) {
	ctx, oh, name := dockerContainerTest(t, "exec", 2*time.Minute)
	m := DockerContainer{}
	if r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "state": "started", "image": testImage, "command": "sleep 3600"})); err != nil || r.Failed {
		t.Fatalf("start: %+v %v", r, err)
	}
	r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "exec": "echo one; echo two >&2; echo $GREETING", "env": map[string]any{"GREETING": "hi"}}))
	if err != nil || r.Failed || !r.Changed || r.Data["rc"] != 0 || r.Data["stdout"] != "one\nhi" || r.Data["stderr"] != "two" {
		t.Fatalf("exec = %+v, %v", r, err)
	}
	if got := strings.Join(oh.output(), "|"); !strings.Contains(got, "stdout: one") || !strings.Contains(got, "stderr: two") {
		t.Fatalf("live output = %q", got)
	}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name, "exec": []any{"sh", "-c", "echo failing >&2; exit 3"}}))
	if err != nil || !r.Failed || r.Data["rc"] != 3 || !strings.Contains(r.Msg, "exited with rc 3: failing") {
		t.Fatalf("failing exec = %+v, %v", r, err)
	}

	// copy_to then copy_from: changed, then ok.
	dir := t.TempDir()
	src := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(src, []byte("cm_region: hangzhou\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	to := coerceArgs(t, m, map[string]any{"name": name, "copy_to": "/tmp/config.yaml", "src": src})
	if r, err = m.Check(ctx, oh.Host, to); err != nil || !r.Changed || r.Failed {
		t.Fatalf("check copy_to = %+v, %v", r, err)
	}
	if out, _ := exec.Command("docker", "exec", name, "ls", "/tmp").CombinedOutput(); strings.Contains(string(out), "config.yaml") {
		t.Fatalf("check copy_to copied")
	}
	for i, want := range []bool{true, false} {
		if r, err = m.Apply(ctx, oh.Host, to); err != nil || r.Changed != want || r.Failed {
			t.Fatalf("copy_to run %d = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	outDir := filepath.Join(dir, "out")
	from := coerceArgs(t, m, map[string]any{"name": name, "copy_from": "/tmp/config.yaml", "dest": outDir + "/"})
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if r, err = m.Apply(ctx, oh.Host, from); err != nil || r.Changed != want || r.Failed {
			t.Fatalf("copy_from run %d = %+v, %v; want changed %v", i+1, r, err, want)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(outDir, "config.yaml")); string(data) != "cm_region: hangzhou\n" {
		t.Fatalf("copied file = %q", data)
	}
	missing := coerceArgs(t, m, map[string]any{"name": name, "copy_from": "/nope", "dest": outDir})
	if r, _ = m.Apply(ctx, oh.Host, missing); !r.Failed || !strings.Contains(r.Msg, "No such") && !strings.Contains(r.Msg, "not find") {
		t.Fatalf("copy_from a missing path = %+v", r)
	}
	gone := coerceArgs(t, m, map[string]any{"name": name + "-gone", "copy_from": "/tmp/config.yaml", "dest": outDir})
	if r, _ = m.Check(ctx, oh.Host, gone); !r.Unknown || r.Failed {
		t.Fatalf("check copy_from a missing container = %+v; want unknown", r)
	}
	if r, _ = m.Apply(ctx, oh.Host, gone); !r.Failed || !strings.Contains(r.Msg, "does not exist") {
		t.Fatalf("copy_from a missing container = %+v", r)
	}
	// Inspect only.
	if r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, map[string]any{"name": name})); err != nil || r.Changed || r.Data["container"].(map[string]any)["state"] != "running" {
		t.Fatalf("inspect only = %+v, %v", r, err)
	}
}

// TestDockerContainerCarriesEveryBind: binds_from takes every mount of the old container, the
// optional SSL certificate and key and a named volume included; bind_targets only checks; an
// explicit bind replaces the carried one on its path; --check --diff shows the new mounts.
func TestDockerContainerCarriesEveryBind(t *testing.T) {
	needDocker(t)
	ctx := testCtx(t, 3*time.Minute)
	oh := newTestHost(t)
	m := DockerContainer{}
	dir := dataMountDir(t)
	for _, f := range []string{"https_crt", "https_key", "https_crt.new"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	volume := "omsbook-t-mod-vol-" + randomHex(4)
	t.Cleanup(func() { _ = exec.Command("docker", "volume", "rm", "-f", volume).Run() })
	old := testContainerName(t, "carry-old")
	oldArgs := runArgsU422(old, dir)
	oldArgs["state"] = "present"
	oldArgs["binds"] = append(oldArgs["binds"].([]any),
		dir+"/https_crt:/etc/pki/nginx/oms_server.crt:ro", dir+"/https_key:/etc/pki/nginx/oms_server.key:ro", volume+":/data/extra")
	if r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, oldArgs)); err != nil || r.Failed {
		t.Fatalf("create the old container = %+v, %v", r, err)
	}

	targets := []any{"/home/admin/logs", "/home/ds/store", "/home/ds/run"}
	want := []any{
		dir + "/https_crt:/etc/pki/nginx/oms_server.crt:ro", dir + "/https_key:/etc/pki/nginx/oms_server.key:ro",
		dir + "/logs:/home/admin/logs", dir + "/run:/home/ds/run", dir + "/store:/home/ds/store", volume + ":/data/extra",
	}
	newName := testContainerName(t, "carry-new")
	newArgs := map[string]any{"name": newName, "state": "present", "image": testImage, "binds_from": old,
		"bind_targets": targets, "command": []any{"sleep", "3600"}}
	r, err := m.Check(ctx, oh.Host, coerceArgs(t, m, newArgs))
	if err != nil || !r.Changed || r.Diff == nil {
		t.Fatalf("check = %+v, %v; want would create, with a diff", r, err)
	}
	for _, b := range want {
		if !strings.Contains(r.Diff.After, b.(string)) {
			t.Errorf("the --check diff of the new container lacks the mount %s:\n%s", b, r.Diff.After)
		}
	}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, newArgs))
	if err != nil || r.Failed {
		t.Fatalf("create with binds_from = %+v, %v", r, err)
	}
	if got := r.Data["container"].(map[string]any)["binds"].([]any); !reflect.DeepEqual(sortedAny(got), sortedAny(want)) {
		t.Fatalf("binds_from carried %v, want every mount of the old container %v", got, want)
	}
	if r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, newArgs)); err != nil || r.Changed || r.Failed {
		t.Fatalf("apply again = %+v, %v; want ok (the carried binds compare equal)", r, err)
	}

	// An explicit bind replaces the carried one of the same container path.
	override := testContainerName(t, "carry-override")
	overrideArgs := map[string]any{"name": override, "state": "present", "image": testImage, "binds_from": old,
		"bind_targets": targets, "binds": []any{dir + "/https_crt.new:/etc/pki/nginx/oms_server.crt:ro"}, "command": []any{"sleep", "3600"}}
	r, err = m.Apply(ctx, oh.Host, coerceArgs(t, m, overrideArgs))
	if err != nil || r.Failed {
		t.Fatalf("create with an overriding bind = %+v, %v", r, err)
	}
	got := r.Data["container"].(map[string]any)["binds"].([]any)
	if len(got) != len(want) || !slices.Contains(got, any(dir+"/https_crt.new:/etc/pki/nginx/oms_server.crt:ro")) || slices.Contains(got, want[0]) {
		t.Fatalf("binds with an override = %v; want the new certificate instead of the old one", got)
	}
}

func sortedAny(in []any) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		out = append(out, fmt.Sprint(v))
	}
	sort.Strings(out)
	return out
}

// dataMountDir is a directory with the host side of the three OMS data mounts.
func dataMountDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"logs", "store", "run"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tmpFilesHolding lists the files directly in the temporary directories (where an env file
// was written) whose content holds secret.
func tmpFilesHolding(secret string) []string {
	var out []string
	for _, dir := range []string{"/tmp", os.TempDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), secret) {
				out = append(out, p)
			}
		}
	}
	return out
}

// TestDockerContainerSecretEnvNeverAtRest: with the real Docker Engine, a secret env value
// reaches the container of a run and of an exec through a pipe: the docker CLI's --env-file is
// no file on disk (a wrapper records what it was given), no process shows the value in its
// argv (the environments are not looked at: the container's own processes hold it there), and no file holding it is in the temporary directory during or after
// the task.
func TestDockerContainerSecretEnvNeverAtRest(t *testing.T) {
	ctx, oh, name := dockerContainerTest(t, "secretenv", 2*time.Minute)
	m := DockerContainer{}
	const secret = "env-secret-Zq81-never-on-disk"
	bin := t.TempDir()
	log := filepath.Join(bin, "env-files.log")
	// The wrapper notes whether each --env-file names a regular file, then holds a moment so
	// that the scans surely see the client running.
	wrapper := `#!/bin/sh
prev=
for a in "$@"; do
	if [ "$prev" = --env-file ]; then
		if [ -f "$a" ]; then echo "regular file $a" >> ` + log + `; else echo "not a file $a" >> ` + log + `; fi
	fi
	prev=$a
done
sleep 0.5
exec docker "$@"
`
	docker := filepath.Join(bin, "docker-wrapper")
	if err := os.WriteFile(docker, []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		what string
		raw  map[string]any
	}{
		{"run", map[string]any{"name": name, "state": "started", "image": testImage, "command": "sleep 3600",
			"env": map[string]any{"APP_PASSWORD": secret, "PLAIN": "shown"}, "docker_cmd": docker}},
		{"exec", map[string]any{"name": name, "exec": "echo $EXEC_TOKEN", "env": map[string]any{"EXEC_TOKEN": secret}, "docker_cmd": docker}},
	}
	for _, s := range steps {
		os.Remove(log)
		stop := make(chan struct{})
		saw, leaks, wg := scanProcs(secret, "--env-file", false, stop)
		inTmp := map[string]bool{}
		twg := watch(stop, func() {
			for _, f := range tmpFilesHolding(secret) {
				inTmp[f] = true
			}
			time.Sleep(time.Millisecond)
		})
		r, err := m.Apply(ctx, oh.Host, coerceArgs(t, m, s.raw))
		close(stop)
		wg.Wait()
		twg.Wait()
		if err != nil || r.Failed || !r.Changed {
			t.Fatalf("%s = %+v, %v", s.what, r, err)
		}
		if !*saw {
			t.Fatalf("%s: the scan never saw docker running with --env-file", s.what)
		}
		if len(*leaks) > 0 {
			t.Fatalf("%s: the secret showed in a process's argv: %v", s.what, *leaks)
		}
		if len(inTmp) > 0 {
			t.Fatalf("%s: the secret was in %v during the task", s.what, inTmp)
		}
		if left := tmpFilesHolding(secret); len(left) > 0 {
			t.Fatalf("%s: the secret is in %v after the task", s.what, left)
		}
		logged, err := os.ReadFile(log)
		if err != nil || !strings.Contains(string(logged), "not a file") || strings.Contains(string(logged), "regular file") {
			t.Fatalf("%s: docker's --env-file was %q (%v); want a pipe, never a file", s.what, logged, err)
		}
		if s.what == "exec" && r.Data["stdout"] != secret {
			t.Fatalf("exec: the container printed %q; want the secret env value", r.Data["stdout"])
		}
	}
	if got := runDocker(t, "exec", name, "sh", "-c", "echo $APP_PASSWORD $PLAIN"); got != secret+" shown" {
		t.Fatalf("the container's env = %q; want the secret and the plain value", got)
	}
}
