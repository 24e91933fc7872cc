package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestDownAllOfDeadLab tears down, from its state file alone, a lab whose processes and
// containers are long gone and whose MetaDB does not answer: Down must still finish and
// remove its state, and DownAll must find it among the instances.
func TestDownAllOfDeadLab(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Docker Engine to look for the lab's containers (run without -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dockerAvailable(ctx); err != nil {
		testutil.SkipOrFail(t, "%v", err)
	}
	root := t.TempDir()
	l, err := Plan(Config{Name: "dead", RootDir: root, FirstIP: "127.0.0.21"})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing answers on port 1: the databases cannot be dropped and need not be.
	l.MetaDB.Port = 1
	// A pid that is not this lab's sshd must be left alone even though it was recorded.
	l.Nodes[0].SSHPid, l.Nodes[0].SSHConfig = os.Getpid(), filepath.Join(root, "dead", "sshd", "node1", "sshd_config")
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.save(); err != nil {
		t.Fatal(err)
	}
	dirs, err := Instances(root)
	if err != nil || len(dirs) != 1 || dirs[0] != l.Dir {
		t.Fatalf("Instances(%s) = %v, %v; want [%s]", root, dirs, err, l.Dir)
	}
	if err := DownAll(ctx, root); err != nil {
		t.Fatalf("DownAll: %v", err)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("state directory left: %v", err)
	}
	if dirs, _ := Instances(root); len(dirs) != 0 {
		t.Errorf("instances left: %v", dirs)
	}
}
