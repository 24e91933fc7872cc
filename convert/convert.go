// Package convert turns an Ansible playbook tree (playbooks, roles, Jinja templates,
// group_vars / host_vars, inventories) into an omsbook one: Jinja expressions and templates
// become Go templates (convert/jinja), with_items / with_list / with_dict become loop, and
// name=value module arguments become mappings. What omsbook already reads as Ansible writes it
// (keywords, module names, conditions, INI and YAML inventories) is kept. A construct it
// cannot translate with the same meaning is reported, at its file and line, and left marked in
// the output so that omsbook validate stops there.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/convert/jinja"
)

// Problem is a construct left untranslated, or (Note) translated with a difference worth
// knowing.
type Problem struct {
	File   string
	Line   int
	Reason string
	Note   bool
}

func (p Problem) String() string {
	kind := "untranslated"
	if p.Note {
		kind = "note"
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, kind, p.Reason)
}

// Report is what a conversion did.
type Report struct {
	// Files are the files written, relative to the output.
	Files []string
	// Problems are in file and line order.
	Problems []Problem
}

// Untranslated counts the problems that are not notes.
func (r *Report) Untranslated() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Note {
			n++
		}
	}
	return n
}

// ErrOutputExists is returned when the output is a file or a directory that is not empty.
var ErrOutputExists = errors.New("the output exists and is not empty")

// Tree converts src (a directory, or one playbook or template file) into dst (a new or empty
// directory; for a file, the file to write).
func Tree(ctx context.Context, src, dst string) (*Report, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	if !info.IsDir() {
		if _, err := os.Stat(dst); err == nil {
			return nil, fmt.Errorf("%s: %w", dst, ErrOutputExists)
		}
		if err := convertFile(src, filepath.Base(src), dst, rep); err != nil {
			return nil, err
		}
		rep.Files = []string{filepath.Base(dst)}
		sortProblems(rep)
		return rep, nil
	}
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s: %w", dst, ErrOutputExists)
	} else if fi, err := os.Stat(dst); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", dst, ErrOutputExists)
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "__pycache__") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		rep.Files = append(rep.Files, filepath.ToSlash(rel))
		return convertFile(path, filepath.ToSlash(rel), out, rep)
	})
	if err != nil {
		return nil, err
	}
	sortProblems(rep)
	return rep, nil
}

func sortProblems(rep *Report) {
	sort.SliceStable(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// convertFile converts one file; rel names it in problems.
func convertFile(path, rel, out string, rep *Report) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	var result []byte
	switch kind := classify(rel, data); kind {
	case kindTemplate:
		r := jinja.Template(string(data), jinja.Options{})
		for _, p := range r.Problems {
			rep.Problems = append(rep.Problems, Problem{File: rel, Line: p.Line, Reason: p.Reason})
		}
		for _, p := range r.Notes {
			rep.Problems = append(rep.Problems, Problem{File: rel, Line: p.Line, Reason: p.Reason, Note: true})
		}
		result = []byte(r.Text)
	case kindYAML:
		c := &fileConv{file: rel, rep: rep, role: roleFile(rel)}
		result, err = c.convertYAML(data)
		if err != nil {
			return err
		}
	default:
		result = data
		if kind == kindINI && (bytes.Contains(data, []byte("{{")) || bytes.Contains(data, []byte("{%"))) {
			for i, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, "{{") || strings.Contains(line, "{%") {
					rep.Problems = append(rep.Problems, Problem{File: rel, Line: i + 1, Reason: "Jinja in an INI inventory is not translated (move the value to group_vars/ or host_vars/)"})
				}
			}
		}
		if filepath.Base(rel) == "ansible.cfg" {
			rep.Problems = append(rep.Problems, Problem{File: rel, Line: 1, Note: true, Reason: "omsbook does not read ansible.cfg: put its settings in omsbook.yml (README: The config file)"})
		}
	}
	return os.WriteFile(out, result, mode)
}

type fileKind int

const (
	kindOther fileKind = iota
	kindTemplate
	kindYAML
	kindINI
)

// classify says how a file of the tree is converted.
func classify(rel string, data []byte) fileKind {
	parts := strings.Split(rel, "/")
	base := parts[len(parts)-1]
	ext := filepath.Ext(base)
	inVarsDir := false
	for _, p := range parts[:len(parts)-1] {
		if p == "group_vars" || p == "host_vars" {
			inVarsDir = true
		}
	}
	switch {
	case ext == ".j2":
		return kindTemplate
	case ext == ".yml" || ext == ".yaml":
		return kindYAML
	case inVarsDir && (ext == "" || ext == ".json"):
		return kindYAML
	case len(parts) > 1 && parts[len(parts)-2] == "templates":
		return kindTemplate
	case ext == ".ini" || ext == "" && bytes.Contains(data, []byte("\n[")) || bytes.HasPrefix(data, []byte("[")):
		if !inFilesDir(parts) {
			return kindINI
		}
	}
	return kindOther
}

func inFilesDir(parts []string) bool {
	for _, p := range parts[:len(parts)-1] {
		if p == "files" {
			return true
		}
	}
	return false
}

// roleFile says which part of a role a file is (tasks, handlers, defaults, vars, meta), or ""
// for a file outside a role's directories.
func roleFile(rel string) string {
	parts := strings.Split(rel, "/")
	for i := len(parts) - 2; i >= 1; i-- {
		if parts[i-1] != "" && i >= 2 && parts[i-2] == "roles" {
			return parts[i]
		}
	}
	if len(parts) >= 2 {
		switch parts[len(parts)-2] {
		case "tasks", "handlers":
			return parts[len(parts)-2]
		}
	}
	return ""
}

// encodeYAML writes a document back with two-space indentation, comments kept, and, as the
// original had them, its --- and a blank line between tasks (and plays).
func encodeYAML(docs []*yaml.Node, orig []byte) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if bytes.Contains(orig, []byte("\n\n")) {
		out = spaceItems(out)
	}
	if bytes.HasPrefix(orig, []byte("---")) && !bytes.HasPrefix(out, []byte("---")) {
		out = append([]byte("---\n"), out...)
	}
	return out, nil
}

var itemStart = regexp.MustCompile(`^\s*- (name|hosts|import_playbook|block|include_tasks|import_tasks):`)

// spaceItems puts a blank line before each task or play of a list but the first (before the
// comment lines that head it).
func spaceItems(out []byte) []byte {
	lines := strings.Split(string(out), "\n")
	var res []string
	for i, line := range lines {
		if i > 0 && itemStart.MatchString(line) {
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			j := len(res)
			for j > 0 && strings.HasPrefix(res[j-1], indent+"#") {
				j--
			}
			if j > 0 && strings.TrimSpace(res[j-1]) != "" && !strings.HasSuffix(res[j-1], ":") {
				res = append(res[:j], append([]string{""}, res[j:]...)...)
			}
		}
		res = append(res, line)
	}
	return []byte(strings.Join(res, "\n"))
}
