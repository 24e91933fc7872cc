package lab

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// labOnly are the things only this lab's simulator gives: a shipped playbook that passes or reads
// one of them works in the lab and goes wrong on a real OMS deployment.
var labOnly = []struct {
	pattern *regexp.Regexp
	why     string
}{
	{regexp.MustCompile(`deploy_script[^\n]*\s-n\s`), "the deploy script's -n option: the guide gives only -o, -c, -i and -d (find the container it started instead)"},
	{regexp.MustCompile(`\.nodes\[\d+\]\.(version|status)\b`), "the health endpoint's version or status: the vendor confirms only data.healthy"},
	{regexp.MustCompile(`data\.version`), "the health endpoint's data.version: the vendor confirms only data.healthy"},
	{regexp.MustCompile(`(?m)^\s*port:\s*8089\s*$`), "a TCP connect to 8089 as readiness: nginx answers long before the console (wait with oms_ready)"},
	{regexp.MustCompile(`contains "\[Completed\]`), "a hard-coded [Completed] check: use completed_message (an [assumed] string, kept configurable)"},
	{regexp.MustCompile(`oms-config-tool-\{\{ \.inventory_hostname \}\}"`), "a throw-away container name without a unique suffix: two deployments on one engine collide"},
}

// TestShippedPlaybooksUseOnlyVendorFacts greps every shipped OMS playbook and task file for the
// options and fields only the lab's simulator has.
func TestShippedPlaybooksUseOnlyVendorFacts(t *testing.T) {
	var files []string
	for _, glob := range []string{"*.yml", "tasks/*.yml", "vars/*.yml"} {
		m, err := filepath.Glob(filepath.Join("..", "playbooks", glob))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d playbook files under ../playbooks", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, lo := range labOnly {
			for _, loc := range lo.pattern.FindAllIndex(b, -1) {
				line := 1 + strings.Count(string(b[:loc[0]]), "\n")
				t.Errorf("%s:%d: %s", f, line, lo.why)
			}
		}
	}
}
