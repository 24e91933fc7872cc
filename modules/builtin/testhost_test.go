package builtin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"

	"github.com/expr-lang/expr"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/secret"
	"github.com/omsbook/omsbook/transport"
)

// genHost is a Host on the controller for the generic modules' tests: real local commands and
// files, Render through text/template, Eval through expr, and a record of what the module sent
// to Output and AddSecret.
type genHost struct {
	*modules.Host
	secrets *secret.Set
	mu      sync.Mutex
	lines   []string
}

func newGenHost(t *testing.T, vars map[string]any) *genHost {
	t.Helper()
	if vars == nil {
		vars = map[string]any{}
	}
	g := &genHost{secrets: &secret.Set{}}
	local := transport.NewLocal("localhost")
	g.Host = &modules.Host{
		Name: "localhost", Conn: local, Controller: local, Vars: vars,
		Render: func(tmpl string) (any, error) {
			tp, err := template.New("t").Option("missingkey=error").Parse(tmpl)
			if err != nil {
				return nil, err
			}
			var b bytes.Buffer
			if err := tp.Execute(&b, vars); err != nil {
				return nil, err
			}
			return b.String(), nil
		},
		Eval: func(src string) (any, error) { return expr.Eval(src, vars) },
		Output: func(stream, line string) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.lines = append(g.lines, stream+": "+line)
		},
		AddSecret: g.secrets.Add,
		Mask:      g.secrets.Mask,
		Confirm: func(context.Context, string) (bool, error) {
			return false, errors.New("no terminal")
		},
	}
	return g
}

func (g *genHost) outputLines() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.lines...)
}

// coerceArgs runs raw arguments through the module's Spec (defaults, types) and Validator, as
// the runner does before calling Check or Apply.
func coerceArgs(t *testing.T, m modules.Module, raw map[string]any) modules.Args {
	t.Helper()
	args, err := m.Spec().Coerce(raw, nil)
	if err != nil {
		t.Fatalf("%s: coerce %v: %v", m.Name(), raw, err)
	}
	if v, ok := m.(modules.Validator); ok {
		if err := v.Validate(args); err != nil {
			t.Fatalf("%s: validate %v: %v", m.Name(), raw, err)
		}
	}
	return args
}

// treeSnapshot records every path, mode and content under dir, to prove Check changed nothing.
func treeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + hashBytesForTest(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func hashBytesForTest(b []byte) string {
	s, _, _ := hashReader(bytes.NewReader(b))
	return s
}

func writeTestFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
