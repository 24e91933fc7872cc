package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/events"
	"github.com/omsbook/omsbook/output"
)

// This file reads what the OMS playbooks' results record, by the shape of the results:
// oms_param's before / after / changed_at (ha.config, and from it T1 when HA is disabled and
// T2 when it is enabled again), mysqldump's manifest and dumps, and the time files T1 / T2 /
// T3 that copy writes into the backup directory and command reads back.

// oms takes the OMS records out of one host result.
func (b *builder) oms(e events.Event, t *Task) {
	res := e.Result
	if res == nil || e.Status == events.Skipped {
		return
	}
	if _, ok := res["changed_at"]; ok {
		if before, ok := res["before"].(map[string]any); ok {
			after, _ := res["after"].(map[string]any)
			b.param(e, t, before, after)
		}
	}
	if dumps, ok := res["dumps"].([]any); ok {
		b.backup(e, t, dumps)
	}
	if e.Status != events.Failed && e.Status != events.Unreachable {
		b.timeFiles(e, t)
	}
}

// param records an oms_param result and the T1 / T2 it gives.
func (b *builder) param(e events.Event, t *Task, before, after map[string]any) {
	at, _ := e.Result["changed_at"].(string)
	var keys []string
	if ks, ok := e.Result["changed_keys"].([]any); ok {
		for _, k := range ks {
			keys = append(keys, fmt.Sprint(k))
		}
	}
	b.r.HAChanges = append(b.r.HAChanges, HAChange{Step: t.Step, Task: t.Name, Host: e.Host, Status: string(e.Status), Class: statusClass(e.Status),
		Keys: strings.Join(keys, ", "), ChangedAt: at, Before: prettyJSON(before), After: prettyJSON(after)})
	enable, ok := after["enable"].(bool)
	if !ok || at == "" || e.Status == events.Failed {
		return
	}
	src := "oms_param changed_at: the MetaDB's time of the change"
	if e.Check {
		src = "oms_param changed_at in a dry run: the time of the last change (nothing was written)"
	}
	if !enable {
		if strings.HasPrefix(t.Step, "R") {
			return // a rollback disables HA too, but its T1 is the upgrade's, read back
		}
		if !b.hasMark("T1", src) {
			b.mark(TimeMark{Name: "T1", Value: at, Source: src + " (HA disabled)", Step: t.Step})
		}
		return
	}
	// T2 is when HA is enabled again: the last such change of the run.
	for i, m := range b.r.Times {
		if m.Name == "T2" && strings.HasPrefix(m.Source, src) {
			b.r.Times = append(b.r.Times[:i], b.r.Times[i+1:]...)
			break
		}
	}
	b.mark(TimeMark{Name: "T2", Value: at, Source: src + " (HA enabled)", Step: t.Step})
}

func (b *builder) hasMark(name, srcPrefix string) bool {
	for _, m := range b.r.Times {
		if m.Name == name && strings.HasPrefix(m.Source, srcPrefix) {
			return true
		}
	}
	return false
}

// mark adds a time, once.
func (b *builder) mark(m TimeMark) {
	for _, have := range b.r.Times {
		if have == m {
			return
		}
	}
	b.r.Times = append(b.r.Times, m)
}

// timeFiles records a time file written (copy's dest) or read back (a command's stdout), and
// the directories a command moved (mv SRC DST), so that a time file moved later in the run
// (the rollback keeps its backup as <dir>.rolled-back-<time>) is still read.
func (b *builder) timeFiles(e events.Event, t *Task) {
	if dest, _ := e.Result["dest"].(string); timeFile(dest) != "" {
		b.pending = append(b.pending, len(b.r.Times))
		b.r.Times = append(b.r.Times, TimeMark{Name: timeFile(dest), Source: "file " + dest, Step: t.Step, path: dest})
	}
	words := cmdWords(e.Result["cmd"])
	if len(words) == 3 && words[0] == "mv" && e.Status != events.Skipped {
		b.moves = append(b.moves, [2]string{words[1], words[2]})
	}
	if len(words) == 0 || timeFile(words[len(words)-1]) == "" {
		return
	}
	if out, _ := e.Result["stdout"].(string); strings.TrimSpace(out) != "" {
		last := words[len(words)-1]
		b.mark(TimeMark{Name: timeFile(last), Value: strings.TrimSpace(out), Source: "read back by the task from " + last, Step: t.Step})
	}
}

// readTimeFiles reads the time files the run wrote, where they are now: where the task wrote
// them, or where a later mv of the run took them.
func (b *builder) readTimeFiles() {
	for _, i := range b.pending {
		m := &b.r.Times[i]
		if b.opts.ReadTimeFile == nil {
			m.Source += " (not read)"
			continue
		}
		v, err := b.opts.ReadTimeFile(m.path)
		at := m.path
		for _, mv := range b.moves {
			if err == nil {
				break
			}
			if rest, ok := strings.CutPrefix(at, mv[0]); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
				at = mv[1] + rest
				v, err = b.opts.ReadTimeFile(at)
			}
		}
		switch {
		case err != nil:
			m.Source += fmt.Sprintf(" (not readable here: %v)", err)
		case at != m.path:
			m.Source += ", read from " + at + " where the run moved it"
		}
		m.Value = v
	}
}

// cmdWords are a command result's cmd as words (a string or an argv).
func cmdWords(v any) []string {
	switch c := v.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		var out []string
		for _, w := range c {
			out = append(out, fmt.Sprint(w))
		}
		return out
	}
	return nil
}

// backup records a mysqldump result.
func (b *builder) backup(e events.Event, t *Task, dumps []any) {
	bk := Backup{Step: t.Step, Task: t.Name, Host: e.Host, Status: string(e.Status), Check: e.Check}
	bk.Manifest, _ = e.Result["manifest"].(string)
	for _, d := range dumps {
		m, ok := d.(map[string]any)
		if !ok {
			continue
		}
		dump := Dump{DB: str(m["db"]), File: str(m["file"]), SHA256: str(m["sha256"]), DumpedAt: str(m["dumped_at"])}
		if n, ok := number(m["size"]); ok {
			dump.Size = fmt.Sprintf("%s (%d bytes)", output.FormatBytes(n), n)
		}
		dump.Reused, _ = m["reused"].(bool)
		bk.Dumps = append(bk.Dumps, dump)
	}
	b.r.Backups = append(b.r.Backups, bk)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// number reads a JSON number (float64 from a journal, int from a run in the same process).
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func prettyJSON(v map[string]any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
