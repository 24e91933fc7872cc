package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/modules"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"docker_init_20261201.log", "docker_init_20261202.log", "oms.log", ".hidden.log", "sub/docker_init_old.log"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, f), f, 0o644)
	}
	tests := []struct {
		name string
		raw  map[string]any
		want []string
	}{
		{"a pattern", map[string]any{"paths": []any{dir}, "patterns": []any{"docker_init*.log"}}, []string{"docker_init_20261201.log", "docker_init_20261202.log"}},
		{"recurse", map[string]any{"paths": []any{dir}, "patterns": []any{"docker_init*"}, "recurse": true}, []string{"docker_init_20261201.log", "docker_init_20261202.log", "sub/docker_init_old.log"}},
		{"every file", map[string]any{"paths": []any{dir}}, []string{"docker_init_20261201.log", "docker_init_20261202.log", "oms.log"}},
		{"hidden", map[string]any{"paths": []any{dir}, "patterns": []any{"*.log"}, "hidden": true}, []string{".hidden.log", "docker_init_20261201.log", "docker_init_20261202.log", "oms.log"}},
		{"directories", map[string]any{"paths": []any{dir}, "file_type": "directory"}, []string{"sub"}},
		{"a missing path is skipped", map[string]any{"paths": []any{filepath.Join(dir, "none"), dir}, "patterns": []any{"oms.log"}}, []string{"oms.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGenHost(t, nil)
			m := Find{}
			res, err := m.Apply(context.Background(), h.Host, coerceArgs(t, m, tt.raw))
			if err != nil || res.Failed || res.Changed {
				t.Fatalf("%v %+v", err, res)
			}
			var got []string
			for _, f := range res.Data["files"].([]any) {
				fm := f.(map[string]any)
				got = append(got, strings.TrimPrefix(fm["path"].(string), dir+"/"))
				if fm["mtime"].(float64) <= 0 {
					t.Errorf("%s has no mtime: %v", fm["path"], fm)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("files = %v, want %v", got, tt.want)
			}
			if strings.Contains(tt.name, "missing") && len(res.Data["skipped_paths"].(map[string]any)) != 1 {
				t.Errorf("skipped_paths = %v, want the missing path", res.Data["skipped_paths"])
			}
		})
	}
	if err := (Find{}).Validate(modules.Args{"paths": []string{dir}, "patterns": []string{"["}}); err == nil {
		t.Errorf("a bad glob is accepted")
	}
}
