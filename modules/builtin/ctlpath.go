package builtin

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// This file keeps what a module writes on the controller inside the directory it was given.
// A host name or a name that comes from the host (a remote path) is joined below that
// directory only as plain components: "..", an absolute path or a NUL is refused as directory
// traversal, and the file is created through an os.Root, so that a symlink already there
// cannot lead outside either.

// nameComponent checks that name can be one path component of a controller path: not empty,
// not "." or "..", without a slash or a NUL.
func nameComponent(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty: it cannot name a directory on the controller", what)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q would be directory traversal on the controller", what, name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%s %q contains a slash or a NUL: directory traversal on the controller is refused", what, name)
	}
	return nil
}

// containedRel is the relative path of parts below a base directory, each part itself a
// slash-separated path whose ".." may not climb out of the base. It refuses what would.
func containedRel(parts ...string) (string, error) {
	joined := path.Join(parts...)
	clean := path.Clean(joined)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) || strings.ContainsRune(clean, 0) {
		return "", fmt.Errorf("the path %q leaves its directory on the controller: directory traversal is refused", joined)
	}
	return filepath.FromSlash(clean), nil
}

// writeContained renames the finished temporary file tmp (a relative path in root) to rel,
// both inside root; root refuses any symlink that leads outside it.
func writeContained(root *os.Root, tmp, rel string, mode os.FileMode) error {
	if err := root.Chmod(tmp, mode); err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}
