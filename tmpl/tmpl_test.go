package tmpl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func testVars() map[string]any {
	return map[string]any{
		"metadb":             map[string]any{"host": "127.0.0.1", "port": 3306, "user": "root"},
		"nodes":              []any{"oms-hz-1", "oms-hz-2", "oms-sh-1"},
		"inventory_hostname": "oms-hz-1",
		"region":             "hangzhou",
		"enabled":            true,
		"rows":               []any{map[string]any{"v": 1}, map[string]any{"w": 0}, map[string]any{"v": 2}},
		"empty":              map[string]any{"nothing": nil},
		"hostvars": map[string]any{
			"oms-hz-2":  map[string]any{"oms_host_ip": "10.0.0.12"},
			"oms-hz-1":  map[string]any{"oms_host_ip": "10.0.0.11"},
			"localhost": map[string]any{},
		},
	}
}

func TestRender(t *testing.T) {
	t.Setenv("OMSBOOK_TMPL_TEST", "from-env")
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"plain string untouched", "no braces {here}", "no braces {here}"},
		{"whole map keeps type", "{{ .metadb }}", map[string]any{"host": "127.0.0.1", "port": 3306, "user": "root"}},
		{"whole number keeps type", "{{ .metadb.port }}", 3306},
		{"whole bool keeps type", "{{ .enabled }}", true},
		{"whole list keeps type", "{{ .nodes }}", []any{"oms-hz-1", "oms-hz-2", "oms-sh-1"}},
		{"whole pipeline keeps type", "{{ .nodes | len }}", 3},
		{"whole function result", "{{ .nodes | first }}", "oms-hz-1"},
		{"whole nil value", "{{ .empty.nothing }}", nil},
		{"mixed text is a string", "{{ .metadb.host }}:{{ .metadb.port }}", "127.0.0.1:3306"},
		{"surrounding text is a string", "oms_{{ .inventory_hostname }}_422", "oms_oms-hz-1_422"},
		{"sprig function", `{{ .region | upper }}`, "HANGZHOU"},
		{"env", `{{ env "OMSBOOK_TMPL_TEST" }}`, "from-env"},
		{"shquote", `{{ shquote "it's a test" }}`, `'it'\''s a test'`},
		{"shquote number", `{{ shquote .metadb.port }}`, `'3306'`},
		{"toYaml", `{{ toYaml .metadb }}`, "host: 127.0.0.1\nport: 3306\nuser: root"},
		{"toJson", `{{ toJson .nodes }}`, `["oms-hz-1","oms-hz-2","oms-sh-1"]`},
		{"collect from a map of maps, in key order", `{{ collect .hostvars "oms_host_ip" }}`, []any{"10.0.0.11", "10.0.0.12"}},
		{"collect from a list of maps", `{{ collect .rows "v" }}`, []any{1, 2}},
		{"index with dashes", `{{ (index .hostvars "oms-hz-1").oms_host_ip }}`, "10.0.0.11"},
		{"if else", `{{ if eq .region "hangzhou" }}hz{{ else }}other{{ end }}`, "hz"},
		{"range", `{{ range .nodes }}{{ . }},{{ end }}`, "oms-hz-1,oms-hz-2,oms-sh-1,"},
		{"declaration is not a whole value", `{{ $x := 1 }}`, ""},
		{"now is a time", `{{ now | date "2006" | len }}`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.src, testVars())
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Render(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		want       string
		missingKey string
		parse      bool
	}{
		{"missing top-level", "{{ .oms_host_ip }}", `template: map has no entry for key "oms_host_ip" (at <.oms_host_ip>, col 4)`, "oms_host_ip", false},
		{"missing nested in text", "ip={{ .metadb.pass }}", `template: map has no entry for key "pass" (at <.metadb.pass>, col 14)`, "pass", false},
		{"second line", "a\n  {{ .nope }}", `template: map has no entry for key "nope" (at <.nope>, line 2 col 6)`, "nope", false},
		{"through null", "{{ .empty.nothing.deeper }}", `template: cannot read key "deeper" of a null value (at <.empty.nothing.deeper>, col 10)`, "", false},
		{"unknown function", "{{ nope .x }}", `template: function "nope" not defined (line 1)`, "", true},
		{"unclosed", "{{ if .enabled }}\nx", `template: unexpected EOF (line 2)`, "", true},
		{"fail function", `{{ fail "stop here" }}`, `template: fail: stop here (at <fail "stop here">, col 4)`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.src, testVars())
			if err == nil {
				t.Fatalf("Render(%q): no error, want %q", tt.src, tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("Render(%q) error\n got %q\nwant %q", tt.src, err.Error(), tt.want)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error is %T, want *tmpl.Error", err)
			}
			if te.MissingKey != tt.missingKey || te.Parse != tt.parse {
				t.Fatalf("MissingKey=%q Parse=%v, want %q %v", te.MissingKey, te.Parse, tt.missingKey, tt.parse)
			}
			if strings.Contains(err.Error(), captureFunc) || strings.Contains(err.Error(), "executing") {
				t.Fatalf("error leaks internals: %q", err)
			}
		})
	}
}

func TestRenderDeep(t *testing.T) {
	in := map[string]any{
		"dsn":   "{{ .metadb.host }}:{{ .metadb.port }}",
		"port":  "{{ .metadb.port }}",
		"list":  []any{"{{ .region }}", 7, map[string]any{"x": "{{ .enabled }}"}},
		"strs":  []string{"a", "{{ .inventory_hostname }}"},
		"plain": 42,
	}
	got, err := RenderDeep(in, testVars())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"dsn":   "127.0.0.1:3306",
		"port":  3306,
		"list":  []any{"hangzhou", 7, map[string]any{"x": true}},
		"strs":  []any{"a", "oms-hz-1"},
		"plain": 42,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RenderDeep = %#v\nwant %#v", got, want)
	}
	if in["port"] != "{{ .metadb.port }}" {
		t.Fatal("RenderDeep changed its input")
	}

	_, err = RenderDeep(map[string]any{"a": []any{"ok", map[string]any{"b": "{{ .missing }}"}}}, testVars())
	if err == nil || !strings.HasPrefix(err.Error(), `a[1].b: template: map has no entry for key "missing"`) {
		t.Fatalf("RenderDeep error = %v, want the path a[1].b and the missing key", err)
	}
	var te *Error
	if !errors.As(err, &te) || te.MissingKey != "missing" {
		t.Fatalf("RenderDeep error does not unwrap to *tmpl.Error with the key: %#v", err)
	}
}

func TestRenderConcurrentWholeValues(t *testing.T) {
	// Whole-value captures go through a shared store: concurrent renders must not mix values.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				vars := map[string]any{"n": []any{g, i}}
				got, err := Render("{{ .n | last }}", vars)
				if err != nil || got != i {
					errs <- fmt.Errorf("goroutine %d: got %v, %v; want %d", g, got, err, i)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	captured.Range(func(_, _ any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d captured values left behind", n)
	}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"plain", nil},
		{"{{ .a.b.c }}", []string{"a"}},
		{"{{ $.a }} {{ .b }} {{ .a }}", []string{"a", "b"}},
		{"{{ if .cond }}{{ .yes }}{{ else }}{{ .no }}{{ end }}", []string{"cond", "yes", "no"}},
		{"{{ range .items }}{{ .field }}{{ $.top }}{{ end }}", []string{"items", "top"}},
		{"{{ range .items }}x{{ else }}{{ .none }}{{ end }}", []string{"items", "none"}},
		{"{{ with .m }}{{ .inner }}{{ else }}{{ .outer }}{{ end }}", []string{"m", "outer"}},
		{`{{ printf "%s:%d" .host .port | default .fallback }}`, []string{"host", "port", "fallback"}},
		{"{{ (.chain).x }}", []string{"chain"}},
		{"{{ $v := .decl }}{{ $v.x }}", []string{"decl"}},
		{`{{ index .hostvars "oms-hz-1" }}`, []string{"hostvars"}},
		{"{{ .whole }}", []string{"whole"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := Refs(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Refs(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
	_, err := Refs("line one\n{{ .a ")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("Refs parse error = %v, want one naming line 2", err)
	}
}

func BenchmarkRenderCached(b *testing.B) {
	vars := testVars()
	cases := map[string]string{
		"text":  "oms_{{ .inventory_hostname }}_422 on {{ .metadb.host }}:{{ .metadb.port }}",
		"whole": "{{ .metadb }}",
		"pipe":  "{{ .nodes | len }}",
	}
	for name, src := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Render(src, vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
