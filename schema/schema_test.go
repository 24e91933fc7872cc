package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/inventory"
)

const repo = "../"

// compile compiles the schema of kind with a real validator.
func compile(t *testing.T, kind string) *jsonschema.Schema {
	t.Helper()
	b, err := JSON(kind)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "https://omsbook.invalid/schema/" + kind + ".json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile the %s schema: %v", kind, err)
	}
	return s
}

// instance reads a YAML file as the JSON value a language server validates.
func instance(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestGolden fails when a schema changes without its committed file in docs/schema.
func TestGolden(t *testing.T) {
	for _, kind := range Kinds {
		b, err := JSON(kind)
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, filepath.Join(repo, "docs", "schema", kind+".json"), b)
	}
}

// kindOf says which schema a shipped YAML file is written to, by where it lies; "" for files
// that are variables (group_vars, defaults, vars).
func kindOf(path string) string {
	p := filepath.ToSlash(path)
	switch {
	case strings.Contains(p, "/inventory/"), strings.Contains(p, "/defaults/"), strings.Contains(p, "/vars/"),
		strings.Contains(p, "/group_vars/"), strings.Contains(p, "/host_vars/"):
		return ""
	case strings.Contains(p, "/handlers/"):
		return "handlers"
	case strings.Contains(p, "/meta/"):
		return "role-meta"
	case strings.Contains(p, "/tasks/"), strings.Contains(p, "/components/"):
		return "tasks"
	}
	return "playbook"
}

// isPlaybook reports whether a list's first entry is a play or an import_playbook.
func isPlaybook(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return false
	}
	m, ok := l[0].(map[string]any)
	if !ok {
		return false
	}
	_, hosts := m["hosts"]
	_, imp := m["import_playbook"]
	return hosts || imp
}

// TestShippedFilesValidate: every shipped playbook, task file, role file and inventory passes
// its schema.
func TestShippedFilesValidate(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{}
	for _, k := range Kinds {
		schemas[k] = compile(t, k)
	}
	var files []string
	for _, root := range []string{"playbooks", "inventories"} {
		err := filepath.WalkDir(filepath.Join(repo, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, f := range files {
		kind := kindOf(f)
		if strings.Contains(filepath.ToSlash(f), "inventories/") {
			kind = "inventory"
		}
		if kind == "" {
			continue
		}
		inst := instance(t, f)
		if kind == "playbook" && !isPlaybook(inst) {
			kind = "tasks" // a task file beside the playbooks that include it
		}
		n++
		if err := schemas[kind].Validate(inst); err != nil {
			t.Errorf("%s does not pass the %s schema: %v", f, kind, err)
		}
	}
	if n < 20 {
		t.Fatalf("only %d files checked", n)
	}
}

// notCaught are the bad inputs of playbook/testdata/errors that the playbook schema accepts,
// each with the reason a schema cannot see it.
var notCaught = map[string]string{
	// Values whose rule is in the decoder's code, not in the keyword table: the table gives
	// each keyword a type, and these are rules about one keyword's value beyond its type.
	"bad-loop-var":         "loop_control's loop_var must be a variable name: loop_control is a map in the table",
	"bad-register":         "register must be a variable name: the table says string",
	"bad-run-once":         "run_once is true, false or region: the table says any",
	"bad-serial":           "serial's shapes (count, percentage, list) are not in the table: it says any",
	"bad-serial-percent":   "serial's percentage range: the table says any",
	"bad-serial-zero":      "serial's minimum: the table says any",
	"bad-strategy":         "strategy's choices are not in the table: it says string",
	"bad-throttle":         "throttle must not be negative: the table says int",
	"loop-mapping":         "loop's shape is not in the table (any); with_dict takes a mapping, loop does not",
	"loop-control-unknown": "loop_control's keys are not in the table: it says map",
	"include-template":     "import_tasks must not be a template: the table says any, and include_tasks may be one",
	// Files that the schema of one file cannot see.
	"include-cycle":        "the cycle is through other files",
	"include-error-inside": "the error is in the included file",
	"include-missing":      "the included file does not exist",
}

// TestBadInputsRejected: the bad playbooks validate rejects are rejected by the schema alone,
// but for those in notCaught.
func TestBadInputsRejected(t *testing.T) {
	s := compile(t, "playbook")
	files, err := filepath.Glob(filepath.Join(repo, "playbook", "testdata", "errors", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad inputs: %v", err)
	}
	var accepted []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		err := s.Validate(instance(t, f))
		_, expected := notCaught[name]
		switch {
		case err == nil && !expected:
			accepted = append(accepted, name)
		case err != nil && expected:
			t.Errorf("%s is rejected now: take it out of notCaught", name)
		}
	}
	sort.Strings(accepted)
	if len(accepted) > 0 {
		t.Errorf("the schema accepts these bad inputs: %s", strings.Join(accepted, " "))
	}
}

// TestInventorySettingsTyped: every connection setting of the inventory format has a type.
func TestInventorySettingsTyped(t *testing.T) {
	for _, k := range inventory.FormatKeys().Settings {
		if _, ok := settingTypes[k]; !ok {
			t.Errorf("inventory setting %s has no schema in settingTypes", k)
		}
	}
}
