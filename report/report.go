// Package report turns a run's journal into one self-contained HTML page, for an operator to
// look back at a run and to attach to a change ticket: who ran what and where, a timeline per
// host, every step and failure, the hashes of what the run read and, for the OMS playbooks, the
// times T1 / T2 / T3, ha.config before and after, and the backup manifest with its checksums.
// It reads only the journal (already masked for secrets) and the few small time files the run
// wrote itself (T1, T2, T3); the page needs no network and loads no other file.
package report

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/output"
)

// Options tune Build.
type Options struct {
	// Journal is the journal file's path: its name is the run's id.
	Journal string
	// ReadTimeFile reads one of the time files T1, T2 or T3 a task wrote on the controller
	// (by the path its result names); nil reads none.
	ReadTimeFile func(path string) (string, error)
	// Generated is when the report is made (shown at the bottom); zero leaves it out.
	Generated time.Time
}

// Report is what the page shows, built from a journal's events by Build.
type Report struct {
	RunID, Journal, Playbook string
	Check                    bool
	Start, End               time.Time
	Duration                 string
	Finished                 bool // the journal has the run's end
	ExitCode                 int
	Outcome, OutcomeClass    string
	Msg                      string
	Command, User            string
	Controller, Dir, Resume  string
	Generated                time.Time

	Inputs   []Input
	Hosts    []Host
	Steps    []Step
	Failures []Failure
	Tasks    []Task
	Warnings []string
	// The OMS playbooks' records; all empty for other playbooks.
	Times     []TimeMark
	HAChanges []HAChange
	Backups   []Backup
}

// Input is one file (or the extra vars) the run read, with its sha256.
type Input struct{ Kind, Path, SHA256 string }

// Host is one host's line of the timeline and its recap.
type Host struct {
	Name  string
	Class string // its worst outcome
	Stats events.Stats
	Bars  []Bar
}

// Bar is one result on the timeline: Left and Width are percentages of the run's duration.
type Bar struct {
	Left, Width float64
	Class       string
	Task        int // index in Report.Tasks
	Title       string
}

// Step is one step id of the procedure (the prefix of task names such as U422-07).
type Step struct {
	ID, Title, Class, Status string
	Tasks, Results           int
	Hosts                    []string
	Duration                 string
}

// Failure is a failed or unreachable result.
type Failure struct {
	Host, Task, Step, Pos, Status, Msg, Item, Detail string
}

// Task is one task as it ran, with every host's results.
type Task struct {
	Index            int
	Play, Name, Step string
	Pos              string
	Handler          bool
	Results          []Result
	Class, Status    string
	Duration         string // its longest result
	longest          time.Duration
}

// Result is one host's (or one loop item's) result of a task.
type Result struct {
	Host, Delegate, Status, Class, Msg, Item, Duration string
	Check, Unknown                                     bool
}

// TimeMark is one of the procedure's times: T1 (HA disabled), T2 (HA enabled), T3 (the
// rollback's stop), with where it was read.
type TimeMark struct {
	Name, Value, Source, Step string
	path                      string // a time file's, read at the end (readTimeFiles)
}

// HAChange is an oms_param result: the parameter before and after the task.
type HAChange struct {
	Step, Task, Host, Status, Class string
	Keys, ChangedAt                 string
	Before, After                   string // pretty JSON
}

// Backup is a mysqldump result: its manifest and each dump with its checksum.
type Backup struct {
	Step, Task, Host, Manifest, Status string
	Check                              bool // a dry run's probe
	Dumps                              []Dump
}

// Dump is one database's dump file.
type Dump struct {
	DB, File, Size, SHA256, DumpedAt string
	Reused                           bool
}

// stepID is the step id a task name begins with: U422-07, R422-01..05, U410-03, PRE.
var stepID = regexp.MustCompile(`^(PRE|[A-Z][A-Z0-9]*-[0-9]+(?:\.\.[0-9]+)?)(?:\s|$)`)

// StepID returns the step id task's name begins with, or "".
func StepID(task string) string {
	if m := stepID.FindStringSubmatch(task); m != nil {
		return m[1]
	}
	return ""
}

// Build reads the events of one run, in journal order.
func Build(evs []events.Event, opts Options) (*Report, error) {
	if len(evs) == 0 || evs[0].Kind != events.RunStart {
		return nil, fmt.Errorf("journal %s does not start with the run's start: it is not a run journal", opts.Journal)
	}
	b := &builder{opts: opts, r: &Report{Generated: opts.Generated, Journal: opts.Journal,
		RunID: strings.TrimSuffix(filepath.Base(opts.Journal), ".jsonl")}, hostIdx: map[string]int{}, looped: map[string]bool{}}
	for _, e := range evs {
		b.event(e)
	}
	b.finish(evs[len(evs)-1].Time)
	return b.r, nil
}

type builder struct {
	opts    Options
	r       *Report
	play    string
	hostIdx map[string]int
	cur     map[string]int // task title -> index of its last TaskStart
	looped  map[string]bool
	results []resultAt  // every host result, for the timeline
	pending []int       // the Times that are time files, to read at the end
	moves   [][2]string // mv SRC DST of the run's commands, in order
}

type resultAt struct {
	task       int
	host       string
	start, end time.Time
	status     events.Status
	title      string
}

func (b *builder) event(e events.Event) {
	r := b.r
	switch e.Kind {
	case events.RunStart:
		r.Playbook, r.Check, r.Start, r.Resume = e.Playbook, e.Check, e.Time, e.Resume
		r.Command, r.User, r.Controller, r.Dir = e.Command, e.User, e.Controller, e.Dir
		r.Inputs = inputs(e)
		for _, h := range e.Hosts {
			b.host(h)
		}
	case events.PlayStart:
		b.play = e.Play
		for _, h := range e.Hosts {
			b.host(h)
		}
	case events.TaskStart:
		if b.cur == nil {
			b.cur = map[string]int{}
		}
		b.cur[e.Task] = len(r.Tasks)
		r.Tasks = append(r.Tasks, Task{Index: len(r.Tasks), Play: b.play, Name: e.Task, Step: StepID(e.Task), Pos: e.Pos, Handler: e.Handler})
	case events.HostResult:
		b.result(e)
	case events.Warning:
		r.Warnings = append(r.Warnings, e.Msg)
	case events.Recap:
		for h, s := range e.Stats {
			if s != nil {
				r.Hosts[b.host(h)].Stats = *s
			}
		}
	case events.RunEnd:
		r.Finished, r.ExitCode, r.Msg, r.End = true, e.ExitCode, e.Msg, e.Time
	}
}

func (b *builder) host(name string) int {
	if i, ok := b.hostIdx[name]; ok {
		return i
	}
	b.hostIdx[name] = len(b.r.Hosts)
	b.r.Hosts = append(b.r.Hosts, Host{Name: name})
	return len(b.r.Hosts) - 1
}

// taskOf finds the task a result belongs to: the last one started with its title (a result of
// a play's host failure before any task has none).
func (b *builder) taskOf(e events.Event) int {
	if i, ok := b.cur[e.Task]; ok {
		return i
	}
	b.r.Tasks = append(b.r.Tasks, Task{Index: len(b.r.Tasks), Play: e.Play, Name: orDefault(e.Task, "(before any task)"), Pos: e.Pos})
	if b.cur == nil {
		b.cur = map[string]int{}
	}
	b.cur[e.Task] = len(b.r.Tasks) - 1
	return len(b.r.Tasks) - 1
}

func (b *builder) result(e events.Event) {
	ti := b.taskOf(e)
	t := &b.r.Tasks[ti]
	b.host(e.Host)
	status := string(e.Status)
	if status == "" {
		status = string(events.OK)
	}
	item := ""
	if e.Item != nil {
		item = output.ItemLabel(e.Item)
	}
	t.longest = max(t.longest, e.Duration)
	t.Results = append(t.Results, Result{Host: e.Host, Delegate: e.Delegate, Status: status, Class: statusClass(e.Status),
		Msg: e.Msg, Item: item, Duration: output.FormatDuration(e.Duration), Check: e.Check, Unknown: e.Unknown})
	key := fmt.Sprintf("%d\x00%s", ti, e.Host)
	if e.Item != nil {
		b.looped[key] = true
	}
	if e.Item != nil || !b.looped[key] {
		// A loop's summary line spans its items' bars: the items are drawn instead.
		title := fmt.Sprintf("%s | %s: %s in %s", t.Name, e.Host, status, output.FormatDuration(e.Duration))
		if item != "" {
			title += " (item " + item + ")"
		}
		if e.Msg != "" {
			title += " | " + firstLine(e.Msg, 200)
		}
		b.results = append(b.results, resultAt{task: ti, host: e.Host, start: e.Time.Add(-e.Duration), end: e.Time, status: e.Status, title: title})
	}
	if e.Status == events.Failed || e.Status == events.Unreachable {
		b.r.Failures = append(b.r.Failures, Failure{Host: e.Host, Task: t.Name, Step: t.Step, Pos: e.Pos, Status: status,
			Msg: orDefault(e.Msg, "task failed"), Item: item, Detail: commandDetail(e.Result)})
	}
	b.oms(e, t)
}

func (b *builder) finish(last time.Time) {
	r := b.r
	if r.End.IsZero() {
		r.End = last
	}
	total := r.End.Sub(r.Start)
	r.Duration = output.FormatDuration(total)
	r.Outcome, r.OutcomeClass = outcome(r)
	b.readTimeFiles()
	for _, ra := range b.results {
		if total <= 0 {
			total = time.Millisecond
		}
		left := pct(ra.start.Sub(r.Start), total)
		width := max(pct(ra.end.Sub(ra.start), total), 0.25)
		left = min(max(left, 0), 100-width)
		h := &r.Hosts[b.hostIdx[ra.host]]
		h.Bars = append(h.Bars, Bar{Left: left, Width: width, Class: statusClass(ra.status), Task: ra.task, Title: ra.title})
	}
	for i := range r.Hosts {
		r.Hosts[i].Class = statsClass(r.Hosts[i].Stats)
	}
	for i := range r.Tasks {
		summarise(&r.Tasks[i])
	}
	r.Steps = steps(r.Tasks)
}

func pct(d, total time.Duration) float64 { return float64(d) * 100 / float64(total) }

// summarise gives a task its worst outcome and its duration (its longest result).
func summarise(t *Task) {
	t.Duration = output.FormatDuration(t.longest)
	worst := events.Status("")
	for _, res := range t.Results {
		if rank(events.Status(res.Status)) > rank(worst) {
			worst = events.Status(res.Status)
		}
	}
	if worst == "" {
		t.Status, t.Class = "not run", "none"
	} else {
		t.Status, t.Class = string(worst), statusClass(worst)
	}
}

// steps groups the tasks by step id, in the order the steps first ran.
func steps(tasks []Task) []Step {
	idx := map[string]int{}
	var out []Step
	worst := map[string]events.Status{}
	hosts := map[string]map[string]bool{}
	for _, t := range tasks {
		if t.Step == "" {
			continue
		}
		i, ok := idx[t.Step]
		if !ok {
			i = len(out)
			idx[t.Step] = i
			out = append(out, Step{ID: t.Step, Title: strings.TrimSpace(strings.TrimPrefix(t.Name, t.Step))})
			hosts[t.Step] = map[string]bool{}
		}
		s := &out[i]
		s.Tasks++
		for _, res := range t.Results {
			s.Results++
			if !hosts[t.Step][res.Host] {
				hosts[t.Step][res.Host] = true
				s.Hosts = append(s.Hosts, res.Host)
			}
			if st := events.Status(res.Status); rank(st) > rank(worst[t.Step]) {
				worst[t.Step] = st
			}
		}
	}
	for i := range out {
		if out[i].Tasks > 1 {
			out[i].Title += fmt.Sprintf(" (and %d more tasks)", out[i].Tasks-1)
		}
		st := worst[out[i].ID]
		if st == "" {
			out[i].Status, out[i].Class = "not run", "none"
			continue
		}
		out[i].Status, out[i].Class = string(st), statusClass(st)
	}
	return out
}

// statusRanks order outcomes from best to worst, for a task's or a step's summary.
var statusRanks = map[events.Status]int{"": 0, events.Skipped: 1, events.Included: 1, events.OK: 2, events.Changed: 3,
	events.Rescued: 4, events.Ignored: 4, events.Failed: 5, events.Unreachable: 6}

func rank(s events.Status) int {
	if r, ok := statusRanks[s]; ok {
		return r
	}
	return statusRanks[events.OK]
}

// statusClasses are the CSS classes, and so the colours, of the outcomes; ok for the others.
var statusClasses = map[events.Status]string{events.Changed: "changed", events.Failed: "failed", events.Unreachable: "unreachable",
	events.Skipped: "skipped", events.Included: "skipped", events.Rescued: "ignored", events.Ignored: "ignored"}

func statusClass(s events.Status) string {
	if c, ok := statusClasses[s]; ok {
		return c
	}
	return "ok"
}

func statsClass(s events.Stats) string {
	switch {
	case s.Unreachable > 0:
		return "unreachable"
	case s.Failed > 0:
		return "failed"
	case s.Changed > 0:
		return "changed"
	case s.OK > 0:
		return "ok"
	}
	return "skipped"
}

// outcome says how the run ended, as the exit codes mean it.
func outcome(r *Report) (string, string) {
	if !r.Finished {
		return "unfinished: the journal ends before the run did (killed, or still running)", "failed"
	}
	switch r.ExitCode {
	case 0:
		if r.Check {
			return "dry run completed (exit 0)", "ok"
		}
		return "completed (exit 0)", "ok"
	case 2:
		return "a task failed (exit 2)", "failed"
	case 4:
		return "a host was unreachable (exit 4)", "unreachable"
	case 5:
		return "bad input (exit 5)", "failed"
	case 99:
		return "interrupted (exit 99)", "ignored"
	}
	return fmt.Sprintf("exit %d", r.ExitCode), "failed"
}

// inputs lists the hashes on RunStart: the playbook first, then the inventories (the -i of
// the command line), the other files, and the extra vars.
func inputs(e events.Event) []Input {
	inv := map[string]bool{}
	words := strings.Fields(e.Command)
	for i := 0; i+1 < len(words); i++ {
		if words[i] == "-i" || words[i] == "--inventory" {
			inv[filepath.Clean(strings.Trim(words[i+1], `'"`))] = true
		}
	}
	var out []Input
	for p, sum := range e.Inputs {
		kind := "file"
		switch {
		case p == "-e":
			kind = "extra vars (-e, secrets masked)"
		case e.Playbook != "" && sameFile(p, e.Playbook):
			kind = "playbook"
		default:
			for i := range inv {
				if sameFile(p, i) {
					kind = "inventory"
				}
			}
		}
		out = append(out, Input{Kind: kind, Path: p, SHA256: sum})
	}
	order := map[string]int{"playbook": 0, "inventory": 1, "file": 2}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := order[out[i].Kind], order[out[j].Kind]
		if out[i].Path == "-e" {
			oi = 3
		}
		if out[j].Path == "-e" {
			oj = 3
		}
		if oi != oj {
			return oi < oj
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// sameFile says whether the absolute path abs names rel (relative to a directory unknown here).
func sameFile(abs, rel string) bool {
	rel = filepath.Clean(rel)
	return abs == rel || strings.HasSuffix(abs, string(filepath.Separator)+rel)
}

// commandDetail is a failed command's rc and stderr (or stdout), as the text output shows it.
func commandDetail(r map[string]any) string {
	if r == nil {
		return ""
	}
	var parts []string
	if rc, ok := r["rc"]; ok {
		parts = append(parts, fmt.Sprintf("rc: %v", rc))
	}
	for _, stream := range []string{"stderr", "stdout"} {
		if s, _ := r[stream].(string); strings.TrimSpace(s) != "" {
			parts = append(parts, stream+":\n"+strings.TrimRight(s, "\n"))
			break
		}
	}
	return strings.Join(parts, "\n")
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// timeFile says whether a path is one of the procedure's time files.
func timeFile(p string) string {
	switch b := path.Base(filepath.ToSlash(p)); b {
	case "T1", "T2", "T3":
		return b
	}
	return ""
}
