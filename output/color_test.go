package output

import (
	"os"
	"testing"

	"github.com/creack/pty"
)

// TestWantColorTerminal: auto colours a real terminal (a pty) and not /dev/null, which is a
// character device but no terminal; always and never hold whatever the file; NO_COLOR turns
// off auto and an always that was not given on the command line.
func TestWantColorTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()

	t.Setenv("NO_COLOR", "") // restored at the end
	os.Unsetenv("NO_COLOR")
	cases := []struct {
		mode     string
		explicit bool
		f        *os.File
		want     bool
	}{
		{"auto", false, tty, true},
		{"auto", false, devnull, false},
		{"auto", false, nil, false},
		{"always", false, devnull, true},
		{"never", true, tty, false},
	}
	for _, c := range cases {
		if got := WantColor(c.mode, c.explicit, c.f); got != c.want {
			t.Errorf("WantColor(%s, explicit %v, %v) = %v, want %v", c.mode, c.explicit, c.f, got, c.want)
		}
	}
	t.Setenv("NO_COLOR", "1")
	if WantColor("auto", false, tty) {
		t.Error("auto colours a terminal with NO_COLOR set")
	}
	if WantColor("always", false, tty) {
		t.Error("always from the environment or config colours with NO_COLOR set")
	}
	if !WantColor("always", true, devnull) {
		t.Error("--color always on the command line does not colour with NO_COLOR set")
	}
}
