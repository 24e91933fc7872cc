package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestPrecedence: env > file > default, each value saying where it came from; a flag's
// Override wins over all.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(file, []byte("forks: 4\ninventory: [a.yml, /abs/b.yml]\ncolor: never\nssh_config: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"OMSBOOK_CONFIG": file, "OMSBOOK_COLOR": "always", "OMSBOOK_ROLES_PATH": "r1" + string(filepath.ListSeparator) + "r2"}))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, value string, src Source) {
		t.Helper()
		v := c.Values[name]
		if v.String() != value || v.Src != src {
			t.Errorf("%s = %q from %s (%s), want %q from %s", name, v.String(), v.Src, v.Where, value, src)
		}
	}
	sep := string(filepath.ListSeparator)
	check("forks", "4", FromFile)
	check("inventory", filepath.Join(dir, "a.yml")+sep+"/abs/b.yml", FromFile)
	check("ssh_config", "none", FromFile)
	check("color", "always", FromEnv)
	check("roles_path", "r1"+sep+"r2", FromEnv)
	check("gathering", "implicit", FromDefault)
	check("journal_dir", "", FromDefault)
	if c.Forks() != 4 || c.Values["forks"].Where != file+":1:8" {
		t.Errorf("forks %d at %s", c.Forks(), c.Values["forks"].Where)
	}
	c.Override("color", []string{"never"}, "--color")
	check("color", "never", FromFlag)
}

// TestBadFile: every mistake names the file, line and column.
func TestBadFile(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"forks: many\n":        ":1:8: forks is \"many\"",
		"gathering: lazy\n":    ":1:12: gathering is \"lazy\"",
		"forks: 2\nforkz: 3\n": ":2:1: unknown setting \"forkz\"",
		"- forks\n":            ":1:1: the config file must be",
		"inventory: {a: b}\n":  ":1:12:",
	} {
		file := filepath.Join(dir, "c.yml")
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(env(map[string]string{"OMSBOOK_CONFIG": file}))
		if err == nil || !strings.Contains(err.Error(), file+want) {
			t.Errorf("%q: error %v, want one containing %q", body, err, want)
		}
	}
}
