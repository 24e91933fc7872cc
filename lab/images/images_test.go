package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

func TestTagAndPackageNames(t *testing.T) {
	for _, tc := range []struct{ version, tag, pkg string }{
		{"4.1.0", "oms:feature_4.1.0-ce", "oms_4.1.0-ce.tar"},
		{"4.2.2", "oms:feature_4.2.2-ce", "oms_4.2.2-ce.tar"},
		{"4.2.3", "oms:feature_4.2.3-ce", "oms_4.2.3-ce.tar"},
	} {
		if got := Tag(tc.version); got != tc.tag {
			t.Errorf("Tag(%s) = %s, want %s", tc.version, got, tc.tag)
		}
		if got := PackageName(tc.version); got != tc.pkg {
			t.Errorf("PackageName(%s) = %s, want %s", tc.version, got, tc.pkg)
		}
	}
}

func TestBuildReportsWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	dynamic, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls binary to use as a dynamically linked executable")
	}
	staticBusybox := firstExisting("/bin/busybox", "/usr/bin/busybox")
	if checkStatic(staticBusybox) != nil {
		staticBusybox = ""
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no state dir", Options{}, "StateDir is required"},
		{"unknown version", Options{StateDir: dir, Versions: []string{"3.9.9"}}, `unknown OMS version "3.9.9"`},
		{"no busybox", Options{StateDir: dir, Busybox: filepath.Join(dir, "nope")}, "busybox-static"},
		{"dynamic busybox", Options{StateDir: dir, Busybox: dynamic}, "dynamically linked"},
		{"no bash", Options{StateDir: dir, Busybox: staticBusybox, Bash: filepath.Join(dir, "nope")}, "bash-static"},
		{"no docker", Options{StateDir: dir, Busybox: staticBusybox, Bash: firstExisting("/bin/bash-static", "/usr/bin/bash-static"), Docker: filepath.Join(dir, "docker")}, "docker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if staticBusybox == "" && (tc.name == "no bash" || tc.name == "no docker") {
				t.Skip("busybox-static is not installed")
			}
			_, err := Build(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestHashInputsChangesWithContent(t *testing.T) {
	a := []file{{name: "bin/x", mode: 0o755, data: []byte("one")}}
	b := []file{{name: "bin/x", mode: 0o755, data: []byte("two")}}
	if hashInputs("4.2.2", a, nil) == hashInputs("4.2.2", b, nil) {
		t.Error("different content gave the same hash")
	}
	if hashInputs("4.2.2", a, nil) == hashInputs("4.2.3", a, nil) {
		t.Error("different versions gave the same hash")
	}
	if first, again := hashInputs("4.2.2", a, nil), hashInputs("4.2.2", a, nil); first != again {
		t.Error("the same inputs gave different hashes")
	}
}

// BuildForTest builds the images once per test binary into a state directory shared by this
// package's tests.
func buildForTest(t *testing.T) *Result {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: builds Docker images (not in -short mode)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		testutil.SkipOrFail(t, "docker is not installed: %v", err)
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, "the Docker Engine does not answer: %s", strings.TrimSpace(string(out)))
	}
	if checkStatic(firstExisting("/bin/busybox", "/usr/bin/busybox")) != nil {
		testutil.SkipOrFail(t, "busybox-static is not installed")
	}
	if checkStatic(firstExisting("/bin/bash-static", "/usr/bin/bash-static")) != nil {
		testutil.SkipOrFail(t, "bash-static is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Build(ctx, Options{StateDir: testState(t)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var sharedState string

func testState(t *testing.T) string {
	if sharedState == "" {
		d, err := os.MkdirTemp("", "omssim-images-test-")
		if err != nil {
			t.Fatal(err)
		}
		sharedState = d
	}
	return sharedState
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedState != "" {
		os.RemoveAll(sharedState)
	}
	os.Exit(code)
}

func TestBuildImagesAndPackages(t *testing.T) {
	res := buildForTest(t)
	if len(res.Images) != len(Versions) {
		t.Fatalf("got %d images, want %d", len(res.Images), len(Versions))
	}
	for _, img := range res.Images {
		fi, err := os.Stat(img.Package)
		if err != nil || fi.Size() < 1<<20 {
			t.Errorf("%s: package %s missing or too small: %v", img.Tag, img.Package, err)
		}
		out, err := exec.Command("docker", "run", "--rm", img.Tag, "bash", "-c",
			`echo "$OMS_IMAGE_VERSION"; ls /root; sh -c 'echo sh-works'; sha256sum /bin/omssim >/dev/null && echo tools-work`).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: docker run bash: %v\n%s", img.Tag, err, out)
		}
		lines := strings.Fields(string(out))
		if lines[0] != img.Version {
			t.Errorf("%s: OMS_IMAGE_VERSION = %q, want %s", img.Tag, lines[0], img.Version)
		}
		text := string(out)
		for _, want := range []string{"docker_init.sh", "sh-works", "tools-work"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: output lacks %q:\n%s", img.Tag, want, text)
			}
		}
		has410 := strings.Contains(text, "docker_remote_deploy_410_up_423_version.sh") &&
			strings.Contains(text, "docker_oms_ce_version_upgrade.sh") && strings.Contains(text, "docker_oms_ce_version_roll_back.sh")
		if has410 != (img.Version == "4.2.3") {
			t.Errorf("%s: V4.1.0 path scripts present = %t, want %t:\n%s", img.Tag, has410, img.Version == "4.2.3", text)
		}
		label, err := exec.Command("docker", "image", "inspect", "--format", `{{ index .Config.Labels "`+LabelVersion+`" }}`, img.Tag).Output()
		if err != nil || strings.TrimSpace(string(label)) != img.Version {
			t.Errorf("%s: version label %q (%v), want %s", img.Tag, label, err, img.Version)
		}
	}

	// A second build with nothing changed rebuilds and rewrites nothing.
	start := time.Now()
	again, err := Build(context.Background(), Options{StateDir: testState(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range again.Images {
		if img.Built || img.Saved {
			t.Errorf("%s: second build: Built=%t Saved=%t, want both false", img.Tag, img.Built, img.Saved)
		}
	}
	t.Logf("up-to-date build took %s", time.Since(start))
}

// TestBuildConcurrent: two callers sharing a state directory both succeed (the lock file
// serialises them) and agree on the result.
func TestBuildConcurrent(t *testing.T) {
	buildForTest(t)
	type out struct {
		res *Result
		err error
	}
	results := make(chan out, 2)
	for i := 0; i < 2; i++ {
		go func() {
			res, err := Build(context.Background(), Options{StateDir: testState(t), Versions: []string{"4.2.2"}})
			results <- out{res, err}
		}()
	}
	var inputs []string
	for i := 0; i < 2; i++ {
		o := <-results
		if o.err != nil {
			t.Fatal(o.err)
		}
		inputs = append(inputs, o.res.Image("4.2.2").Inputs)
	}
	if inputs[0] != inputs[1] {
		t.Errorf("concurrent builds disagree: %v", inputs)
	}
}
