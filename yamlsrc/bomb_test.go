package yamlsrc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/omsbook/omsbook/runner"
	"github.com/omsbook/omsbook/yamlsrc"
)

// laughs is a "billion laughs" of YAML: levels anchors, each a list of width aliases of the
// one before, the first of width strings; the last stands for width^levels nodes. indent is
// put before every line, so that it can stand under a key.
func laughs(indent string, levels, width int) string {
	var b strings.Builder
	names := "abcdefghijklmnopqrstuvwxyz"
	for l := 0; l < levels; l++ {
		fmt.Fprintf(&b, "%s%c: &%c [", indent, names[l], names[l])
		for i := 0; i < width; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			if l == 0 {
				b.WriteString("lol")
			} else {
				fmt.Fprintf(&b, "*%c", names[l-1])
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

const okInventory = "connection: local\nregions:\n  r:\n    nodes:\n      n1: {}\n"
const okPlaybook = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n"

// bombCases are alias bombs at each entry of YAML into omsbook: the playbook, both inventory
// formats, group_vars, a vars_files entry and -e @file (include_vars, read during the run, is
// tested in modules/builtin).
func bombCases() map[string]map[string]string {
	bomb := laughs("    ", 9, 9)
	return map[string]map[string]string{
		"playbook": {
			"site.yml": "- hosts: all\n  gather_facts: false\n  vars:\n" + bomb + "  tasks: []\n",
			"inv.yml":  okInventory,
		},
		"omsbook inventory": {
			"site.yml": okPlaybook,
			"inv.yml":  "connection: local\nvars:\n" + laughs("  ", 9, 9) + "regions:\n  r:\n    nodes:\n      n1: {}\n",
		},
		"ansible yaml inventory": {
			"site.yml": okPlaybook,
			"inv.yml":  "all:\n  hosts:\n    n1: {ansible_connection: local}\n  vars:\n" + bomb,
		},
		"group_vars": {
			"site.yml":           okPlaybook,
			"inv/hosts.ini":      "n1 ansible_connection=local\n",
			"inv/group_vars/all": laughs("", 9, 9),
		},
		// Not a bomb but the densest document the size bound lets in: a list of one-letter
		// items, two bytes a node.
		"densest document": {
			"site.yml": okPlaybook,
			"inv.yml":  okInventory,
			"e.yml":    "x: [" + strings.Repeat("a,", (yamlsrc.MaxDocumentBytes-16)/2) + "a]\n",
		},
		"vars_files": {
			"site.yml": "- hosts: all\n  gather_facts: false\n  vars_files: [v.yml]\n  tasks: []\n",
			"v.yml":    laughs("", 9, 9),
			"inv.yml":  okInventory,
		},
		"extra vars file": {
			"site.yml": okPlaybook,
			"inv.yml":  okInventory,
			"e.yml":    laughs("", 9, 9),
		},
	}
}

// TestAliasBombsRefusedInLittleMemory loads each bomb in a child process (this test binary
// again) and reads the child's peak resident memory from the kernel: the load must fail with
// a positioned *yamlsrc.Error, and the child must stay under 200 MB.
func TestAliasBombsRefusedInLittleMemory(t *testing.T) {
	if dir := os.Getenv("OMSBOOK_BOMB_DIR"); dir != "" {
		loadBomb(dir)
		return
	}
	const limitKB = 200 << 10
	for name, files := range bombCases() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for p, text := range files {
				full := filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestAliasBombsRefusedInLittleMemory$")
			cmd.Env = append(os.Environ(), "OMSBOOK_BOMB_DIR="+dir, "GOMEMLIMIT=1GiB")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			peakKB := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
			if raceEnabled {
				// The race detector's shadow memory is not the program's: count what the
				// Go runtime itself took (its peak, as it keeps what it took).
				peakKB = goSysKB(t, string(out))
			}
			t.Logf("peak memory %d KB: %s", peakKB, firstLine(string(out)))
			if !strings.Contains(string(out), "REFUSED ") && name != "densest document" {
				t.Fatalf("the bomb was not refused:\n%s", out)
			}
			if peakKB > limitKB {
				t.Fatalf("peak memory %d KB, want under %d KB", peakKB, limitKB)
			}
		})
	}
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "REFUSED ") || strings.HasPrefix(l, "LOADED") {
			return l
		}
	}
	return s
}

// loadBomb is the child: it loads the playbook of dir as validate does and says how it ended.
func loadBomb(dir string) {
	opts := runner.Options{Playbook: filepath.Join(dir, "site.yml"), SSHConfig: "none", JournalDir: filepath.Join(dir, "journal")}
	if _, err := os.Stat(filepath.Join(dir, "inv")); err == nil {
		opts.Inventories = []string{filepath.Join(dir, "inv", "hosts.ini")}
	} else {
		opts.Inventories = []string{filepath.Join(dir, "inv.yml")}
	}
	if _, err := os.Stat(filepath.Join(dir, "e.yml")); err == nil {
		opts.ExtraVars = []string{"@" + filepath.Join(dir, "e.yml")}
	}
	_, err := runner.Load(context.Background(), opts)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// What the Go runtime took from the system: under the race detector, the resident size
	// also counts the detector's shadow memory, several times the program's own.
	fmt.Printf("GOSYS %d\n", ms.Sys>>10)
	var pe *yamlsrc.Error
	switch {
	case err == nil:
		fmt.Println("LOADED")
	case errors.As(err, &pe) && errors.Is(err, yamlsrc.ErrLimit) && pe.Pos.Line > 0 && pe.Pos.Col > 0:
		fmt.Println("REFUSED " + err.Error())
	default:
		fmt.Println("OTHER ERROR " + err.Error())
	}
}

// goSysKB reads the child's GOSYS line: the memory its Go runtime took, in KB.
func goSysKB(t *testing.T, out string) int64 {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "GOSYS "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("bad GOSYS line %q", l)
			}
			return n
		}
	}
	t.Fatalf("the child said nothing of its memory:\n%s", out)
	return 0
}
