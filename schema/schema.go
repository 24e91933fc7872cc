// Package schema writes JSON Schemas (draft 2020-12) for omsbook's files: playbooks, task
// files, handler files, roles' meta/main.yml and inventories. They are built from the same
// declarations validate checks against -- the keyword table (playbook.AllKeywords) and every
// module's argument Spec -- so that an editor's YAML language server knows what validate
// knows, and the two cannot drift apart.
//
// The schemas are honest rather than strict: wherever validate accepts a value that is
// rendered per host ("{{ .x }}"), they accept a string. What only the load-time check can see
// (a file that an include names, an undefined variable, a condition's syntax) is left to
// validate.
package schema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/playbook"
)

// Kinds are the files a schema is written for, in the order `omsbook schema` lists them.
var Kinds = []string{"playbook", "tasks", "handlers", "role-meta", "inventory"}

// kindDoc says what each kind describes.
var kindDoc = map[string]string{
	"playbook":  "an omsbook playbook: a list of plays and import_playbook entries",
	"tasks":     "an omsbook task file: a list of tasks and blocks (included, imported, or a role's tasks/main.yml)",
	"handlers":  "an omsbook handler file: a list of handlers (a role's handlers/main.yml)",
	"role-meta": "an omsbook role's meta/main.yml: its dependencies",
	"inventory": "an omsbook inventory: the omsbook format (regions, nodes, groups) or an Ansible YAML inventory",
}

// obj is one JSON Schema object.
type obj = map[string]any

// JSON returns the schema of kind, indented, with a final newline.
func JSON(kind string) ([]byte, error) {
	s, err := For(kind)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// For returns the schema of kind as a JSON value.
func For(kind string) (map[string]any, error) {
	doc, ok := kindDoc[kind]
	if !ok {
		return nil, fmt.Errorf("unknown schema %q: one of %s", kind, strings.Join(Kinds, ", "))
	}
	s := obj{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://omsbook.invalid/schema/" + kind + ".json",
		"title":       "omsbook " + kind,
		"description": doc,
	}
	defs := obj{}
	switch kind {
	case "playbook":
		addTaskDefs(defs)
		defs["play"] = play()
		defs["importPlaybook"] = obj{
			"type":                 "object",
			"required":             []string{"import_playbook"},
			"properties":           obj{"import_playbook": obj{"type": "string", "description": "another playbook, read at load time"}, "name": scalar()},
			"additionalProperties": false,
		}
		s["type"] = "array"
		s["minItems"] = 1
		s["items"] = obj{"anyOf": []any{ref("importPlaybook"), ref("play")}}
	case "tasks":
		addTaskDefs(defs)
		s["anyOf"] = []any{obj{"type": "null"}, ref("tasks")}
	case "handlers":
		addTaskDefs(defs)
		s["anyOf"] = []any{obj{"type": "null"}, ref("handlers")}
	case "role-meta":
		defs["roleEntry"] = roleEntry()
		s["anyOf"] = []any{obj{"type": "null"}, obj{
			"type": "object",
			"properties": obj{
				"dependencies":     obj{"type": "array", "items": ref("roleEntry"), "description": "roles run before this one"},
				"allow_duplicates": boolKeyword(),
				"galaxy_info":      obj{"type": "object", "description": "Ansible Galaxy's metadata: read and ignored"},
			},
			"additionalProperties": false,
		}}
	case "inventory":
		addInventoryDefs(defs)
		s["anyOf"] = []any{ref("omsbookInventory"), ref("ansibleInventory")}
	}
	s["$defs"] = defs
	return s, nil
}

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

// template is a string that holds a template: rendered per host, it may become any value.
func template() obj {
	return obj{"type": "string", "pattern": `\{\{`, "description": "a template, rendered per host"}
}

// scalar is what a keyword read as text accepts: YAML reads 8080 or true as scalars too.
func scalar() obj { return obj{"type": []string{"string", "number", "boolean"}} }

// boolWords are the spellings of true and false a static keyword accepts, in any case.
var boolWords = []string{"true", "false", "yes", "no", "on", "off"}

// caseless turns a word into a regular expression that matches it in any case (JSON Schema's
// regular expressions have no flags).
func caseless(w string) string {
	var b strings.Builder
	for _, r := range w {
		fmt.Fprintf(&b, "[%c%c]", r, r-'a'+'A')
	}
	return b.String()
}

func boolKeyword() obj {
	alts := make([]string, len(boolWords))
	for i, w := range boolWords {
		alts[i] = caseless(w)
	}
	return obj{"anyOf": []any{obj{"type": "boolean"}, obj{"type": "string", "pattern": "^(" + strings.Join(alts, "|") + ")$"}}}
}

// durationPattern matches what yamlsrc.Duration reads from a string: seconds, or a Go duration.
const durationPattern = `^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+|([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+)\s*$`

// wholeNumber is an integer, or a string that reads as one.
func wholeNumber() obj {
	return obj{"anyOf": []any{obj{"type": "integer"}, obj{"type": "string", "pattern": `^\s*[-+]?[0-9]+\s*$`}}}
}

// duration is a number of seconds, or a string that reads as a duration.
func duration() obj {
	return obj{"anyOf": []any{obj{"type": "number"}, obj{"type": "string", "pattern": durationPattern}}}
}

// keywordValue is the schema of a keyword's value, from its declared type and evaluation.
func keywordValue(k playbook.Keyword) obj {
	var s obj
	switch k.Type {
	case playbook.TypeString:
		s = scalar()
	case playbook.TypeBool:
		s = boolKeyword()
	case playbook.TypeInt:
		s = wholeNumber()
	case playbook.TypeDuration:
		s = duration()
	case playbook.TypeCondition:
		// An expression, never a template: validate rejects {{ }} in a condition.
		one := obj{"anyOf": []any{obj{"type": "boolean"}, obj{"type": "string", "not": obj{"pattern": `\{\{`}}}}
		s = obj{"anyOf": []any{one, obj{"type": "array", "items": one}}}
	case playbook.TypeList:
		s = obj{"anyOf": []any{obj{"type": "array"}, scalar()}}
	case playbook.TypeMap:
		s = obj{"type": "object"}
	case playbook.TypeTasks:
		s = ref("tasks")
	default:
		s = obj{}
	}
	switch k.Eval {
	case playbook.Template, playbook.HostName, playbook.Items:
		if k.Type == playbook.TypeMap || k.Type == playbook.TypeAny {
			break
		}
		s = obj{"anyOf": []any{s, template()}}
	}
	s["description"] = k.Doc
	return s
}

// keywordProps are the schemas of the keywords allowed in scope.
func keywordProps(scope playbook.Scope, tasks string) obj {
	props := obj{}
	for _, k := range playbook.AllKeywords() {
		if k.Scope&scope == 0 {
			continue
		}
		v := keywordValue(k)
		if k.Type == playbook.TypeTasks && tasks != "" {
			v["$ref"] = "#/$defs/" + tasks
		}
		props[k.Name] = v
	}
	return props
}

func play() obj {
	props := keywordProps(playbook.InPlay, "")
	props["handlers"] = obj{"$ref": "#/$defs/handlers", "description": props["handlers"].(obj)["description"]}
	props["roles"] = obj{"type": "array", "items": ref("roleEntry"), "description": props["roles"].(obj)["description"]}
	return obj{
		"type":                 "object",
		"required":             []string{"hosts"},
		"properties":           props,
		"additionalProperties": false,
	}
}

// roleEntry is a role named in roles: or dependencies: a name, or role: (or name:) with
// keywords and the role's parameters (any other key).
func roleEntry() obj {
	props := keywordProps(playbook.InRoleEntry, "")
	props["role"] = obj{"type": "string", "description": "the role's name or path"}
	props["name"] = obj{"type": "string", "description": "the role's name or path"}
	return obj{"anyOf": []any{
		obj{"type": "string"},
		obj{
			"type":       "object",
			"properties": props,
			"anyOf":      []any{obj{"required": []string{"role"}}, obj{"required": []string{"name"}}},
		},
	}}
}

// moduleKeys are the keys that name module m: its name, and Ansible's collection spellings.
func moduleKeys(m string) []string {
	return []string{m, "ansible.builtin." + m, "ansible.legacy." + m}
}

// addTaskDefs adds tasks, handlers, the task and handler entries and every module's arguments.
func addTaskDefs(defs obj) {
	defs["tasks"] = obj{"type": "array", "items": ref("task")}
	defs["handlers"] = obj{"type": "array", "items": ref("handler")}
	defs["roleEntry"] = roleEntry()
	mods := registry.All()
	for _, m := range mods {
		defs["module."+m.Name()] = moduleArgs(m.Name(), m.Spec())
	}
	defs["task"] = taskEntry(playbook.InTask|playbook.InBlock, mods, true)
	defs["handler"] = taskEntry(playbook.InTask|playbook.InHandler, mods, false)
}

// taskEntry is a task (keywords and exactly one module key), an include or import, or, when
// blocks is true, a block. The oneOf says that exactly one of the keys that make a task what it
// is is there.
func taskEntry(scope playbook.Scope, mods []modules.Module, blocks bool) obj {
	props := keywordProps(scope, "tasks")
	if !blocks {
		delete(props, "block")
		delete(props, "rescue")
		delete(props, "always")
	}
	var one []any
	kinds := []string{"include_tasks", "import_tasks", "import_role", "include_role", "action", "local_action"}
	if blocks {
		kinds = append([]string{"block"}, kinds...)
	}
	for _, k := range kinds {
		if _, ok := props[k]; !ok {
			continue
		}
		branch := obj{"required": []string{k}}
		if k != "action" && k != "local_action" {
			// A block or an include runs no module: the keywords that only make sense on a
			// module (register, until, ...) are not allowed on it; include_tasks runs its file
			// once per item, so its loop is.
			var not []any
			for _, kw := range playbook.AllKeywords() {
				if kw.ModuleOnly && !(k == "include_tasks" && (kw.Eval == playbook.Items || kw.Name == "loop_control")) {
					not = append(not, obj{"required": []string{kw.Name}})
				}
			}
			branch["not"] = obj{"anyOf": not}
		}
		one = append(one, branch)
	}
	for _, m := range mods {
		args := ref("module." + m.Name())
		for _, key := range moduleKeys(m.Name()) {
			props[key] = args
			one = append(one, obj{"required": []string{key}})
		}
	}
	all := requiredWithoutArgs(mods)
	if !blocks {
		// A handler is notified by its name or a listen topic.
		all = append(all, obj{"anyOf": []any{obj{"required": []string{"name"}}, obj{"required": []string{"listen"}}}})
	}
	return obj{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
		"oneOf":                one,
		"allOf":                all,
	}
}

// requiredWithoutArgs says that a module's required arguments are written with the module
// when the task has no args: (with args:, validate checks them after the two are merged).
func requiredWithoutArgs(mods []modules.Module) []any {
	var out []any
	for _, m := range mods {
		req := requiredArgs(m.Spec())
		if len(req) == 0 {
			continue
		}
		for _, key := range moduleKeys(m.Name()) {
			out = append(out, obj{
				"if": obj{"required": []string{key}, "not": obj{"required": []string{"args"}}},
				"then": obj{"properties": obj{key: obj{"anyOf": []any{
					obj{"type": "string"},
					obj{"type": "object", "required": req},
				}}}},
			})
		}
	}
	return out
}

func requiredArgs(s modules.Spec) []string {
	var req []string
	for _, a := range s.Args {
		if a.Required {
			req = append(req, a.Name)
		}
	}
	return req
}

// moduleArgs is the schema of a module's value: its arguments as a mapping, or one string
// (name=value pairs, or the free-form argument), or nothing.
func moduleArgs(name string, s modules.Spec) obj {
	props := obj{}
	for _, a := range s.Args {
		props[a.Name] = argValue(a)
	}
	m := obj{"type": "object", "properties": props}
	if !s.AnyArgs {
		m["additionalProperties"] = false
	}
	str := obj{"type": "string", "pattern": `^\s*$|^\s*[A-Za-z_][A-Za-z0-9_.-]*=`, "description": "name=value pairs"}
	if s.FreeForm != "" {
		str = obj{"type": []string{"string", "number", "boolean"}, "description": fmt.Sprintf("%s, and name=value pairs", s.FreeForm)}
	}
	return obj{
		"description": name + ": " + s.Summary,
		"anyOf":       []any{obj{"type": "null"}, m, str},
	}
}

// argValue is the schema of one argument, from its declared type: what Type.Coerce accepts,
// and a template, which is checked once rendered.
func argValue(a modules.Arg) obj {
	var s obj
	switch a.Type {
	case modules.String:
		s = scalar()
	case modules.Int:
		s = wholeNumber()
	case modules.Bool:
		s = obj{"anyOf": []any{obj{"type": "boolean"}, obj{"type": "integer", "enum": []int{0, 1}}, obj{"type": "string", "pattern": `^\s*(` + strings.Join(caselessAll("true", "false", "yes", "no", "on", "off", "1", "0"), "|") + `)\s*$`}}}
	case modules.Duration:
		s = duration()
	case modules.List:
		s = obj{"type": "array"}
	case modules.StringList:
		s = obj{"anyOf": []any{obj{"type": "array", "items": scalar()}, obj{"type": "string"}}}
	case modules.Map:
		s = obj{"type": "object"}
	default:
		s = obj{}
	}
	if len(a.Choices) > 0 {
		s = obj{"enum": append([]string(nil), a.Choices...)}
	}
	if a.Type != modules.Any && a.Type != "" {
		s = obj{"anyOf": []any{s, template()}}
	}
	doc := a.Doc
	if a.Secret {
		doc += " (secret: masked everywhere)"
	}
	s["description"] = doc
	if a.Default != nil {
		if _, err := json.Marshal(a.Default); err == nil {
			s["default"] = a.Default
		}
	}
	return s
}

func caselessAll(ws ...string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		if w[0] >= 'a' && w[0] <= 'z' {
			out[i] = caseless(w)
		} else {
			out[i] = w
		}
	}
	return out
}

// settingTypes are the schemas of the inventory's connection settings, by name. Every key of
// inventory.FormatKeys().Settings must be here (the tests check it).
var settingTypes = map[string]obj{
	"user":            scalar(),
	"port":            obj{"anyOf": []any{obj{"type": "integer", "minimum": 1, "maximum": 65535}, obj{"type": "string", "pattern": `^\s*[0-9]+\s*$`}}},
	"connection":      obj{"enum": []string{"ssh", "local"}},
	"known_hosts":     scalar(),
	"ssh_key":         scalar(),
	"ssh_password":    scalar(),
	"jump":            obj{"type": "string", "pattern": `^[^\s]+$`, "description": "a bastion, user@host:port"},
	"become":          boolKeyword(),
	"become_user":     scalar(),
	"become_password": scalar(),
}

// inventoryProps are the properties of an inventory level with these keys.
func inventoryProps(keys []string) obj {
	props := obj{}
	for _, k := range keys {
		if t, ok := settingTypes[k]; ok {
			props[k] = t
		}
	}
	if has(keys, "vars") {
		props["vars"] = obj{"anyOf": []any{obj{"type": "null"}, obj{"type": "object"}}, "description": "variables"}
	}
	if has(keys, "secrets") {
		props["secrets"] = obj{"anyOf": []any{obj{"type": "array", "items": obj{"type": "string"}}, obj{"type": "string"}}, "description": "variables whose values are masked everywhere"}
	}
	if has(keys, "address") {
		props["address"] = obj{"type": "string", "description": "the address to connect to (default: the node's name)"}
	}
	return props
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func addInventoryDefs(defs obj) {
	keys := inventory.FormatKeys()
	node := inventoryProps(keys.Node)
	defs["node"] = obj{"anyOf": []any{obj{"type": "null"}, obj{"type": "object", "properties": node, "additionalProperties": false}}}
	region := inventoryProps(keys.Region)
	region["nodes"] = obj{"type": "object", "additionalProperties": ref("node"), "description": "the region's nodes, by name"}
	defs["region"] = obj{"type": "object", "properties": region, "additionalProperties": false}
	members := obj{"anyOf": []any{obj{"type": "array", "items": obj{"type": "string"}}, obj{"type": "string"}}}
	group := inventoryProps(keys.GroupEntry)
	group["hosts"] = members
	defs["group"] = obj{"anyOf": []any{members, obj{"type": "object", "properties": group, "additionalProperties": false}}}
	top := inventoryProps(keys.Top)
	top["regions"] = obj{"type": "object", "additionalProperties": ref("region"), "description": "the regions, by name, each with its nodes"}
	top["groups"] = obj{"type": "object", "additionalProperties": ref("group"), "description": "more groups of nodes, by name"}
	defs["omsbookInventory"] = obj{"type": "object", "properties": top, "additionalProperties": false}

	// Ansible's YAML inventory: groups (usually all:) with hosts:, children: and vars:.
	defs["ansibleGroup"] = obj{"anyOf": []any{obj{"type": "null"}, obj{
		"type": "object",
		"properties": obj{
			"hosts":    obj{"anyOf": []any{obj{"type": "null"}, obj{"type": "string"}, obj{"type": "object", "additionalProperties": obj{"type": []string{"object", "null"}}}}},
			"children": obj{"anyOf": []any{obj{"type": "null"}, obj{"type": "string"}, obj{"type": "object", "additionalProperties": ref("ansibleGroup")}}},
			"vars":     obj{"type": []string{"object", "null"}},
		},
		"additionalProperties": false,
	}}}
	defs["ansibleInventory"] = obj{"type": "object", "additionalProperties": ref("ansibleGroup"), "minProperties": 1}
}
