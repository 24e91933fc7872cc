package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeDockerForRecorder prints the argv it got, one argument per line, and for inspect a
// container list as docker prints it; exit status 3 for "fail".
const fakeDockerForRecorder = `#!/bin/sh
if [ "$1" = inspect ] || [ "$2" = inspect ]; then
cat <<'JSON'
[
    {
        "Id": "aaa",
        "HostConfig": {
            "Privileged": false
        },
        "Config": {
            "Labels": {
                "org.omsbook.recorder.privileged": "dropped"
            }
        }
    },
    {
        "Id": "bbb",
        "HostConfig": {
            "Privileged": false
        },
        "Config": {
            "Labels": {}
        }
    }
]
JSON
exit 0
fi
for a do printf '%s\n' "$a"; done
[ "$1" = fail ] && exit 3
exit 0
`

func newRecorder(t *testing.T, drop bool) (l *Lab, run func(args ...string) (string, int)) {
	t.Helper()
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-docker")
	if err := os.WriteFile(fake, []byte(fakeDockerForRecorder), 0o755); err != nil {
		t.Fatal(err)
	}
	l = &Lab{Name: "rec", Dir: dir}
	if err := writeFile(l.RecorderPath(), []byte(recorderScript(fake, l.ArgvLogPath(), drop, l.Name))); err != nil {
		t.Fatal(err)
	}
	os.Chmod(l.RecorderPath(), 0o755)
	return l, func(args ...string) (string, int) {
		t.Helper()
		// dash: the recorder must be POSIX sh, whatever /bin/sh is.
		sh := "sh"
		if p, err := exec.LookPath("dash"); err == nil {
			sh = p
		}
		out, err := exec.Command(sh, append([]string{l.RecorderPath()}, args...)...).Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
}

func TestRecorderMasksAndRecords(t *testing.T) {
	l, run := newRecorder(t, false)
	args := []string{"run", "-dit", "--net", "host", "-e", "OMS_HOST_IP=127.0.0.1", "-e", "PASSWORD=s3cret pw",
		"--env=TOKEN=t0k", "-eKEY=v", "-e", "INHERITED", "--privileged=true", "--name", "oms_x",
		`we"ird\arg`, "tab\there", "two\nlines", "oms:feature_4.2.3-ce"}
	out, code := run(args...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// docker got the arguments untouched.
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(args, "\n") {
		t.Errorf("docker got %q, want %q", got, args)
	}
	if _, code := run("fail", "x"); code != 3 {
		t.Errorf("exit status not passed on: %d", code)
	}
	calls, err := l.DockerCalls()
	if err != nil || len(calls) != 2 {
		t.Fatalf("calls %+v, %v", calls, err)
	}
	want := append([]string{"docker"}, args...)
	want[6], want[8], want[9], want[10] = "OMS_HOST_IP=***", "PASSWORD=***", "--env=TOKEN=***", "-eKEY=***"
	if !reflect.DeepEqual(calls[0].Argv, want) {
		t.Errorf("recorded\n %q\nwant\n %q", calls[0].Argv, want)
	}
	if calls[0].PrivilegedDropped || calls[0].Time == "" {
		t.Errorf("call %+v", calls[0])
	}
	b, _ := os.ReadFile(l.ArgvLogPath())
	for _, secret := range []string{"s3cret", "t0k", "127.0.0.1", "=v"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the log holds the -e value %q:\n%s", secret, b)
		}
	}
	if names := l.recordedNames(); !reflect.DeepEqual(names, []string{"oms_x"}) {
		t.Errorf("recorded names %v", names)
	}
}

func TestRecorderDropsPrivileged(t *testing.T) {
	l, run := newRecorder(t, true)
	out, _ := run("container", "run", "-d", "--privileged=true", "--name", "n1", "img")
	if want := "container\nrun\n--label\n" + RecorderLabel + "=dropped\n-d\n--name\nn1\nimg\n"; out != want {
		t.Errorf("docker got %q, want %q", out, want)
	}
	out, _ = run("exec", "c", "sh", "-c", "--privileged") // not a run: untouched
	if out != "exec\nc\nsh\n-c\n--privileged\n" {
		t.Errorf("exec changed: %q", out)
	}
	out, _ = run("inspect", "aaa", "bbb")
	if strings.Count(out, `"Privileged": true`) != 1 || !strings.Contains(out, `"Id": "bbb",
        "HostConfig": {
            "Privileged": false`) {
		t.Errorf("inspect rewrite:\n%s", out)
	}
	out, _ = run("inspect", "--format", "{{.Id}}", "aaa")
	if strings.Contains(out, `"Privileged": true`) {
		t.Errorf("inspect --format rewritten:\n%s", out)
	}
	calls, _ := l.DockerCalls()
	if len(calls) != 4 || !calls[0].PrivilegedDropped || calls[1].PrivilegedDropped ||
		!reflect.DeepEqual(calls[0].Argv, []string{"docker", "container", "run", "-d", "--privileged=true", "--name", "n1", "img"}) {
		t.Errorf("calls %+v", calls)
	}
	if got := subcommand(calls[0].Argv); got != "run" {
		t.Errorf("subcommand %q", got)
	}
}
