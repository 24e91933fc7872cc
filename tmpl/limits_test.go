package tmpl

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bombs are templates that would exhaust memory or run for ages without Limits; each must be
// refused with a limit error whose message holds want.
var bombs = []struct {
	name, src, want string
}{
	{"range over a huge int", `{{ range 100000000000 }}{{ end }}`, "range over 100000000000: more than the 10000000 steps"},
	{"range over a huge int printing", `{{ range 100000000000 }}x{{ end }}`, "range over 100000000000"},
	{"until", `{{ until 400000000 }}`, "until would build 3.0 GiB, more than the 16 MiB a template may build at once"},
	{"until in text", `n={{ until 400000000 | len }}`, "until would build"},
	{"untilStep", `{{ untilStep 0 1000000000 1 }}`, "untilStep would build"},
	{"seq", `{{ seq 1000000000 }}`, "seq would build"},
	{"repeat", `{{ repeat 1073741824 "x" }}`, "repeat would build 1.0 GiB"},
	{"repeat piped", `{{ "xy" | repeat 1073741824 }}`, "repeat would build 2.0 GiB"},
	{"indent", `{{ indent 100000000 "a\nb\nc" }}`, "indent would build"},
	{"randAlphaNum", `{{ randAlphaNum 1000000000 }}`, "randAlphaNum would build"},
	{"replace between every byte", `{{ replace "" (repeat 1000 "y") (repeat 100000 "x") }}`, "replace would build"},
	{"printf widths", `{{ printf "` + strings.Repeat("%1000000d", 20) + `" 1 }}`, "printf would build"},
	{"output", `{{ range 100000 }}` + strings.Repeat("x", 200) + `{{ end }}`, "the output is larger than 16 MiB"},
	{"output of one action", `{{ $s := repeat 10000000 "x" }}{{ $s }}{{ $s }}`, "the output is larger than 16 MiB"},
	{"doubling a string", `{{ $s := "xxxxxxxx" }}{{ range 60 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}`, "cat"},
	{"doubling a list", `{{ $l := list 1 }}{{ range 60 }}{{ $l = concat $l $l }}{{ end }}{{ len $l }}`, "concat"},
	{"printing shared sublists", `{{ $l := list "x" }}{{ range 60 }}{{ $l = list $l $l }}{{ end }}{{ $l }}`, "list would build a value that prints as more than 16 MiB"},
	{"serializing shared sublists", `{{ $l := list "x" }}{{ range 60 }}{{ $l = list $l $l }}{{ end }}{{ toJson $l | len }}`, "list would build a value that prints as more than 16 MiB"},
	{"serializing shared sublists built otherwise", `{{ $l := list "x" }}{{ range 60 }}{{ $l = append $l $l }}{{ end }}{{ toJson $l | len }}`, "append would build a value that prints as more than 16 MiB"},
	{"a map holding itself", `{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ $d }}`, "set would make a map hold itself"},
	{"a map merged into itself", `{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "b" (list $d)) }}{{ $d }}`, "merge would make a map hold itself"},
	{"deep nesting", `{{ $l := list }}{{ range 5000 }}{{ $l = list $l }}{{ end }}{{ toJson $l }}`, "nested more than 1000 levels deep"},
}

func TestTemplateBombsAreRefused(t *testing.T) {
	for _, tt := range bombs {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			_, err := Render(tt.src, nil)
			var te *Error
			if !errors.As(err, &te) || !te.Limit {
				t.Fatalf("Render(%q) = %v, want a *tmpl.Error with Limit set", tt.src, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			for _, h := range hiddenFuncs {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error %q shows the hidden function %s", err, h)
				}
			}
			t.Logf("%v: %v", time.Since(t0).Round(time.Millisecond), err)
		})
	}
}

func TestLimitErrorsSayWhere(t *testing.T) {
	src := "first line\n  {{ repeat 1073741824 \"x\" }}"
	_, err := Render(src, nil)
	want := `template: repeat would build 1.0 GiB, more than the 16 MiB a template may build at once (at <repeat 1073741824 "x">, line 2 col 6)`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
	_, err = Render("a\nb {{ range 100000000000 }}{{ end }}", nil)
	var te *Error
	if !errors.As(err, &te) || te.Line != 2 || te.Col == 0 || te.At != "" {
		t.Fatalf("range error %#v, want line 2 with a column and no hidden action", err)
	}
}

func TestLimitsAreConfigurable(t *testing.T) {
	prev := SetLimits(Limits{MaxOutput: 1 << 10})
	t.Cleanup(func() { SetLimits(prev) })
	if got := CurrentLimits(); got.MaxOutput != 1<<10 || got.MaxTime != DefaultLimits.MaxTime || got.MaxSteps != DefaultLimits.MaxSteps {
		t.Fatalf("CurrentLimits = %+v, want MaxOutput 1 KiB and the other defaults", got)
	}
	if _, err := Render(`{{ repeat 2000 "x" }}`, nil); err == nil || !strings.Contains(err.Error(), "more than the 1 KiB") {
		t.Errorf("repeat past a 1 KiB MaxOutput: %v", err)
	}
	if _, err := Render(`{{ range 2000 }}x{{ end }}`, nil); err == nil || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Errorf("output past a 1 KiB MaxOutput: %v", err)
	}
	if _, err := Render(`{{ list "`+strings.Repeat("x", 600)+`" "`+strings.Repeat("y", 600)+`" }}`, nil); err == nil || !strings.Contains(err.Error(), "list would build a value that prints as more than 1 KiB") {
		t.Errorf("a whole value past a 1 KiB MaxOutput: %v", err)
	}
	SetLimits(Limits{MaxSteps: 1000})
	if _, err := Render(`{{ range 100 }}{{ range 100 }}{{ end }}{{ end }}`, nil); err == nil || !strings.Contains(err.Error(), "the 1000 steps a template may take") {
		t.Errorf("nested ranges past 1000 steps: %v", err)
	}
	if _, err := Render(`{{ define "x" }}{{ template "x" . }}{{ template "x" . }}{{ end }}{{ template "x" . }}`, nil); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("recursive template calls past 1000 steps: %v", err)
	}
	if _, err := Render(`{{ uniq (until 2000) | len }}`, nil); err == nil || !strings.Contains(err.Error(), "uniq: the template takes more than 1000 steps") {
		t.Errorf("uniq over 2000 items past 1000 steps: %v", err)
	}
	SetLimits(Limits{MaxTime: 50 * time.Millisecond, MaxSteps: 1 << 62})
	t0 := time.Now()
	_, err := Render(`{{ range 1000000000000 }}{{ end }}`, nil)
	if err == nil || !strings.Contains(err.Error(), "rendering takes longer than 50ms") {
		t.Errorf("a loop past MaxTime: %v", err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("a 50ms MaxTime stopped the rendering after %v", took)
	}
	SetLimits(Limits{})
	if got := CurrentLimits(); got != DefaultLimits {
		t.Errorf("SetLimits(zero) = %+v, want the defaults", got)
	}
}

func TestSaneTemplatesWithinLimits(t *testing.T) {
	vars := testVars()
	hosts := map[string]any{}
	for i := 0; i < 2000; i++ {
		hosts[fmt.Sprintf("h%04d", i)] = map[string]any{"ip": fmt.Sprintf("10.0.%d.%d", i/250, i%250), "tags": []any{"a", "b"}}
	}
	vars["hostvars"] = hosts
	tests := []struct {
		name, src string
		check     func(any) bool
	}{
		{"range over hosts", `{{ range $n, $h := .hostvars }}{{ $n }}={{ $h.ip }} {{ end }}`, func(v any) bool { return strings.Count(v.(string), "=") == 2000 }},
		{"collect and join", `{{ collect .hostvars "ip" | join "," }}`, func(v any) bool { return strings.Count(v.(string), ",") == 1999 }},
		{"toJson of all hosts", `{{ toJson .hostvars | len }}`, func(v any) bool { return v.(int) > 50000 }},
		{"until and seq", `{{ until 1000 | len }} {{ seq 3 }}`, func(v any) bool { return v == "1000 1 2 3" }},
		{"repeat a little", `{{ repeat 3 "ab" }}`, func(v any) bool { return v == "ababab" }},
		{"append in a loop", `{{ $l := list }}{{ range 2000 }}{{ $l = append $l . }}{{ end }}{{ len $l }}`, func(v any) bool { return v == "2000" }},
		{"printf", `{{ printf "%05d|%-4s|%v" 42 "ab" .nodes }}`, func(v any) bool { return v == "00042|ab  |[oms-hz-1 oms-hz-2 oms-sh-1]" }},
		{"define and call", `{{ define "ip" }}[{{ .ip }}]{{ end }}{{ template "ip" (index .hostvars "h0001") }}`, func(v any) bool { return v == "[10.0.0.1]" }},
		{"range over int", `{{ range 3 }}{{ . }}{{ end }}`, func(v any) bool { return v == "012" }},
		{"break in a range", `{{ range $i, $e := .nodes }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e }}{{ end }}`, func(v any) bool { return v == "oms-hz-1" }},
		{"nil prints no value", `x{{ .empty.nothing }}`, func(v any) bool { return v == "x<no value>" }},
		{"html js urlquery", `{{ html "<a>" }} {{ js "'" }} {{ urlquery "a b" }}`, func(v any) bool { return v == `&lt;a&gt; \' a+b` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.src, vars)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if !tt.check(got) {
				t.Errorf("Render(%q) = %#v", tt.src, got)
			}
		})
	}
	// A definition does not outlive the rendering that made it.
	if _, err := Render(`{{ template "ip" . }}`, vars); err == nil || !strings.Contains(err.Error(), `template "ip" not defined`) {
		t.Errorf("a template defined by another source was found: %v", err)
	}
}

// TestTemplateBombsPeakMemory renders each bomb in a child process of its own, which reports
// its peak resident memory as the kernel counts it (VmHWM) and the heap the Go runtime took
// from the system (HeapSys, which does not shrink): every refusal must come before the memory
// is allocated, so neither may pass 200 MB. Under the race detector, whose shadow memory
// inflates the resident size several times, only the heap is held to it.
func TestTemplateBombsPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process per template; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status to read the peak memory from")
	}
	const maxMem = 200 << 20
	report := regexp.MustCompile(`peak-rss-kb: (\d+) heap-sys-kb: (\d+)`)
	for i, tt := range bombs {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTemplateBombChild$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "OMSBOOK_TMPL_BOMB="+strconv.Itoa(i))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child for %q: %v\n%s", tt.src, err, out)
			}
			m := report.FindSubmatch(out)
			if m == nil {
				t.Fatalf("the child did not report its peak memory:\n%s", out)
			}
			rssKB, _ := strconv.ParseInt(string(m[1]), 10, 64)
			heapKB, _ := strconv.ParseInt(string(m[2]), 10, 64)
			rss, heap := rssKB<<10, heapKB<<10
			t.Logf("peak RSS %.1f MB, heap %.1f MB", float64(rss)/(1<<20), float64(heap)/(1<<20))
			if heap > maxMem || (!raceEnabled && rss > maxMem) {
				t.Errorf("rendering %q peaked at %.0f MB resident, %.0f MB of heap: more than 200 MB", tt.src, float64(rss)/(1<<20), float64(heap)/(1<<20))
			}
		})
	}
}

// TestTemplateBombChild is the child of TestTemplateBombsPeakMemory. A watchdog ends it when
// its heap passes 400 MB, so that a bomb that is not refused cannot take the machine with it.
func TestTemplateBombChild(t *testing.T) {
	which := os.Getenv("OMSBOOK_TMPL_BOMB")
	if which == "" {
		t.Skip("run by TestTemplateBombsPeakMemory")
	}
	i, _ := strconv.Atoi(which)
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > 400<<20 {
				fmt.Fprintf(os.Stderr, "heap at %d MB: the bomb was not refused\n", ms.HeapAlloc>>20)
				os.Exit(3)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err := Render(bombs[i].src, nil)
	var te *Error
	if !errors.As(err, &te) || !te.Limit {
		t.Fatalf("Render(%q) = %v, want a limit error", bombs[i].src, err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/self/status")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("peak-rss-kb: %s heap-sys-kb: %d\n", m[1], ms.HeapSys>>10)
}

func TestTemplateCallingItself(t *testing.T) {
	// As text/template runs it: the main template is "t" and may call itself, to a depth.
	_, err := Render(`{{ if . }}{{ template "t" }}{{ end }}`, map[string]any{"x": 1})
	if err != nil {
		t.Fatalf("a template calling itself until its data is empty: %v", err)
	}
	_, err = Render(`x{{ template "t" . }}`, nil)
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("endless self-call: %v, want a *tmpl.Error", err)
	}
}
