// Package config reads omsbook's defaults, as ansible.cfg is Ansible's: a YAML file of
// settings, each of which an OMSBOOK_* environment variable overrides and a flag overrides in
// turn. The file is $OMSBOOK_CONFIG when it is set, else omsbook.yml in the working directory,
// else omsbook/config.yml in the user's config directory; none is needed.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/yamlsrc"
)

// Setting declares one setting: its name in the file, its variable and its default.
type Setting struct {
	Name    string
	Env     string
	Default string
	// List settings take a list in the file and a path list (a:b) in the variable.
	List bool
	// Int settings are whole numbers of at least 1.
	Int bool
	// Path settings name files or directories: in the config file, relative to its directory.
	Path bool
	// Choices, when set, are the only values allowed.
	Choices []string
	Doc     string
}

// Settings are every setting, in the order `omsbook config` shows them.
var Settings = []Setting{
	{Name: "forks", Env: "OMSBOOK_FORKS", Default: "10", Int: true, Doc: "hosts worked on at once (--forks)"},
	{Name: "inventory", Env: "OMSBOOK_INVENTORY", List: true, Path: true, Doc: "inventories used when no -i is given"},
	{Name: "roles_path", Env: "OMSBOOK_ROLES_PATH", List: true, Path: true, Doc: "directories searched for roles, after the playbook's roles/"},
	{Name: "ssh_config", Env: "OMSBOOK_SSH_CONFIG", Path: true, Doc: "ssh client config file (--ssh-config; none for no file)"},
	{Name: "gathering", Env: "OMSBOOK_GATHERING", Default: "implicit", Choices: []string{"implicit", "explicit", "smart"}, Doc: "fact gathering policy"},
	{Name: "journal_dir", Env: "OMSBOOK_JOURNAL_DIR", Path: true, Doc: "where run journals are written (--journal-dir)"},
	{Name: "color", Env: "OMSBOOK_COLOR", Default: "auto", Choices: []string{"auto", "always", "never"}, Doc: "colour in text output (--color)"},
	{Name: "executor", Env: "OMSBOOK_EXECUTOR", Default: "off", Choices: []string{"on", "off"}, Doc: "run ssh hosts' commands through a persistent executor (host variable omsbook_executor overrides)"},
}

// Source says where a value came from.
type Source string

// The sources, strongest first.
const (
	FromFlag    Source = "flag"
	FromEnv     Source = "env"
	FromFile    Source = "file"
	FromDefault Source = "default"
)

// Value is one setting's effective value.
type Value struct {
	Setting
	Value []string // one element, or several for a List setting; empty when unset
	Src   Source
	// Where names the variable or the file:line:column it came from.
	Where string
}

// String is the value as `omsbook config` shows it.
func (v Value) String() string { return strings.Join(v.Value, string(filepath.ListSeparator)) }

// Config is every setting's effective value, and the file read (empty when none).
type Config struct {
	File   string
	Values map[string]*Value
}

// Get returns a setting's value ("" when unset; a List's elements joined by the list separator).
func (c *Config) Get(name string) string { return c.Values[name].String() }

// List returns a List setting's elements.
func (c *Config) List(name string) []string { return c.Values[name].Value }

// Forks returns the forks setting.
func (c *Config) Forks() int { n, _ := strconv.Atoi(c.Get("forks")); return n }

// Override records a flag's value, which wins over everything else.
func (c *Config) Override(name string, value []string, flag string) {
	v := c.Values[name]
	v.Value, v.Src, v.Where = value, FromFlag, flag
}

// Env is how the environment is read (os.LookupEnv, or a map in tests).
type Env func(string) (string, bool)

// Load finds and reads the config file and the environment.
func Load(getenv Env) (*Config, error) {
	file, err := find(getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{File: file, Values: map[string]*Value{}}
	for _, s := range Settings {
		v := &Value{Setting: s, Src: FromDefault, Where: "built-in"}
		if s.Default != "" {
			v.Value = []string{s.Default}
		}
		c.Values[s.Name] = v
	}
	if file != "" {
		if err := c.readFile(file); err != nil {
			return nil, err
		}
	}
	for _, s := range Settings {
		raw, ok := getenv(s.Env)
		if !ok || raw == "" {
			continue
		}
		val := []string{raw}
		if s.List {
			val = filepath.SplitList(raw)
		}
		if err := check(s, val); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Env, err)
		}
		v := c.Values[s.Name]
		v.Value, v.Src, v.Where = val, FromEnv, s.Env
	}
	return c, nil
}

// find returns the config file to read, "" for none.
func find(getenv Env) (string, error) {
	if p, ok := getenv("OMSBOOK_CONFIG"); ok && p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("OMSBOOK_CONFIG names %s, which cannot be read: %w", p, err)
		}
		return p, nil
	}
	candidates := []string{"omsbook.yml"}
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "omsbook", "config.yml"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config file %s: %w", p, err)
		}
	}
	return "", nil
}

func (c *Config) readFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	root, err := yamlsrc.ParseYAML(file, data)
	if err != nil {
		return err
	}
	if root == nil || yamlsrc.Resolve(root) == nil || yamlsrc.KindName(root) == "nothing" {
		return nil
	}
	kvs, err := yamlsrc.Mapping(file, root, "the config file")
	if err != nil {
		return err
	}
	names := make([]string, len(Settings))
	for i, s := range Settings {
		names[i] = s.Name
	}
	for _, kv := range kvs {
		v, ok := c.Values[kv.Key]
		if !ok {
			fix := "the settings are: " + strings.Join(names, ", ")
			if s := yamlsrc.Suggest(kv.Key, names); len(s) > 0 {
				fix = fmt.Sprintf("did you mean %q? %s", s[0], fix)
			}
			return &yamlsrc.Error{Pos: kv.KeyPos, Msg: fmt.Sprintf("unknown setting %q in the config file", kv.Key), Fix: fix}
		}
		var val []string
		if v.List {
			val, err = yamlsrc.Strings(file, kv.Value, kv.Key)
		} else {
			var s string
			s, err = yamlsrc.Scalar(file, kv.Value, kv.Key)
			val = []string{s}
		}
		if err == nil {
			err = check(v.Setting, val)
			if err != nil {
				err = &yamlsrc.Error{Pos: kv.ValuePos, Msg: err.Error()}
			}
		}
		if err != nil {
			return err
		}
		if v.Path {
			for i, p := range val {
				val[i] = relativeTo(filepath.Dir(file), p)
			}
		}
		v.Value, v.Src, v.Where = val, FromFile, kv.ValuePos.String()
	}
	return nil
}

// check checks a value against its setting's type and choices.
func check(s Setting, val []string) error {
	if s.List || len(val) != 1 {
		return nil
	}
	if s.Int {
		if n, err := strconv.Atoi(strings.TrimSpace(val[0])); err != nil || n < 1 {
			return fmt.Errorf("%s is %q; it must be a whole number of at least 1", s.Name, val[0])
		}
	}
	if len(s.Choices) > 0 {
		for _, ch := range s.Choices {
			if val[0] == ch {
				return nil
			}
		}
		return fmt.Errorf("%s is %q; it must be one of: %s", s.Name, val[0], strings.Join(s.Choices, ", "))
	}
	return nil
}

// relativeTo makes a relative path in the config file relative to the file's directory; ~,
// absolute paths and none (ssh_config's word for no file) are left as they are.
func relativeTo(dir, p string) string {
	if p == "" || p == "none" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}
