// Package registry is the one list of every module omsbook ships: the generic ones
// (modules/builtin) first, then the OMS ones (modules/oms). Adding a module is one file in
// its family's package plus one line here; there is no init() magic.
package registry

import (
	"sort"

	"github.com/omsbook/omsbook/modules"
	"github.com/omsbook/omsbook/modules/builtin"
	"github.com/omsbook/omsbook/modules/oms"
)

// registry lists every module, one line each.
var registry = []modules.Module{
	// generic modules (modules/builtin)
	builtin.Command{},     // run a program, no shell
	builtin.Shell{},       // run a line through /bin/sh
	builtin.Copy{},        // controller file or content -> host file
	builtin.Template{},    // rendered template -> host file
	builtin.Fetch{},       // host file -> controller
	builtin.Stat{},        // describe a host path
	builtin.Find{},        // list the files of host directories matching patterns
	builtin.Assert{},      // conditions that must hold
	builtin.Debug{},       // show a message or variable
	builtin.SetFact{},     // set host variables
	builtin.IncludeVars{}, // host variables from a YAML or JSON file
	builtin.Fail{},        // fail with a message
	builtin.Pause{},       // wait, or ask the operator
	builtin.WaitFor{},     // wait for a port or file
	builtin.Expect{},      // answer an interactive command's prompts
	builtin.Setup{},       // gather facts (gather_facts)
	builtin.Meta{},        // act on the run: flush handlers, end the play or a host

	// system modules (modules/builtin): services, packages, accounts, settings
	builtin.Service{},       // start/stop/restart a service: systemd or sysvinit
	builtin.Systemd{},       // a systemd unit: state, enabled, masked, daemon-reload
	builtin.Package{},       // packages with the host's manager (apt, dnf, yum)
	builtin.Apt{},           // Debian packages: present/absent/latest, update_cache, deb
	builtin.Dnf{},           // RPM packages with dnf
	builtin.Yum{},           // RPM packages with yum
	builtin.User{},          // local user accounts
	builtin.Group{},         // local groups
	builtin.Cron{},          // crontab entries (#Ansible: name)
	builtin.AuthorizedKey{}, // SSH keys in authorized_keys
	builtin.Sysctl{},        // kernel parameters: sysctl file and running value
	builtin.Hostname{},      // the host's name

	// generic file, text and command modules (modules/builtin)
	builtin.File{},        // a path: directory, link, hard link, touch, attributes, absent
	builtin.LineInFile{},  // one line present or absent in a text file
	builtin.BlockInFile{}, // a marked block of lines in a text file
	builtin.Replace{},     // every match of a regexp in a text file
	builtin.Ping{},        // the host answers and runs commands
	builtin.Raw{},         // a command line through the shell, nothing else
	builtin.Script{},      // a controller script run on the host
	builtin.GetURL{},      // download a URL on the host (its curl)
	builtin.URI{},         // an HTTP request from the host (its curl)
	builtin.Unarchive{},   // extract a tar or zip archive on the host
	builtin.Git{},         // a git checkout at a branch, tag or commit

	// OMS modules (modules/oms)
	oms.DockerImage{},     // load an image archive; image present/absent
	oms.DockerContainer{}, // container state, run spec, exec, docker cp
	oms.DockerHostInfo{},  // docker host facts and a filtered container list (read-only)
	oms.MySQLDump{},       // verified MetaDB dumps with a manifest; restore
	oms.MySQLExec{},       // SQL statements and queries on the MetaDB
	oms.MySQLLock{},       // a named lock on the MetaDB held for the whole run
	oms.OMSParam{},        // OMS system parameters (ha.config) with compare-and-swap
	oms.WaitOnline{},      // wait until OMS nodes are Online
	oms.OMSReady{},        // wait until a started OMS container is ready for docker_init.sh
}

// Lookup finds a module by name.
func Lookup(name string) (modules.Module, bool) {
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
func All() []modules.Module {
	out := append([]modules.Module(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
