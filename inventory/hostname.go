package inventory

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/omsbook/omsbook/yamlsrc"
)

// A host's name becomes a component of controller paths (fetch writes DEST/HOST/...), so it
// must be a file name: these checks hold for every inventory format. And a range in a host name ([1:1000000000]) expands to one host per value, so the
// hosts one name may stand for are bounded.

// MaxRangeHosts is how many hosts the ranges of one host name may stand for.
const MaxRangeHosts = 100_000

// checkHostFileName refuses a host name that cannot be one path component: ".", "..", one
// with a slash, a NUL or another control character.
func checkHostFileName(name string, pos yamlsrc.Pos) error {
	var why string
	switch {
	case name == "." || name == "..":
		why = "is a directory reference"
	case strings.ContainsRune(name, '/'):
		why = "contains a slash"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		why = "contains a control character (NUL, newline, ...)"
	default:
		return nil
	}
	return &yamlsrc.Error{Pos: pos, Msg: fmt.Sprintf("host name %q %s: a host name must be usable as a file name (fetch puts it in controller paths)", name, why),
		Fix: "name the host with letters, digits, '-', '_' and '.', and give its address separately (address:, ansible_host=)"}
}

// checkHostFileNames is checkHostFileName for each of names.
func checkHostFileNames(names []string, pos yamlsrc.Pos) error {
	for _, n := range names {
		if err := checkHostFileName(n, pos); err != nil {
			return err
		}
	}
	return nil
}
