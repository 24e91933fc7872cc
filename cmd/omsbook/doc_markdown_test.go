package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/omsbook/omsbook/internal/testutil"
)

// TestModulesMarkdownCurrent fails when docs/modules.md is not what omsbook doc --markdown
// writes (make docs regenerates it).
func TestModulesMarkdownCurrent(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main([]string{"doc", "--markdown"}, stdio{out: &out, err: &errs}); code != 0 {
		t.Fatalf("doc --markdown: exit %d: %s", code, errs.String())
	}
	testutil.Golden(t, filepath.Join("..", "..", "docs", "modules.md"), out.Bytes())
	for _, want := range []string{"## copy\n", "### Arguments", "### Returns", "### Example", "**Check mode (`--check`):**", "| `password` | string | no |  |  | yes |"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("doc --markdown lacks %q", want)
		}
	}
	if code := Main([]string{"doc", "--markdown", "copy"}, stdio{out: &out, err: &errs}); code != 5 {
		t.Errorf("doc --markdown copy: exit %d, want 5", code)
	}
}
