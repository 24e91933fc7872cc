package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
)

// chromium runs Debian's headless Chromium on page with args, in a profile of its own (the
// user's is never touched), and returns its stdout and its log (stderr).
func chromium(t *testing.T, page string, args ...string) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		testutil.SkipOrFail(t, "no chromium here (Debian's package chromium; lab/deps.sh installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(argv, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleLine is a line of Chromium's log that a page's console or an uncaught error wrote.
var consoleLine = regexp.MustCompile(`(?m)^.*(:CONSOLE|Uncaught).*$`)

// TestReportInChromium: a real browser loads the report of a real run and of an OMS run: the
// page's script runs to its end without an error (it marks the body data-js="ok" only then),
// nothing is written to the console, and a screenshot of the asked size is taken.
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser: not with -short")
	}
	evs, path, _ := runFixture(t)
	fixture, err := Build(evs, Options{Journal: path, Generated: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	oms, err := Build(omsRun(), Options{Journal: "20261201T100000Z-upgrade-422-to-423.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Report{"fixture": fixture, "oms": oms} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			page := filepath.Join(dir, "report.html")
			var b bytes.Buffer
			if err := Write(&b, r); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			dom, log := chromium(t, page, "--dump-dom")
			if !strings.Contains(dom, `data-js="ok"`) {
				t.Errorf("the page's script did not run to its end (no data-js=\"ok\" on the body):\n%s", firstLines(dom, 5))
			}
			if !strings.Contains(dom, "click a bar to find its task") {
				t.Error("the script did not fill in its status line")
			}
			if m := consoleLine.FindAllString(log, -1); len(m) > 0 {
				t.Errorf("the console has messages:\n%s", strings.Join(m, "\n"))
			}

			shot := filepath.Join(dir, "report.png")
			_, log = chromium(t, page, "--window-size=1280,1600", "--screenshot="+shot, "--hide-scrollbars")
			if m := consoleLine.FindAllString(log, -1); len(m) > 0 {
				t.Errorf("the console has messages while taking the screenshot:\n%s", strings.Join(m, "\n"))
			}
			f, err := os.Open(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v\n%s", err, log)
			}
			defer f.Close()
			cfg, err := png.DecodeConfig(f)
			if err != nil {
				t.Fatalf("the screenshot is not a PNG: %v", err)
			}
			fi, _ := f.Stat()
			if cfg.Width != 1280 || cfg.Height != 1600 || fi.Size() < 30<<10 {
				t.Errorf("screenshot %dx%d, %d bytes; want 1280x1600 and more than 30 KiB (a page with content)", cfg.Width, cfg.Height, fi.Size())
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
