package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; without it the module
// version or VCS revision from the build info is shown.
var version = ""

func cmdVersion(args []string, std stdio) error {
	if _, pos, err := parseFlags("version", args, std); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{cmd: "version", msg: "version takes no arguments"}
	}
	fmt.Fprintf(std.out, "omsbook %s (%s %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "(devel)"
	}
	return "devel-" + rev + dirty
}
