package modules

import "sort"

// registry lists every module omsbook ships, one line each. Adding a module is one file plus
// one line here; there is no init() magic.
var registry = []Module{
	// generic modules
	commandModule{},  // run a program, no shell
	shellModule{},    // run a line through /bin/sh
	copyModule{},     // controller file or content -> host file
	templateModule{}, // rendered template -> host file
	fetchModule{},    // host file -> controller
	statModule{},     // describe a host path
	assertModule{},   // conditions that must hold
	debugModule{},    // show a message or variable
	setFactModule{},  // set host variables
	failModule{},     // fail with a message
	pauseModule{},    // wait, or ask the operator
	waitForModule{},  // wait for a port or file
	expectModule{},   // answer an interactive command's prompts
	// OMS modules
	DockerImage{},     // load an image archive; image present/absent
	DockerContainer{}, // container state, run spec, exec, docker cp
	MySQLDump{},       // verified MetaDB dumps with a manifest; restore
	MySQLExec{},       // SQL statements and queries on the MetaDB
	OMSParam{},        // OMS system parameters (ha.config) with compare-and-swap
	WaitOnline{},      // wait until OMS nodes are Online
}

// Lookup finds a module by name.
func Lookup(name string) (Module, bool) {
	for _, m := range registry {
		if m.Name() == name {
			return m, true
		}
	}
	return nil, false
}

// Names lists the module names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for _, m := range registry {
		names = append(names, m.Name())
	}
	sort.Strings(names)
	return names
}

// All returns every module, sorted by name.
func All() []Module {
	out := append([]Module(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
