// Package yamlsrc decodes YAML with the file:line:column every value was written at, and holds
// the positioned bad-input error (Error) that the playbook and inventory loaders return. It
// imports nothing of omsbook, so that every loader can stand on it.
package yamlsrc

import "fmt"

// Pos is a place in a YAML file.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:column (file:line or file alone when the rest is
// unknown).
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a bad-input error at a place in a file; the CLI exits 5 for it.
type Error struct {
	Pos  Pos
	Msg  string // what is wrong, lowercase
	Fix  string // what to do, may be empty
	Task string // the task's name, when the error is inside a task
	// Host names the host the error is specific to (a template that fails for one host only).
	Host string
	Err  error
}

func (e *Error) Error() string {
	s := e.Pos.String()
	if s != "" {
		s += ": "
	}
	switch {
	case e.Task != "" && e.Host != "":
		s += fmt.Sprintf("task %q on %s: ", e.Task, e.Host)
	case e.Task != "":
		s += fmt.Sprintf("task %q: ", e.Task)
	case e.Host != "":
		s += "on " + e.Host + ": "
	}
	s += e.Msg
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
