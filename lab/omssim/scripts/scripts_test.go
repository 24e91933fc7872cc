package scripts

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// These unit tests run the deploy script under dash with a fake docker command (a mock: the
// real Docker path is covered by lab/images' container tests).

// fakeDocker is a docker stand-in that logs its arguments and answers as the lab's engine
// would: the MetaDB exists, the image is loaded, no container of that name exists yet, and
// (with REFUSE_PRIVILEGED set) --privileged is refused as by an engine inside a container.
const fakeDocker = `#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$1 $2" in
"run --rm") echo exist; exit 0 ;;
"image inspect") exit 0 ;;
"container inspect") exit 1 ;;
"rm -f") exit 0 ;;
esac
if [ "$1" = run ]; then
	case "$*" in
	*--privileged=true*) if [ -n "$REFUSE_PRIVILEGED" ]; then echo "docker: Error response from daemon: unable to apply caps: operation not permitted" >&2; exit 125; fi ;;
	esac
	echo 0123456789abcdef0123456789abcdef
	exit 0
fi
exit 3
`

type deployFixture struct {
	dir, mount, config, log, script string
	env                             []string
}

func newDeployFixture(t *testing.T) *deployFixture {
	t.Helper()
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("dash is not installed (the guide runs the deploy script with the host's sh)")
	}
	dir := t.TempDir()
	f := &deployFixture{dir: dir, mount: filepath.Join(dir, "mount"), config: filepath.Join(dir, "conf", "config.yaml"),
		log: filepath.Join(dir, "docker.log"), script: filepath.Join(dir, "deploy.sh")}
	os.MkdirAll(f.mount, 0o755)
	os.MkdirAll(filepath.Dir(f.config), 0o755)
	os.WriteFile(f.config, []byte("oms_meta_host: 127.0.0.1\noms_meta_port: 3306\noms_meta_user: omslab\noms_meta_password: s3cret-pw\ndrc_rm_db: rm_410\ndrc_cm_db: cm_410\ndrc_cm_heartbeat_db: cm_hb_410\ncm_region: hangzhou\n"), 0o644)
	docker := filepath.Join(dir, "docker")
	os.WriteFile(docker, []byte(fakeDocker), 0o755)
	b, err := FS.ReadFile("docker_remote_deploy_410_up_423_version.sh")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.script, b, 0o755)
	f.env = append(os.Environ(), "DOCKER="+docker, "FAKE_DOCKER_LOG="+f.log)
	return f
}

func (f *deployFixture) cmd(extraEnv ...string) *exec.Cmd {
	c := exec.Command("dash", f.script, "-o", f.mount, "-c", f.config, "-i", "127.0.0.56", "-d", "oms:feature_4.2.3-ce", "-n", "oms_new")
	c.Env = append(append([]string{}, f.env...), extraEnv...)
	c.Dir = f.dir
	return c
}

// inOrder fails unless every string appears in out, in this order.
func inOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	pos := 0
	for _, w := range want {
		i := strings.Index(out[pos:], w)
		if i < 0 {
			t.Fatalf("output lacks %q after position %d:\n%s", w, pos, out)
		}
		pos += i + len(w)
	}
}

var prompts = []string{
	"Select a deployment mode", "Use Configuration File Uploaded with Script Option [-c]",
	"The specified database names already exist in the MetaDB. Are you sure that you want to continue?",
	"The specified database names already exist in the MetaDB. Do you want to reinitialize the MetaDB?",
	"Are the settings correct?", "Enter the mount directory", "Use OMS_IMAGE=oms:feature_4.2.3-ce",
	"Mount an SSL certificate", "The config.yaml file will be written to",
}

func TestDeployScriptPiped(t *testing.T) {
	for _, tc := range []struct {
		name, answers string
		env           []string
		wantErr       bool
		want          []string
		dockerRun     []string // in the docker run line
		notDockerRun  []string
	}{
		{name: "multiple regions", answers: "2\n1\ny\ny\ny\n\ny\nn\ny\nn\n",
			want:      append(append([]string{}, prompts...), "deploy OMS Community Edition in a new region?", "[Completed]"),
			dockerRun: []string{"run -dit --net host", "-e OMS_HOST_IP=127.0.0.56", "-e IS_UPGRADE=true", "--privileged=true", "--pids-limit -1", "--ulimit nproc=65535:65535", "--name oms_new", "/mount/store:/home/ds/store", "conf/config.yaml:/home/admin/conf/config.yaml"}},
		{name: "single region with wrong answers", answers: "x\n1\n2\n1\nmaybe\ny\ny\ny\n\ny\nn\ny\n",
			want: []string{"Invalid input \"x\"", "Creating a configuration file is not supported", "Invalid input \"maybe\"", "[Completed]"}},
		{name: "privileged refused", answers: "1\n1\ny\ny\ny\n\ny\nn\ny\n", env: []string{"REFUSE_PRIVILEGED=1"},
			want: []string{"[WARN] this Docker Engine cannot run privileged containers", "[Completed]"}, notDockerRun: []string{"--privileged"}},
		{name: "settings rejected", answers: "1\n1\ny\ny\nn\n", wantErr: true, want: []string{"modify"}},
		{name: "end of input", answers: "1\n1\n", wantErr: true, want: []string{"end of input"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDeployFixture(t)
			c := f.cmd(tc.env...)
			c.Stdin = strings.NewReader(tc.answers)
			outb, err := c.CombinedOutput()
			out := string(outb)
			if (err != nil) != tc.wantErr {
				t.Fatalf("exit error %v, want error %t:\n%s", err, tc.wantErr, out)
			}
			inOrder(t, out, tc.want...)
			if strings.Contains(out, "s3cret-pw") {
				t.Error("the script printed the MetaDB password")
			}
			logb, _ := os.ReadFile(f.log)
			var runLine string
			for _, l := range strings.Split(string(logb), "\n") {
				if strings.HasPrefix(l, "run -dit") {
					runLine = l // the last attempt
				}
			}
			if tc.wantErr {
				if runLine != "" {
					t.Errorf("a failed dialogue still ran a container: %s", runLine)
				}
				return
			}
			for _, w := range tc.dockerRun {
				if !strings.Contains(runLine, w) {
					t.Errorf("docker run lacks %q: %s", w, runLine)
				}
			}
			for _, w := range tc.notDockerRun {
				if strings.Contains(runLine, w) {
					t.Errorf("docker run has %q: %s", w, runLine)
				}
			}
			copyB, err := os.ReadFile(filepath.Join(filepath.Dir(f.config), "config_copy.yaml"))
			orig, _ := os.ReadFile(f.config)
			if err != nil || !bytes.Equal(copyB, orig) {
				t.Errorf("config_copy.yaml: %v", err)
			}
			for _, d := range []string{"logs", "store", "run"} {
				if _, err := os.Stat(filepath.Join(f.mount, d)); err != nil {
					t.Errorf("mount dir %s: %v", d, err)
				}
			}
		})
	}
}

// TestDeployScriptUnderPTY answers each prompt as it appears on a terminal, as an operator (or
// omsbook's expect module) does.
func TestDeployScriptUnderPTY(t *testing.T) {
	f := newDeployFixture(t)
	c := f.cmd()
	tty, err := pty.Start(c)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	dialogue := []struct{ prompt, answer string }{
		{"deployment mode: ", "2"}, {"number of the task: ", "1"}, {"want to continue? [y/n]: ", "y"},
		{"reinitialize the MetaDB? [y/n]: ", "y"}, {"settings correct? [y/n]: ", "y"},
		{"on the host [" + f.mount + "]: ", ""}, {"of OMS Community Edition? [y/n]: ", "y"},
		{"SSL certificate to the OMS container? [y/n]: ", "n"}, {"Is that correct? [y/n]: ", "y"},
		{"in a new region? [y/n]: ", "n"},
	}
	var seen bytes.Buffer
	r := bufio.NewReader(tty)
	readUntil := func(s string) {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.HasSuffix(seen.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no prompt %q; output so far:\n%s", s, seen.String())
			}
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("reading the terminal before %q: %v\n%s", s, err, seen.String())
			}
			seen.WriteByte(b)
		}
	}
	for _, d := range dialogue {
		readUntil(d.prompt)
		io.WriteString(tty, d.answer+"\r")
	}
	rest, _ := io.ReadAll(r) // EIO when the script exits
	seen.Write(rest)
	if err := c.Wait(); err != nil {
		t.Fatalf("script under a PTY: %v\n%s", err, seen.String())
	}
	if !strings.Contains(seen.String(), "[Completed]") {
		t.Errorf("no success line:\n%s", seen.String())
	}
}

// TestDeployScriptStrict: with the strict profile (from the mount's run/omssim-profile or
// OMSSIM_PROFILE) the tool takes only the guide's options and names the container itself.
func TestDeployScriptStrict(t *testing.T) {
	answers := "1\n1\ny\ny\ny\n\ny\nn\ny\n"
	nameRE := regexp.MustCompile(`--name (oms_127_0_0_56_[0-9a-f]{6}) `)
	for _, tc := range []struct {
		name    string
		file    string // content of <mount>/run/omssim-profile ("" for none)
		env     []string
		withN   bool
		wantRC  int
		want    string
		strictN bool // the container name is the strict one
	}{
		{name: "file: -n refused", file: "strict startup=8s\n", withN: true, wantRC: 2, want: "illegal option -- n"},
		{name: "env: -n refused", env: []string{"OMSSIM_PROFILE=strict"}, withN: true, wantRC: 2, want: "illegal option -- n"},
		{name: "file: own name", file: "strict\n", wantRC: 0, want: "[Completed]", strictN: true},
		{name: "file wins over env", file: "default\n", env: []string{"OMSSIM_PROFILE=strict"}, withN: true, wantRC: 0, want: "--name oms_new"},
		{name: "default keeps -n", withN: true, wantRC: 0, want: "--name oms_new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDeployFixture(t)
			if tc.file != "" {
				os.MkdirAll(filepath.Join(f.mount, "run"), 0o755)
				os.WriteFile(filepath.Join(f.mount, "run", "omssim-profile"), []byte(tc.file), 0o644)
			}
			c := f.cmd(tc.env...)
			if !tc.withN {
				c.Args = c.Args[:len(c.Args)-2]
			}
			c.Stdin = strings.NewReader(answers)
			outb, err := c.CombinedOutput()
			rc := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			logb, _ := os.ReadFile(f.log)
			all := string(outb) + string(logb)
			if rc != tc.wantRC || !strings.Contains(all, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s", rc, tc.wantRC, tc.want, all)
			}
			if tc.wantRC == 2 && strings.Contains(string(outb), "[-n") {
				t.Errorf("the strict usage still offers -n:\n%s", outb)
			}
			if m := nameRE.FindStringSubmatch(string(logb)); tc.strictN != (m != nil) {
				t.Errorf("strict container name %v, want %t:\n%s", m, tc.strictN, logb)
			} else if m != nil && !strings.Contains(string(outb), "Container "+m[1]+" started") {
				t.Errorf("the tool does not say the name it chose:\n%s", outb)
			}
		})
	}
}
