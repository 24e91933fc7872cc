package oms

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/lab/mariadb"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/transport"
)

// testHost is a Host on the controller, with the output lines and secrets it received.
type testHost struct {
	*modules.Host
	secrets *secret.Set
	mu      sync.Mutex
	lines   []string
}

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	oh := &testHost{secrets: &secret.Set{}}
	local := transport.NewLocal("localhost")
	oh.Host = &modules.Host{
		Name: "localhost", Conn: local, Controller: local, Vars: map[string]any{},
		Output: func(stream, line string) {
			oh.mu.Lock()
			defer oh.mu.Unlock()
			oh.lines = append(oh.lines, stream+": "+line)
		},
		AddSecret: oh.secrets.Add,
		Mask:      oh.secrets.Mask,
		Confirm:   func(context.Context, string) (bool, error) { return false, nil },
	}
	return oh
}

func (oh *testHost) output() []string {
	oh.mu.Lock()
	defer oh.mu.Unlock()
	return append([]string(nil), oh.lines...)
}

// coerceArgs coerces raw arguments with the module's spec, failing the test on bad arguments.
func coerceArgs(t *testing.T, m modules.Module, raw map[string]any) modules.Args {
	t.Helper()
	args, err := m.Spec().Coerce(raw, nil)
	if err != nil {
		t.Fatalf("%s args %v: %v", m.Name(), raw, err)
	}
	return args
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// testImage is the tiny image the docker tests run: busybox-static on scratch.
const testImage = "omsbook-test/busybox:1"

var testImageOnce sync.Once
var testImageErr string

// needDocker skips (or fails under CI) without a working docker, and builds the test
// image once per test run unless it is already present.
func needDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		testutil.SkipOrFail(t, "docker CLI not found: install docker to run this test")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, "docker engine not reachable: %v: %s", err, out)
	}
	testImageOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", testImage).Run() == nil {
			return
		}
		bb, err := exec.LookPath("busybox")
		if err != nil {
			testImageErr = "busybox not found (apt-get install busybox-static)"
			return
		}
		dir, err := os.MkdirTemp("", "omsbook-test-image-")
		if err != nil {
			testImageErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		data, err := os.ReadFile(bb)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "busybox"), data, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN [\"/bin/busybox\", \"mkdir\", \"-p\", \"/tmp\", \"/root\", \"/home/admin/conf\"]\nENV PATH=/bin\n"), 0o644)
		}
		if err != nil {
			testImageErr = err.Error()
			return
		}
		if out, err := exec.Command("docker", "build", "-q", "-t", testImage, dir).CombinedOutput(); err != nil {
			testImageErr = "build " + testImage + ": " + err.Error() + ": " + string(out)
		}
	})
	if testImageErr != "" {
		t.Fatal(testImageErr)
	}
}

// runDocker runs the docker CLI for a test and returns its trimmed output.
func runDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// testContainerName is a unique container name removed at the end of the test.
func testContainerName(t *testing.T, suffix string) string {
	t.Helper()
	name := "omsbook-t-mod-" + randomHex(4) + "-" + suffix
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

// dockerContainerTest starts a docker_container test: Docker is there (else the test is
// skipped or, under CI, fails), and it gets a context, a local host and a container name
// removed at its end.
func dockerContainerTest(t *testing.T, suffix string, timeout time.Duration) (context.Context, *testHost, string) {
	t.Helper()
	needDocker(t)
	return testCtx(t, timeout), newTestHost(t), testContainerName(t, suffix)
}

// testMariaDB returns the lab MetaDB, skipping (or failing under CI) when it cannot run.
func testMariaDB(t *testing.T) *mariadb.Server {
	t.Helper()
	ctx := testCtx(t, 2*time.Minute)
	srv, err := mariadb.Ensure(ctx)
	if err != nil {
		testutil.SkipOrFail(t, "lab MariaDB not available: %v", err)
	}
	return srv
}
