package playbook

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/internal/testutil"
	"github.com/omsbook/omsbook/yamlsrc"
)

// fakeModules stands for the registry, which other work may still be filling.
var fakeModules = map[string]ModuleInfo{
	"command":          {FreeForm: "cmd"},
	"shell":            {FreeForm: "cmd"},
	"debug":            {},
	"copy":             {},
	"docker_container": {},
	"mysqldump":        {},
}

func fakeOptions() Options {
	names := make([]string, 0, len(fakeModules))
	for n := range fakeModules {
		names = append(names, n)
	}
	sortStrings(names)
	return Options{
		Lookup:      func(name string) (ModuleInfo, bool) { s, ok := fakeModules[name]; return s, ok },
		ModuleNames: names,
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestLoadGood(t *testing.T) {
	pb, err := LoadWith("testdata/good.yml", fakeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if pb.File != "testdata/good.yml" || len(pb.Plays) != 2 {
		t.Fatalf("file %q, %d plays", pb.File, len(pb.Plays))
	}
	p := pb.Plays[0]
	tr, fa := true, false
	pct := 25.0
	checks := []struct {
		what      string
		got, want any
	}{
		{"play pos", p.Pos.String(), "testdata/good.yml:2:3"},
		{"name", p.Name, "Stop the old containers"},
		{"hosts", p.Hosts, "hangzhou,shanghai"},
		{"serial", p.Serial, []Batch{{Count: 1}, {Percent: 30}, {Count: 5}}},
		{"any_errors_fatal", p.AnyErrorsFatal, true},
		{"max_fail_percentage", p.MaxFailPercentage, &pct},
		{"var order", p.VarOrder, []string{"old_container", "count", "nested"}},
		{"var value", p.Vars["nested"].V, map[string]any{"a": []any{1, 2}, "b": nil}},
		{"var pos", p.Vars["count"].Pos.String(), "testdata/good.yml:9:12"},
		{"vars_files", []any{p.VarsFiles[0].V, p.VarsFiles[1].V}, []any{"vars/versions.yml", "vars/{{ .region }}.yml"}},
		{"secrets", p.Secrets, []string{"metadb.password"}},
		{"tags", p.Tags, []string{"upgrade", "stop", "containers"}},
		{"check_mode", p.CheckMode, &fa},
		{"become", p.Become, &tr},
		{"become_user", p.BecomeUser, "root"},
		{"environment", p.Environment["LANG"].V, "C"},
		{"tasks", len(p.Tasks), 6},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}

	t0 := p.Tasks[0]
	if t0.Module != "docker_container" || t0.ModulePos.String() != "testdata/good.yml:21:7" || t0.Register != "stopped" || t0.LoopVar != "item" {
		t.Errorf("task 0 = %+v", t0)
	}
	if t0.Args["name"].V != "{{ .old_container }}" || t0.Args["state"].Pos.String() != "testdata/good.yml:21:63" {
		t.Errorf("task 0 args = %+v", t0.Args)
	}
	if len(t0.When) != 1 || t0.When[0].V != "stopped_before != true" {
		t.Errorf("task 0 when = %+v", t0.When)
	}

	t1 := p.Tasks[1]
	if t1.Module != "command" || !reflect.DeepEqual(t1.Args, map[string]Value{"cmd": {Pos: Pos{File: "testdata/good.yml", Line: 25, Col: 16}, V: "ls -l /data"}}) {
		t.Errorf("free-form task = %+v", t1)
	}

	t2 := p.Tasks[2]
	want2 := []struct {
		what      string
		got, want any
	}{
		{"run_once", t2.RunOnce, "region"},
		{"until", t2.Until.V, "result.rc == 0"},
		{"retries not written (the runner defaults it)", t2.Retries == nil, true},
		{"delay", t2.Delay, 10 * time.Second},
		{"timeout", t2.Timeout, 90 * time.Second},
		{"delegate_to", t2.DelegateTo.V, "localhost"},
		{"loop", t2.Loop.V, []any{"a", "b"}},
		{"loop_var", t2.LoopVar, "node"},
		{"failed_when", []any{t2.FailedWhen[0].V, t2.FailedWhen[1].V}, []any{"result.rc != 0", "false"}},
		{"changed_when", t2.ChangedWhen[0].V, false},
		{"ignore_errors", t2.IgnoreErrors, true},
		{"no_log", t2.NoLog, true},
		{"tags", t2.Tags, []string{"init"}},
		{"check_mode", t2.CheckMode, &tr},
		{"become", t2.Become, &fa},
		{"become_user", t2.BecomeUser, "oms"},
		{"environment", t2.Environment["X"].V, "{{ .x }}"},
		{"vars order", t2.VarOrder, []string{"z", "a"}},
		{"args", t2.Args["exec"].V, "bash /root/docker_init.sh"},
	}
	for _, c := range want2 {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("task 2 %s = %#v, want %#v", c.what, c.got, c.want)
		}
	}

	blk := p.Tasks[3]
	if !blk.IsBlock() || blk.Module != "" || len(blk.Block) != 1 || len(blk.Rescue) != 1 || len(blk.Always) != 1 {
		t.Fatalf("block = %+v", blk)
	}
	if blk.When[0].V != "stopped.changed" || blk.When[1].V != true {
		t.Errorf("block when = %+v", blk.When)
	}
	inc := blk.Always[0]
	if !inc.IsBlock() || inc.IncludeTasks != filepath.Join("testdata", "tasks", "inner.yml") || len(inc.Block) != 2 {
		t.Fatalf("include in always = %+v", inc)
	}
	if got := inc.Block[0].Pos.String(); got != "testdata/tasks/inner.yml:2:3" {
		t.Errorf("included task pos = %s, want one in the included file", got)
	}
	if !reflect.DeepEqual(inc.Block[0].Args["argv"].V, []any{"echo", "inner"}) {
		t.Errorf("included args = %+v", inc.Block[0].Args)
	}
	leaf := inc.Block[1]
	if leaf.IncludeTasks != filepath.Join("testdata", "tasks", "leaf.yml") || leaf.Block[0].Name != "leaf" || leaf.Block[0].Pos.File != "testdata/tasks/leaf.yml" {
		t.Errorf("nested include = %+v", leaf)
	}
	if p.Tasks[4].When[0].V != `region == "hangzhou"` || !p.Tasks[4].IsBlock() {
		t.Errorf("top include = %+v", p.Tasks[4])
	}
	t5 := p.Tasks[5]
	if t5.Retries == nil || *t5.Retries != 5 || t5.Until != nil || t5.RunOnce != "true" || t5.Loop.V != "{{ .nodes }}" || t5.Args["chdir"].V != "/tmp" {
		t.Errorf("task 5 = %+v", t5)
	}

	p2 := pb.Plays[1]
	if p2.Hosts != "localhost" || !reflect.DeepEqual(p2.Serial, []Batch{{Count: 2}}) || p2.MaxFailPercentage != nil {
		t.Errorf("play 2 = %+v", p2)
	}
	if p2.Tasks[0].Module != "debug" || p2.Tasks[0].Args == nil || len(p2.Tasks[0].Args) != 0 {
		t.Errorf("debug without args = %+v", p2.Tasks[0])
	}
	if !p2.Tasks[1].IsBlock() || len(p2.Tasks[1].Block) != 0 {
		t.Errorf("empty block = %+v", p2.Tasks[1])
	}
}

func TestIncludeEmptyFile(t *testing.T) {
	pb, err := Parse("testdata/inline.yml", []byte("- hosts: all\n  tasks:\n    - include_tasks: tasks/empty.yml\n"), fakeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if inc := pb.Plays[0].Tasks[0]; !inc.IsBlock() || len(inc.Block) != 0 {
		t.Fatalf("empty include = %+v", inc)
	}
}

func TestLoadErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error cases: %v", err)
	}
	files = append(files, "testdata/errors/does-not-exist.yml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		t.Run(name, func(t *testing.T) {
			_, err := LoadWith(f, fakeOptions())
			if err == nil {
				t.Fatalf("LoadWith(%s): no error", f)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *playbook.Error: %v", err, err)
			}
			if !strings.HasPrefix(pe.Pos.File, "testdata/") {
				t.Fatalf("error has no file: %v", err)
			}
			if pe.Msg == "" || strings.ToLower(pe.Msg[:1]) != pe.Msg[:1] {
				t.Fatalf("message is not lowercase: %q", pe.Msg)
			}
			testutil.Golden(t, filepath.Join("testdata", "errors/"+name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

func TestNoLookupKnowsNoModule(t *testing.T) {
	// The loader knows no module of its own: without a lookup, a module key is unknown.
	_, err := Parse("x.yml", []byte("- hosts: all\n  tasks:\n    - debug: {msg: hi}\n"), Options{})
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, `"debug"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		word string
		want []string
	}{
		{"serail", []string{"serial"}},
		{"comand", []string{"command"}},
		{"whn", []string{"when"}},
		{"frobnicate", []string{}},
		{"docker", []string{"docker_container"}},
	}
	cands := append(append([]string{}, playKeys...), "command", "shell", "when", "docker_container")
	for _, tt := range tests {
		if got := yamlsrc.Suggest(tt.word, cands); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// BenchmarkLoad200Tasks loads a playbook of 200 tasks (target: under 10 ms).
func BenchmarkLoad200Tasks(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("- name: big\n  hosts: all\n  serial: \"30%\"\n  vars: {a: 1, b: \"{{ .a }}\"}\n  tasks:\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&sb, `    - name: task %d
      docker_container: {name: "oms_{{ .inventory_hostname }}_%d", state: started, image: "oms:4.2.3"}
      register: r%d
      when: region == "hangzhou" && r.changed
      until: result.rc == 0
      retries: 3
      delay: 2s
      tags: [t%d, all]
`, i, i, i, i%10)
	}
	data := []byte(sb.String())
	opts := fakeOptions()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pb, err := Parse("big.yml", data, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(pb.Plays[0].Tasks) != 200 {
			b.Fatal("wrong task count")
		}
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	src := `- hosts: all
  vars:
    db: &db {host: 127.0.0.1, port: 3306}
  tasks:
    - name: merged
      mysqldump:
        <<: *db
        port: 3307
        databases: [rm]
    - name: alias
      mysqldump: *db
`
	pb, err := Parse("anchors.yml", []byte(src), fakeOptions())
	if err != nil {
		t.Fatal(err)
	}
	ts := pb.Plays[0].Tasks
	if ts[0].Args["host"].V != "127.0.0.1" || ts[0].Args["port"].V != 3307 || len(ts[0].Args) != 3 {
		t.Fatalf("merged args = %+v", ts[0].Args)
	}
	if ts[1].Args["port"].V != 3306 || ts[1].Args["port"].Pos.Line != 3 {
		t.Fatalf("alias args = %+v", ts[1].Args)
	}
}
