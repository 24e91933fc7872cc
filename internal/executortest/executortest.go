// Package executortest lets a package's tests run commands through the executor: its test
// binary serves as the executor on the (loopback) hosts, as omsbook's own binary does.
package executortest

import (
	"fmt"
	"os"
	"testing"

	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/transport/executor"
)

// Main is a TestMain: when the binary was started as the executor it serves and exits;
// otherwise it registers the test binary as the executor to upload, caches it under a
// temporary directory (unless OMSBOOK_EXECUTOR_DIR names one) that is removed at the end, and
// runs the tests. Whether the executor is used follows OMSBOOK_EXECUTOR.
func Main(m *testing.M) {
	executor.ServeIfAsked()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	transport.SetExecutorBinary("")
	if os.Getenv(transport.ExecutorDirEnv) == "" {
		dir, err := os.MkdirTemp("", "omsbook-executor-cache-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		os.Setenv(transport.ExecutorDirEnv, dir)
	}
	return m.Run()
}

// RequireExecutor fails the test when OMSBOOK_EXECUTOR asks for the executor and conn, an
// ssh connection to a loopback host (where it can always run), does not use it: so that the
// tests meant to run through the executor cannot pass over sessions unnoticed.
func RequireExecutor(t testing.TB, conn transport.Conn) {
	t.Helper()
	c, ok := conn.(*transport.SSHConn)
	if !ok || transport.ExecutorSetting(transport.Spec{}) != transport.ExecutorOn {
		return
	}
	if !c.UsesExecutor() {
		t.Fatalf("%s=on but the connection uses sessions: %s", transport.ExecutorEnv, c.ExecutorFallback())
	}
}
