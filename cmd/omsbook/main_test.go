package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestMain lets the test binary act as the omsbook command inside the scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"omsbook": func() { os.Exit(Main(os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})) },
	})
}

// TestScripts runs testdata/script/*.txtar: the command line as a user meets it.
func TestScripts(t *testing.T) {
	goldenDir, err := filepath.Abs(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "ci":
				// Under CI=true a missing component fails the script instead of skipping it.
				return testutil.CI(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"golden":    func(ts *testscript.TestScript, neg bool, args []string) { cmdGolden(ts, neg, args, goldenDir) },
			"jsonlines": cmdJSONLines,
			"journal":   cmdJournal,
			"interrupt": cmdInterrupt,
		},
	})
}

// cmdExits runs a program and checks its exit code: exits CODE PROGRAM [ARGS...]. Its stdout
// and stderr are kept for the commands that follow, as exec does.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: code %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

var (
	durationRE  = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m\d+(\.\d+)?s|h\d+m\d+(\.\d+)?s)\b`)
	timestampRE = regexp.MustCompile(`\d{8}T\d{6}Z`)
	// journalRE also drops the -2, -3 ... a journal gets when another run started in the same
	// second, which depends on how fast the machine is.
	journalRE = regexp.MustCompile(`\d{8}T\d{6}Z-([^/\s]*?)(-\d+)?\.jsonl`)
)

// normalise makes output comparable between runs and checkouts: the work directory becomes
// $WORK, the repository $REPO, times and
// durations become placeholders.
func normalise(ts *testscript.TestScript, s string) string {
	if work := ts.Getenv("WORK"); work != "" {
		s = strings.ReplaceAll(s, work, "$WORK")
	}
	if repo := ts.Getenv("REPO"); repo != "" {
		s = strings.ReplaceAll(s, repo, "$REPO")
	}
	s = journalRE.ReplaceAllString(s, "TIMESTAMP-$1.jsonl")
	s = timestampRE.ReplaceAllString(s, "TIMESTAMP")
	return durationRE.ReplaceAllString(s, "DURATION")
}

// cmdGolden compares the last command's stdout or stderr, normalised, with a file in
// testdata/golden: golden stdout|stderr NAME. With -update it rewrites the file.
func cmdGolden(ts *testscript.TestScript, neg bool, args []string, dir string) {
	if neg || len(args) != 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: golden stdout|stderr NAME")
	}
	got := normalise(ts, ts.ReadFile(args[0]))
	if err := testutil.CheckGolden(filepath.Join(dir, args[1]), []byte(got)); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
}

// cmdJSONLines checks that a file (or stdout) holds JSON objects, one per line, and that the
// events named after it occur in that order: jsonlines FILE|stdout [EVENT...].
func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: jsonlines FILE|stdout [EVENT...]")
	}
	checkJSONLines(ts, args[0], ts.ReadFile(args[0]), args[1:])
}

func checkJSONLines(ts *testscript.TestScript, name, text string, want []string) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			ts.Fatalf("%s line %d is not a JSON object: %v: %s", name, n, err, sc.Text())
		}
		if len(want) > 0 && obj["event"] == want[0] {
			want = want[1:]
		}
	}
	if n == 0 {
		ts.Fatalf("%s holds no JSON lines", name)
	}
	if len(want) > 0 {
		ts.Fatalf("%s lacks the events %s (in that order)", name, strings.Join(want, ", "))
	}
}

// cmdJournal checks a journal directory: journal DIR COUNT [ABSENT] — COUNT files named
// <timestamp>-<playbook>.jsonl, mode 0600, each JSON lines from run_start to run_end, none
// holding the text ABSENT (a secret).
func cmdJournal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: journal DIR COUNT [ABSENT]")
	}
	dir := ts.MkAbs(args[0])
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	ts.Check(err)
	if len(files) != want {
		ts.Fatalf("%s holds %d journal files, want %d", args[0], len(files), want)
	}
	for _, f := range files {
		if !timestampRE.MatchString(filepath.Base(f)) {
			ts.Fatalf("journal file %s is not named <UTC timestamp>-<playbook>.jsonl", f)
		}
		fi, err := os.Stat(f)
		ts.Check(err)
		if fi.Mode().Perm() != 0o600 {
			ts.Fatalf("journal file %s has mode %v, want 0600", f, fi.Mode().Perm())
		}
		data, err := os.ReadFile(f)
		ts.Check(err)
		checkJSONLines(ts, f, string(data), []string{"run_start", "recap", "run_end"})
		if len(args) == 3 && strings.Contains(string(data), args[2]) {
			ts.Fatalf("journal file %s holds %q", f, args[2])
		}
	}
}

// cmdInterrupt runs a program, waits until a line of its stdout matches REGEX, sends it
// COUNT SIGINTs (200 ms apart), and checks its exit code:
// interrupt REGEX COUNT CODE PROGRAM [ARGS...]. Its output is kept for stdout and stderr.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: interrupt REGEX COUNT CODE PROGRAM [ARGS...]")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	count, err := strconv.Atoi(args[1])
	ts.Check(err)
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	path, err := exec.LookPath(args[3])
	ts.Check(err)
	cmd := exec.Command(path, args[4:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	ts.Check(cmd.Start())

	var stdout strings.Builder
	seen := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			stdout.WriteString(sc.Text() + "\n")
			if !signalled && re.MatchString(sc.Text()) {
				signalled = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-copied
		_ = cmd.Wait()
		ts.Fatalf("no stdout line matched %q within 30s:\n%s%s", args[0], stdout.String(), stderr.String())
	case <-copied:
		_ = cmd.Wait()
		ts.Fatalf("the program ended before a stdout line matched %q:\n%s%s", args[0], stdout.String(), stderr.String())
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		ts.Check(cmd.Process.Signal(os.Interrupt))
	}
	<-copied
	err = cmd.Wait()
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("interrupt: %v", err)
		}
		got = ee.ExitCode()
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), stderr.String())
	if got != want {
		ts.Fatalf("exit code %d, want %d\n%s%s", got, want, stdout.String(), stderr.String())
	}
}
