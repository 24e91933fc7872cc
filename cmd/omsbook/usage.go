package main

import (
	"errors"
	"fmt"
)

// errHelp says the user asked for help (-h) and got it: exit 0.
var errHelp = errors.New("help shown")

const mainUsage = `omsbook runs Ansible-style playbooks over SSH, one connection per host.

Usage:
  omsbook run PLAYBOOK -i INVENTORY [flags]   run a playbook
  omsbook validate PLAYBOOK -i INVENTORY      check everything without touching a host
  omsbook list-hosts PLAYBOOK -i INVENTORY    the hosts each play would run on
  omsbook list-tasks PLAYBOOK -i INVENTORY    the tasks, in order, with tags
  omsbook inventory -i INVENTORY [--host NAME | --list]
                                              resolved host variables, secrets masked
  omsbook doc [MODULE | --markdown]           the modules, or one module's reference
  omsbook schema [KIND]                       JSON Schema of a playbook, tasks, handlers,
                                              role-meta or inventory file, for editors
  omsbook report RUN_ID|last [PLAYBOOK] [-o FILE]
                                              a run's journal as one HTML page
  omsbook convert DIR|FILE -o OUT             an Ansible tree turned into an omsbook one
  omsbook completion bash|zsh|fish            a shell completion script
  omsbook config                              the effective settings, and where each is from
  omsbook version                             the version
  omsbook help [COMMAND]                      this help, or a command's

Exit codes: 0 ok, 2 a task failed, 4 a host was unreachable, 5 bad input, 99 interrupted.
`

// usages are the sub-commands' usage lines; their flags are printed after them.
var usages = map[string]string{
	"run": `Usage: omsbook run PLAYBOOK -i INVENTORY [-i MORE] [flags]

Runs the playbook's plays in order on the inventory's hosts. Everything is checked before
the first connection (as validate does). Ctrl-C once lets running tasks finish and stops;
twice closes the connections at once.
`,
	"validate": `Usage: omsbook validate PLAYBOOK -i INVENTORY [flags]

Loads the playbook and inventories and checks every play and task for every host: YAML,
keywords, modules and their arguments, templates, variables, conditions, host patterns.
Touches no host.
`,
	"list-hosts": `Usage: omsbook list-hosts PLAYBOOK -i INVENTORY [flags]

Lists the hosts each play would run on (after --limit).
`,
	"list-tasks": `Usage: omsbook list-tasks PLAYBOOK -i INVENTORY [flags]

Lists the tasks in the order they would run (after --tags and --skip-tags), with their tags
and where they are written.
`,
	"inventory": `Usage: omsbook inventory -i INVENTORY [-i MORE] [--host NAME | --list]

Prints each host's resolved variables as YAML; secrets are masked. With --list, prints the
groups and each host's variables (as written, templates not rendered) as JSON, in the shape
ansible-inventory --list prints. An inventory is an omsbook YAML file, an Ansible INI or
YAML inventory, or a directory of them.
`,
	"doc": `Usage: omsbook doc [MODULE | --markdown]

Without MODULE, lists the modules. With one, prints its description, what it does under
--check, its arguments and the fields it registers. --markdown prints every module's
reference as Markdown (docs/modules.md is made with it: make docs).
`,
	"schema": `Usage: omsbook schema [playbook|tasks|handlers|role-meta|inventory]

Prints the JSON Schema (draft 2020-12) of one kind of file (default playbook), built from the
keyword table and the modules' argument declarations validate checks against. Point an
editor's YAML language server at it (see the README). A schema check is a first pass:
validate checks what a schema cannot (files, variables, conditions, templates).
`,
	"report": `Usage: omsbook report RUN_ID|last [PLAYBOOK] [-o FILE] [--journal-dir DIR]

Writes the report of one run as a single HTML file that needs nothing else (no network, no
other file): who ran which command where, the outcome, a timeline per host, every step id and
failure, the sha256 of the inventories and playbook files, and for the OMS playbooks T1 / T2 /
T3, ha.config before and after and the backup manifest with its checksums. RUN_ID is a
journal's name (without .jsonl) or its path; last is the newest run (of PLAYBOOK when given).
The journals are read from --journal-dir, else journal_dir of the config, else .omsbook/runs
beside PLAYBOOK, else ./.omsbook/runs. Secrets are masked as in the journal. Prints the
report's path (default <journal dir>/<run id>.html).
`,
	"convert": `Usage: omsbook convert DIR|FILE -o OUT

Turns an Ansible tree (playbooks, roles, *.j2 templates, group_vars, host_vars, inventories)
into an omsbook one in OUT: Jinja templates and expressions become Go templates, with_items,
with_list and with_dict become loop, name=value arguments become mappings; what omsbook reads
as Ansible writes it (keywords, modules, conditions, inventories) is kept. Each construct it
cannot translate with the same meaning is listed on stderr as file:line with the reason and
marked in the output, so that validate stops there; the exit code is then 3 (0 when
everything was translated, 5 for bad input).
`,
	"completion": `Usage: omsbook completion bash|zsh|fish

Prints a completion script for the shell: sub-commands, flags, module names for doc, schema
kinds, playbook files, and host and group names of the -i inventories for --limit.

  bash:  source <(omsbook completion bash)          (or save it in bash-completion's dir)
  zsh:   omsbook completion zsh > "${fpath[1]}/_omsbook"
  fish:  omsbook completion fish > ~/.config/fish/completions/omsbook.fish
`,
	"config": `Usage: omsbook config [flags of run]

Prints the effective settings and where each comes from: a flag, an OMSBOOK_* environment
variable, the config file or the built-in default, strongest first. The config file is
$OMSBOOK_CONFIG, else ./omsbook.yml, else omsbook/config.yml in the user's config directory
(~/.config on Linux). Its settings: forks, inventory (a list: the -i used when none is given),
roles_path (a list), ssh_config, gathering (implicit, explicit, smart), journal_dir, color
(auto, always, never) and executor (off, on: a persistent executor per ssh host); their
variables are OMSBOOK_FORKS, OMSBOOK_INVENTORY (a:b), OMSBOOK_ROLES_PATH (a:b),
OMSBOOK_SSH_CONFIG, OMSBOOK_GATHERING, OMSBOOK_JOURNAL_DIR, OMSBOOK_COLOR and
OMSBOOK_EXECUTOR. Given the flags of run, it shows what they change.
`,
	"version": `Usage: omsbook version
`,
	"help": `Usage: omsbook help [COMMAND]
`,
}

func cmdHelp(args []string, std stdio) error {
	if len(args) == 0 {
		fmt.Fprint(std.out, mainUsage)
		return nil
	}
	if len(args) > 1 {
		return &usageError{cmd: "help", msg: "help takes one command name"}
	}
	name := args[0]
	u, ok := usages[name]
	if !ok {
		return &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
	fmt.Fprint(std.out, u)
	if fs := newFlagSet(name); fs != nil && fs.HasFlags() {
		fmt.Fprintf(std.out, "\nFlags:\n%s", flagUsages(fs))
	}
	return nil
}
