package tmpl

import (
	"testing"
	"time"
)

// fuzzLimits are small bounds, so that each input is quick; the property is that rendering
// stays within them whatever the template.
var fuzzLimits = Limits{MaxOutput: 1 << 20, MaxTime: 2 * time.Second, MaxSteps: 100_000}

// FuzzRender: any template renders or fails with an error, within the limits, without a
// panic.
func FuzzRender(f *testing.F) {
	f.Add(`{{ .metadb.host }}:{{ .metadb.port }}`)
	prev := SetLimits(fuzzLimits)
	f.Cleanup(func() { SetLimits(prev) })
	f.Fuzz(func(t *testing.T, src string) {
		vars := map[string]any{
			"metadb":             map[string]any{"host": "127.0.0.1", "port": 3306},
			"nodes":              []any{"a", "b"},
			"inventory_hostname": "oms-hz-1",
			"n":                  3,
		}
		start := time.Now()
		v, err := Render(src, vars)
		if took := time.Since(start); took > fuzzLimits.MaxTime+5*time.Second {
			t.Fatalf("rendering took %s", took)
		}
		if err == nil {
			if s, ok := v.(string); ok && int64(len(s)) > fuzzLimits.MaxOutput {
				t.Fatalf("rendered %d bytes, more than the limit", len(s))
			}
		}
	})
}

// FuzzCondition: any condition compiles or fails with an error, and a compiled one evaluates
// or fails with an error, without a panic.
func FuzzCondition(f *testing.F) {
	f.Add(`result.rc == 0 && region == "hangzhou"`)
	f.Fuzz(func(t *testing.T, src string) {
		vars := condVars()
		p, err := Compile(src, vars)
		if err != nil {
			return
		}
		_, _ = Eval(p, vars)
		_, _ = Truth(p, vars)
	})
}
