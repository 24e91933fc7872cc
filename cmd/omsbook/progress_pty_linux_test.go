package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair with the kernel's /dev/ptmx: the master end the test
// reads, and the terminal end omsbook writes to.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Fatalf("unlock the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Fatalf("name the pty: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open the pty's terminal end: %v", err)
	}
	return m, s
}

// TestProgressOnARealTerminal: run's text output on a real (pseudo-)terminal shows the status
// line during a task that takes seconds, and erases it before the result line.
func TestProgressOnARealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a task of seconds: not with -short")
	}
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "1")
	master, tty := openPTY(t)
	defer master.Close()
	got := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, master) // ends with EIO once the terminal end is closed
		got <- buf.Bytes()
	}()

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inv := write("inv.yml", "connection: local\nregions:\n  r:\n    nodes:\n      node-1: {}\n")
	pb := write("slow.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: S-01 take three seconds\n      command: sleep 3\n")
	var stderr bytes.Buffer
	code := Main([]string{"run", pb, "-i", inv, "--journal-dir", filepath.Join(dir, "runs")}, stdio{in: strings.NewReader(""), out: tty, err: &stderr})
	tty.Close()
	out := string(<-got)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), out)
	}
	line := "\r[2s] 0/1 hosts done, 1 running | S-01 take three seconds\x1b[K"
	if !strings.Contains(out, line) {
		t.Errorf("the terminal got no status line %q:\n%q", line, out)
	}
	if !strings.Contains(out, "\x1b[K\r\x1b[Kchanged: [node-1]") {
		t.Errorf("the status line is not erased before the result line:\n%q", out)
	}
	if strings.Contains(out, "\x1b[3") {
		t.Errorf("NO_COLOR is set, yet the terminal got colours:\n%q", out)
	}
}
