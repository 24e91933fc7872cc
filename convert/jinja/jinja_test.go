package jinja

import (
	"strings"
	"testing"

	"github.com/omsbook/omsbook/tmpl"
)

// sampleVars are the variables every case renders with.
func sampleVars() map[string]any {
	return map[string]any{
		"name":    "Web",
		"port":    8080,
		"sport":   "08",
		"enabled": true,
		"off":     false,
		"empty":   "",
		"zero":    0,
		"nothing": nil,
		"pi":      2.5,
		"servers": []any{"b", "a", "c", "a"},
		"nums":    []any{10, 9, 100},
		"nested":  []any{[]any{1, 2}, []any{3, []any{4}}},
		"app":     map[string]any{"name": "shop", "port": 81, "tags": []any{"x", "y"}, "dash-key": "dk"},
		"extra":   map[string]any{"port": 82, "debug": true},
		"users":   []any{map[string]any{"name": "ann", "admin": true, "shell": "/bin/bash"}, map[string]any{"name": "bob", "admin": false, "shell": "/bin/sh"}},
		"grp":     map[string]any{"web": []any{"w1", "w2"}, "all": []any{"w1", "w2", "db1"}},
		"hv":      map[string]any{"w1": map[string]any{"ip": "10.0.0.1"}, "w2": map[string]any{"ip": "10.0.0.2"}},
		"host":    "w1",
		"path":    "/etc/app/app.conf",
		"json":    `{"a": [1, 2], "b": "c"}`,
		"b64":     "aGVsbG8=",
		"words":   "it's a test",
		"kv":      []any{map[string]any{"key": "a", "value": 1}, map[string]any{"key": "b", "value": 2}},
		"item":    map[string]any{"key": "k1", "value": map[string]any{"size": 3}},
		"result":  map[string]any{"rc": 0, "changed": true, "failed": false, "stdout": "ok here"},
	}
}

type exprCase struct {
	jinja  string
	gotmpl string // "" when only the rendering is checked
	want   string // rendered, as Ansible renders it
}

var exprCases = []exprCase{
	{"{{ name }}", "{{ str .name }}", "Web"},
	{"{{ port }}", "{{ str .port }}", "8080"},
	{"{{ enabled }}", "{{ str .enabled }}", "True"},
	{"{{ nothing }}", "", ""},
	{"{{ [nothing] }}", "", "[None]"},
	{"{{ app.name }}", "{{ str .app.name }}", "shop"},
	{"{{ app['name'] }}", "{{ str .app.name }}", "shop"},
	{"{{ app['dash-key'] }}", `{{ str (at .app "dash-key") }}`, "dk"},
	{"{{ servers[0] }}", "{{ str (at .servers 0) }}", "b"},
	{"{{ servers[-1] }}", "", "a"},
	{"{{ hv[host].ip }}", "{{ str (at .hv .host).ip }}", "10.0.0.1"},
	{"{{ grp['web'] | join(',') }}", `{{ join "," .grp.web }}`, "w1,w2"},
	{"{{ servers | join }}", "", "bac" + "a"},
	{"{{ missing | default('none') }}", `{{ str (dig "missing" "none" .) }}`, "none"},
	{"{{ missing | d(5) }}", "", "5"},
	{"{{ empty | default('x') }}", "", ""},
	{"{{ zero | default(7) }}", "", "0"},
	{"{{ empty | default('x', true) }}", "", "x"},
	{"{{ app.missing | default('dflt') }}", "", "dflt"},
	{"{{ app.port | default(80) }}", "", "81"},
	{"{{ name | lower }}", "{{ lower (str .name) }}", "web"},
	{"{{ name | upper }}", "", "WEB"},
	{"{{ port | lower }}", "", "8080"},
	{"{{ sport | int }}", "{{ to_int .sport }}", "8"},
	{"{{ sport | int + 1 }}", "{{ add (to_int .sport) 1 }}", "9"},
	{"{{ port | string }}", "", "8080"},
	{"{{ '2.5' | float }}", "", "2.5"},
	{"{{ 'yes' | bool }}", "", "True"},
	{"{{ servers | length }}", "{{ length .servers }}", "4"},
	{"{{ 'héllo' | length }}", "", "5"},
	{"{{ app.tags | to_json }}", "", `["x", "y"]`},
	{"{{ extra | to_json }}", "", `{"debug": true, "port": 82}`},
	{"{{ extra | to_nice_json }}", "", "{\n    \"debug\": true,\n    \"port\": 82\n}"},
	{"{{ (json | from_json).b }}", "", "c"},
	{"{{ extra | to_yaml }}", "{{ to_yaml .extra }}", "{debug: true, port: 82}\n"},
	{"{{ app | to_yaml }}", "", "dash-key: dk\nname: shop\nport: 81\ntags: [x, y]\n"},
	{"{{ users | to_yaml }}", "", "- {admin: true, name: ann, shell: /bin/bash}\n- {admin: false, name: bob, shell: /bin/sh}\n"},
	{"{{ nested | to_yaml }}", "", "- [1, 2]\n- - 3\n  - [4]\n"},
	{"{{ name | to_yaml }}", "", "Web\n"},
	{"{{ 'yes' | to_yaml }}", "", "'yes'\n"},
	{"{{ {'a': {'b': [1, {'c': 'x: y', 'd': [[]]}], 'e': {}}, 'l': ['a,b', '-1', '0o7', '?x', \"it's\"]} | to_yaml }}", "", "a:\n  b:\n  - 1\n  - c: 'x: y'\n    d:\n    - []\n  e: {}\nl: ['a,b', '-1', 0o7, '?x', it's]\n"},
	{"{{ path | regex_replace('\\.conf$', '.bak') }}", "", "/etc/app/app.bak"},
	{"{{ 'abc-123' | regex_replace('([a-z]+)-(\\d+)', '\\\\2-\\\\1') }}", "", "123-abc"},
	{"{{ 'tab\\there' }}", "", "tab\there"},
	{"{{ 'v1.2.3' | regex_search('[0-9]+') }}", "", "1"},
	{"{{ path | replace('/', ':') }}", "", ":etc:app:app.conf"},
	{"{{ '  pad  ' | trim }}", "", "pad"},
	{"{{ servers | first }}", "", "b"},
	{"{{ servers | last }}", "", "a"},
	{"{{ servers | unique | join(' ') }}", "", "b a c"},
	{"{{ servers | sort | join(' ') }}", "", "a a b c"},
	{"{{ nums | sort | join(' ') }}", "", "9 10 100"},
	{"{{ 'hello' | b64encode }}", "", "aGVsbG8="},
	{"{{ b64 | b64decode }}", "", "hello"},
	{"{{ path | basename }}", "", "app.conf"},
	{"{{ path | dirname }}", "", "/etc/app"},
	{"{{ words | quote }}", "", `'it'"'"'s a test'`},
	{"{{ name | quote }}", "", "Web"},
	{"{{ enabled | ternary('on', 'off') }}", "", "on"},
	{"{{ off | ternary('on', 'off') }}", "", "off"},
	{"{{ (app | combine(extra)).port }}", "", "82"},
	{"{{ (app | combine(extra, {'port': 90})).port }}", "", "90"},
	{"{{ extra | dict2items | map(attribute='key') | join(',') }}", "", "debug,port"},
	{"{{ (kv | items2dict).b }}", "", "2"},
	{"{{ users | map(attribute='name') | join(',') }}", "", "ann,bob"},
	{"{{ users | selectattr('admin') | map(attribute='name') | join(',') }}", "", "ann"},
	{"{{ users | rejectattr('admin') | map(attribute='name') | join(',') }}", "", "bob"},
	{"{{ users | selectattr('shell', 'equalto', '/bin/sh') | map(attribute='name') | first }}", "", "bob"},
	{"{{ nested | flatten | length }}", "", "4"},
	{"{{ nested | flatten(levels=1) | last }}", "", "[4]"},
	{"{{ name ~ '-' ~ port }}", `{{ print (print (str .name) "-") (str .port) }}`, "Web-8080"},
	{"{{ 'a' if enabled else 'b' }}", "", "a"},
	{"{{ 'x' in name }}", "", "False"},
	{"{{ 'W' in name and port > 80 }}", "", "True"},
	{"{{ 'w1' in grp['web'] }}", "", "True"},
	{"{{ 'db1' not in grp.web }}", "", "True"},
	{"{{ missing is defined }}", `{{ str (defined . "missing") }}`, "False"},
	{"{{ app.port is defined }}", "", "True"},
	{"{{ missing is not defined }}", "", "True"},
	{"{{ result is changed }}", "", "True"},
	{"{{ result is failed }}", "", "False"},
	{"{{ result is succeeded }}", "", "True"},
	{"{{ result.stdout is search('here') }}", "", "True"},
	{"{{ result.stdout is match('here') }}", "", "False"},
	{"{{ item.key }}={{ item.value.size }}", "", "k1=3"},
	{"{{ lookup('env', 'OMSBOOK_CONVERT_TEST') }}", "", "from-env"},
	{"{{ [1, 2] | length }}", "", "2"},
	{"{{ {'a': 1}.a }}", "", "1"},
	{"{{ servers | length > 0 }}", "", "True"},
	{"{{ not enabled }}", "", "False"},
	{"{{ 'a,b,,c'.split(',') | length }}", `{{ length (splitList "," "a,b,,c") }}`, "4"},
	{"{{ path.startswith('/etc') }} {{ path.endswith('.conf') }} {{ name.lower() }} {{ ' x '.strip() }}", "", "True True web x"},
	{"{{ path.replace('app', 'web') }}", "", "/etc/web/web.conf"},
	{"{{ extra.get('port') }} {{ extra.get('nope', 'd') }} {{ extra.get('nope') }}", "", "82 d "},
	{"{{ port == 8080 or off }}", "", "True"},
}

func TestExpressions(t *testing.T) {
	t.Setenv("OMSBOOK_CONVERT_TEST", "from-env")
	vars := sampleVars()
	for _, c := range exprCases {
		r := Template(c.jinja, Options{})
		if len(r.Problems) > 0 {
			t.Errorf("%s: untranslated: %v", c.jinja, r.Problems)
			continue
		}
		if c.gotmpl != "" && r.Text != c.gotmpl {
			t.Errorf("%s: translated to %s, want %s", c.jinja, r.Text, c.gotmpl)
		}
		got, err := tmpl.RenderString(r.Text, vars)
		if err != nil {
			t.Errorf("%s -> %s: %v", c.jinja, r.Text, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s -> %s: rendered %q, want %q", c.jinja, r.Text, got, c.want)
		}
	}
}

var templateCases = []struct {
	name, jinja, want string
}{
	{"if elif else", "{% if port > 9000 %}high{% elif port > 8000 %}mid{% else %}low{% endif %}\n", "mid\n"},
	{"trim_blocks", "a\n{% if enabled %}\nyes\n{% endif %}\nb\n", "a\nyes\nb\n"},
	{"whitespace control", "a  {%- if enabled -%}  yes  {%- endif %}\nb", "ayesb"},
	{"for with loop", "{% for s in servers %}{{ loop.index }}:{{ s }}{% if not loop.last %},{% endif %}{% endfor %}", "1:b,2:a,3:c,4:a"},
	{"for over a map's keys", "{% for k in extra %}{{ k }} {% endfor %}", "debug port "},
	{"for items", "{% for k, v in extra.items() %}{{ k }}={{ v }};{% endfor %}", "debug=True;port=82;"},
	{"for users", "{% for u in users %}\n{{ u.name }} {{ u.shell }}\n{% endfor %}\n", "ann /bin/bash\nbob /bin/sh\n"},
	{"for else", "{% for x in [] %}{{ x }}{% else %}none{% endfor %}", "none"},
	{"nested loops", "{% for g in ['web'] %}{% for h in grp[g] %}{{ loop.index0 }}{{ h }}{{ hv[h].ip }} {% endfor %}{% endfor %}", "0w110.0.0.1 1w210.0.0.2 "},
	{"set", "{% set n = servers | length %}{{ n }} {{ n * 2 }}", "4 8"},
	{"set in loop", "{% set x = 'out' %}{% for s in ['a'] %}{% set x = s %}{{ x }}{% endfor %}{{ x }}", "aout"},
	{"set in if", "{% set x = 'out' %}{% if enabled %}{% set x = 'in' %}{% endif %}{{ x }}", "in"},
	{"comment", "a{# no #}\nb", "ab"},
	{"raw", "{% raw %}{{ not jinja }}{% endraw %}", "{{ not jinja }}"},
	{"variables in a loop", "{% for s in servers[:1] if false %}{% endfor %}", ""},
}

func TestTemplates(t *testing.T) {
	vars := sampleVars()
	for _, c := range templateCases {
		r := Template(c.jinja, Options{})
		if c.name == "variables in a loop" {
			if len(r.Problems) == 0 {
				t.Errorf("%s: slices and for-if want to be reported untranslated", c.name)
			}
			continue
		}
		if len(r.Problems) > 0 {
			t.Errorf("%s: untranslated: %v", c.name, r.Problems)
			continue
		}
		got, err := tmpl.RenderString(r.Text, vars)
		if err != nil {
			t.Errorf("%s: %s: %v", c.name, r.Text, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %s rendered %q, want %q", c.name, r.Text, got, c.want)
		}
	}
}

func TestWholeValueKeepsType(t *testing.T) {
	r := Template("{{ servers | unique }}", Options{Whole: true})
	got, err := tmpl.Render(r.Text, sampleVars())
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := got.([]any); !ok || len(l) != 3 {
		t.Fatalf("%s gave %#v, want the list of 3", r.Text, got)
	}
}

// Untranslated constructs are reported at their line and leave a template that does not
// parse, so that validate stops there.
func TestUntranslated(t *testing.T) {
	cases := []string{
		"{% macro m() %}x{% endmacro %}",
		"{{ x | my_filter }}",
		"{{ a + b }}",
		"{{ x.split() }}",
		"{{ x.keys() }}",
		"{{ 1.5 }}",
		"{% include 'other.j2' %}",
		"{{ x | regex_replace('(?=a)', 'b') }}",
		"{{ omit }}",
		"line1\n{% if x is version('1', '>') %}y{% endif %}",
	}
	for _, c := range cases {
		r := Template(c, Options{})
		if len(r.Problems) == 0 {
			t.Errorf("%s: translated to %s, want it reported", c, r.Text)
			continue
		}
		if !strings.Contains(r.Text, Marker) {
			t.Errorf("%s: %s has no marker", c, r.Text)
		}
		_, err := tmpl.RenderString(r.Text, map[string]any{"x": "a", "a": 1, "b": 2})
		if err == nil || !strings.Contains(err.Error(), Marker) {
			t.Errorf("%s: %s rendered without the marker's error: %v", c, r.Text, err)
		}
	}
	r := Template("line1\n{% if x is version('1', '>') %}y{% endif %}", Options{})
	if r.Problems[0].Line != 2 {
		t.Errorf("problem at line %d, want 2", r.Problems[0].Line)
	}
}
