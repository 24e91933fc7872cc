package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/omsbook/omsbook/config"
	"github.com/omsbook/omsbook/output"
	"github.com/omsbook/omsbook/runner"
)

// configCommands read the config file: the commands that take the settings it gives.
var configCommands = map[string]bool{"run": true, "validate": true, "list-hosts": true, "list-tasks": true, "inventory": true, "config": true, "report": true}

// loadConfig reads the config file and the OMSBOOK_* variables, lets the flags given on the
// command line win over them, and fills in the flags not given: flag > env > file > default.
func (f *cliFlags) loadConfig(name string, fs *pflag.FlagSet) error {
	if !configCommands[name] {
		return nil
	}
	c, err := config.Load(os.LookupEnv)
	if err != nil {
		return err
	}
	flagged := func(setting, flag string, value []string) {
		if fs.Lookup(flag) != nil && fs.Changed(flag) {
			c.Override(setting, value, "--"+flag)
		}
	}
	flagged("forks", "forks", []string{fmt.Sprint(f.forks)})
	flagged("inventory", "inventory", f.inventories)
	flagged("ssh_config", "ssh-config", []string{f.sshConfig})
	flagged("journal_dir", "journal-dir", []string{f.journalDir})
	flagged("color", "color", []string{f.color})
	f.config = c
	f.forks = c.Forks()
	f.inventories = c.List("inventory")
	f.sshConfig = c.Get("ssh_config")
	f.journalDir = c.Get("journal_dir")
	f.color = c.Get("color")
	return nil
}

// applyConfig puts the settings the runner reads from the config into opts (the flags'
// ones are already in them).
func (f *cliFlags) applyConfig(opts *runner.Options) {
	if f.config == nil {
		return
	}
	opts.RolesPath = f.config.List("roles_path")
	opts.Gathering = f.config.Get("gathering")
	opts.Executor = f.config.Get("executor")
}

// useColor says whether text output to out is coloured: --color (or OMSBOOK_COLOR, or the
// config file) always or never; auto colours a terminal only, and NO_COLOR turns colour off
// unless --color always is given on the command line.
func (f *cliFlags) useColor(out *os.File) bool {
	mode, fromFlag := f.color, false
	if f.config != nil {
		fromFlag = f.config.Values["color"].Src == config.FromFlag
	}
	return output.WantColor(mode, fromFlag, out)
}

// cmdConfig shows every setting's effective value and where it came from.
func cmdConfig(args []string, std stdio) error {
	f, pos, err := parseFlags("config", args, std)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{cmd: "config", msg: "config takes no arguments"}
	}
	file := f.config.File
	if file == "" {
		file = "none (./omsbook.yml, $OMSBOOK_CONFIG or the user's omsbook/config.yml)"
	}
	fmt.Fprintf(std.out, "config file: %s\n\n", file)
	tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, s := range config.Settings {
		v := f.config.Values[s.Name]
		val := v.String()
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\n", s.Name, val, v.Src, v.Where)
	}
	return tw.Flush()
}
