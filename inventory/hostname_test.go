package inventory

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omsbook/omsbook/yamlsrc"
)

// TestHostNamesMustBeFileNames: in every inventory format, a host name that cannot be one
// path component is an error at its file:line:column; a host range past MaxRangeHosts too.
func TestHostNamesMustBeFileNames(t *testing.T) {
	tests := []struct {
		name, file, text string
		line, col        int
		msg              string
	}{
		{"omsbook dotdot slash", "inv.yml", "regions:\n  r:\n    nodes:\n      ../../esc: {address: 127.0.0.1}\n", 4, 7, "contains a slash"},
		{"omsbook dotdot", "inv.yml", "regions:\n  r:\n    nodes:\n      ..: {}\n", 4, 7, "directory reference"},
		{"omsbook NUL", "inv.yml", "regions:\n  r:\n    nodes:\n      \"a\\0b\": {}\n", 4, 7, "control character"},
		{"ansible yaml slash", "inv.yml", "all:\n  hosts:\n    ../../esc:\n", 3, 5, "contains a slash"},
		{"ansible yaml dot", "inv.yml", "all:\n  hosts:\n    \".\":\n", 3, 5, "directory reference"},
		{"ansible ini slash", "hosts.ini", "[web]\nok1\n  ../../esc ansible_host=127.0.0.1\n", 3, 3, "contains a slash"},
		{"ansible ini dotdot", "hosts.ini", "..\n", 1, 1, "directory reference"},
		{"ansible ini range too big", "hosts.ini", "web[0:99999999999]\n", 1, 1, "more than 100000 hosts"},
		{"ansible ini nested ranges too big", "hosts.ini", "w[0:999]x[0:999]\n", 1, 1, "more than 100000 hosts"},
		{"ansible ini range at the largest int", "hosts.ini", "w[9223372036854775806:9223372036854775807]\n", 0, 0, ""},
		{"ansible ini letter range, huge step", "hosts.ini", "w[b:z:9223372036854775807]\n", 0, 0, ""},
		{"ansible ini good names", "hosts.ini", "web-1.example\nweb_[01:03]\n", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{tc.file: tc.text})
			f := filepath.Join(dir, tc.file)
			_, err := Load(f)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *yamlsrc.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T (%v), want *yamlsrc.Error", err, err)
			}
			if pe.Pos != (yamlsrc.Pos{File: f, Line: tc.line, Col: tc.col}) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s:%d:%d %q", err, f, tc.line, tc.col, tc.msg)
			}
		})
	}
}
