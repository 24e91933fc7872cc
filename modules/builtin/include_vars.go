package builtin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/tmpl"
	"github.com/omsbook/omsbook/yamlsrc"
)

// IncludeVars sets the variables of a YAML (or JSON) file on the controller as host facts, as
// Ansible's include_vars does.
type IncludeVars struct{}

func (IncludeVars) Name() string { return "include_vars" }

func (IncludeVars) Spec() modules.Spec {
	return modules.Spec{
		Summary: "Set the variables of a YAML or JSON file on the controller for the tasks that follow",
		Description: "Reads `file` (or every .yml, .yaml and .json file of `dir`, in name order) " +
			"on the controller: a relative path is looked for in the role's vars/, the role, " +
			"then the playbook's vars/ and the playbook's directory. Its variables become host " +
			"variables as set_fact's do (the later set wins; -e wins over both), templates in " +
			"their values rendered; with `name`, all of them under that one variable. When the " +
			"file is named without a template it is read before the run too, so that later " +
			"tasks may use its variables.",
		CheckMode: "The same as a real run: the file is only read.",
		FreeForm:  "file",
		Args: []modules.Arg{
			{Name: "file", Type: modules.String, Doc: "the file to read"},
			{Name: "dir", Type: modules.String, Doc: "read every .yml, .yaml and .json file of this directory instead"},
			{Name: "name", Type: modules.String, Doc: "set all the file's variables under this one variable"},
			{Name: "files_matching", Type: modules.String, Doc: "with dir: only the files whose names match this glob"},
		},
		Returns: []modules.Field{
			{Name: "ansible_facts", Type: "map", Doc: "the variables that were set"},
			{Name: "ansible_included_var_files", Type: "list", Doc: "the files read"},
		},
		Controller: true,
	}
}

// Validate wants one of file and dir.
func (IncludeVars) Validate(args modules.Args) error {
	if args.Has("file") == args.Has("dir") {
		return fmt.Errorf("give file or dir, not both or neither")
	}
	return nil
}

// DefinedVars names the variables of a file named without a template, so that the check
// before the run knows them.
func (m IncludeVars) DefinedVars(args map[string]any, where modules.DefineContext) []string {
	if name, ok := args["name"].(string); ok && name != "" {
		return []string{name}
	}
	file, _ := args["file"].(string)
	if file == "" || strings.Contains(file, "{{") {
		return nil
	}
	h := &modules.Host{Vars: map[string]any{"playbook_dir": where.PlaybookDir, "role_path": where.RolePath}}
	path, err := controllerPath(h, file, "vars")
	if err != nil {
		return nil
	}
	vars, err := readVarsFile(path)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	return names
}

func (m IncludeVars) Check(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	return m.Apply(ctx, h, args)
}

func (m IncludeVars) Apply(ctx context.Context, h *modules.Host, args modules.Args) (modules.Result, error) {
	if err := m.Validate(args); err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	files, err := includeVarsFiles(h, args)
	if err != nil {
		return modules.Fail(err.Error(), nil), nil
	}
	vars := map[string]any{}
	for _, f := range files {
		m, err := readVarsFile(f)
		if err != nil {
			return modules.Fail(err.Error(), nil), nil
		}
		if err := renderFileVars(h, m); err != nil {
			return modules.Fail(fmt.Sprintf("%s: %v", f, err), nil), nil
		}
		for k, v := range m {
			vars[k] = v
		}
	}
	facts := vars
	if name := args.String("name"); name != "" {
		facts = map[string]any{name: vars}
	}
	shown := make(map[string]any, len(facts))
	for k, v := range facts {
		shown[k] = v
	}
	included := make([]any, len(files))
	for i, f := range files {
		included[i] = f
	}
	return modules.Result{Facts: facts, Data: map[string]any{"ansible_facts": shown, "ansible_included_var_files": included}}, nil
}

// includeVarsFiles are the files to read: file, or dir's YAML and JSON files in name order.
func includeVarsFiles(h *modules.Host, args modules.Args) ([]string, error) {
	if f := args.String("file"); f != "" {
		p, err := controllerPath(h, f, "vars")
		if err != nil {
			return nil, err
		}
		return []string{p}, nil
	}
	dir, err := controllerPath(h, args.String("dir"), "vars")
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dir %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".yml" && ext != ".yaml" && ext != ".json") {
			continue
		}
		if glob := args.String("files_matching"); glob != "" {
			if ok, _ := filepath.Match(glob, name); !ok {
				continue
			}
		}
		out = append(out, filepath.Join(dir, name))
	}
	sort.Strings(out)
	return out, nil
}

// readVarsFile reads a file of variables: a YAML (or JSON) mapping.
func readVarsFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// Through yamlsrc, so that its bounds (size, aliases, nesting) hold here too.
	v, err := yamlsrc.DecodeValue(path, data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := yamlsrc.Plain(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping of variables", path)
	}
	return m, nil
}

// renderFileVars renders, in place, the templates among a file's variables against the
// host's variables and the file's own, as Ansible's lazy templating lets one variable of a
// file use another: each round renders what it can, until none is left or no round helps.
func renderFileVars(h *modules.Host, m map[string]any) error {
	pending := map[string]bool{}
	for k, v := range m {
		if tmpl.HasTemplate(v) {
			pending[k] = true
		}
	}
	for len(pending) > 0 {
		scope := make(map[string]any, len(h.Vars)+len(m))
		for k, v := range h.Vars {
			scope[k] = v
		}
		for k, v := range m {
			if !pending[k] {
				scope[k] = v
			}
		}
		progress := false
		var lastErr error
		keys := make([]string, 0, len(pending))
		for k := range pending {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out, err := tmpl.RenderDeep(m[k], scope)
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", k, err)
				continue
			}
			m[k], scope[k] = out, out
			delete(pending, k)
			progress = true
		}
		if !progress {
			return lastErr
		}
	}
	return nil
}
