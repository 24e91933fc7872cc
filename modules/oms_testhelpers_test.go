package modules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/mariadb"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/transport"
)

// omsSkipOrFail skips an integration test whose component is missing, but fails it under CI=true.
func omsSkipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// omsHost is a Host on the controller, with the output lines and secrets it received.
type omsHost struct {
	*Host
	secrets *secret.Set
	mu      sync.Mutex
	lines   []string
}

func newOMSHost(t *testing.T) *omsHost {
	t.Helper()
	oh := &omsHost{secrets: &secret.Set{}}
	local := transport.NewLocal("localhost")
	oh.Host = &Host{
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

func (oh *omsHost) output() []string {
	oh.mu.Lock()
	defer oh.mu.Unlock()
	return append([]string(nil), oh.lines...)
}

// omsArgs coerces raw arguments with the module's spec, failing the test on bad arguments.
func omsArgs(t *testing.T, m Module, raw map[string]any) Args {
	t.Helper()
	args, err := m.Spec().Coerce(raw, nil)
	if err != nil {
		t.Fatalf("%s args %v: %v", m.Name(), raw, err)
	}
	return args
}

func omsCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// omsTestImage is the tiny image the docker tests run: busybox-static on scratch.
const omsTestImage = "omsbook-test/busybox:1"

var omsImageOnce sync.Once
var omsImageErr string

// omsNeedDocker skips (or fails under CI) without a working docker, and builds the test
// image once per test run unless it is already present.
func omsNeedDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		omsSkipOrFail(t, "docker CLI not found: install docker to run this test")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		omsSkipOrFail(t, "docker engine not reachable: %v: %s", err, out)
	}
	omsImageOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", omsTestImage).Run() == nil {
			return
		}
		bb, err := exec.LookPath("busybox")
		if err != nil {
			omsImageErr = "busybox not found (apt-get install busybox-static)"
			return
		}
		dir, err := os.MkdirTemp("", "omsbook-test-image-")
		if err != nil {
			omsImageErr = err.Error()
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
			omsImageErr = err.Error()
			return
		}
		if out, err := exec.Command("docker", "build", "-q", "-t", omsTestImage, dir).CombinedOutput(); err != nil {
			omsImageErr = "build " + omsTestImage + ": " + err.Error() + ": " + string(out)
		}
	})
	if omsImageErr != "" {
		t.Fatal(omsImageErr)
	}
}

// omsDocker runs the docker CLI for a test and returns its trimmed output.
func omsDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// omsContainerName is a unique container name removed at the end of the test.
func omsContainerName(t *testing.T, suffix string) string {
	t.Helper()
	name := "omsbook-t-mod-" + omsRandomHex(4) + "-" + suffix
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

// omsMariaDB returns the lab MetaDB, skipping (or failing under CI) when it cannot run.
func omsMariaDB(t *testing.T) *mariadb.Server {
	t.Helper()
	ctx := omsCtx(t, 2*time.Minute)
	srv, err := mariadb.Ensure(ctx)
	if err != nil {
		omsSkipOrFail(t, "lab MariaDB not available: %v", err)
	}
	return srv
}
