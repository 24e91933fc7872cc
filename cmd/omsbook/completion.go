package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/omsbook/omsbook/inventory"
	"github.com/omsbook/omsbook/journal"
	"github.com/omsbook/omsbook/modules/registry"
	"github.com/omsbook/omsbook/schema"
)

// commands are the sub-commands completion offers, in the order of the help.
var commands = []string{"run", "validate", "list-hosts", "list-tasks", "inventory", "doc", "schema", "report", "convert", "completion", "config", "version", "help"}

// The completion scripts ask `omsbook __complete WORDS...` for the candidates of the last word
// (the one under the cursor, maybe empty): one a line. A first line ":files" asks the shell
// to complete file names itself.
const bashCompletion = `# bash completion for omsbook: source <(omsbook completion bash)
_omsbook() {
    local cur="${COMP_WORDS[COMP_CWORD]}" out
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
    if [[ "$out" == ":files"* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
}
complete -o default -F _omsbook omsbook
`

const zshCompletion = `#compdef omsbook
# zsh completion for omsbook: omsbook completion zsh > "${fpath[1]}/_omsbook"
_omsbook() {
    local -a cands
    cands=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ "${cands[1]}" == ":files" ]]; then
        _files
        return
    fi
    compadd -- "${cands[@]}"
}
compdef _omsbook omsbook
`

const fishCompletion = `# fish completion for omsbook: omsbook completion fish > ~/.config/fish/completions/omsbook.fish
function __omsbook_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (omsbook __complete $words[2..-1] 2>/dev/null)
    if test "$out[1]" = ":files"
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $out
end
complete -c omsbook -f -a '(__omsbook_complete)'
`

func cmdCompletion(args []string, std stdio) error {
	_, pos, err := parseFlags("completion", args, std)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{cmd: "completion", msg: "say which shell: omsbook completion bash|zsh|fish"}
	}
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	s, ok := scripts[pos[0]]
	if !ok {
		return &usageError{cmd: "completion", msg: fmt.Sprintf("unknown shell %q: bash, zsh or fish", pos[0])}
	}
	fmt.Fprint(std.out, s)
	return nil
}

// cmdComplete is the hidden helper the completion scripts call: it prints the candidates for
// the last of words, one a line, those that start with it.
func cmdComplete(words []string, std stdio) error {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	for _, c := range completions(words[:len(words)-1], cur) {
		if c == ":files" || strings.HasPrefix(c, cur) {
			fmt.Fprintln(std.out, c)
		}
	}
	return nil
}

// completions are the candidates for cur after the words before it (the sub-command first).
func completions(before []string, cur string) []string {
	if len(before) == 0 {
		return commands
	}
	name := before[0]
	fs := newFlagSet(name)
	if fs == nil {
		return nil
	}
	prev := before[len(before)-1]
	if len(before) > 1 && strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") {
		if f := lookupFlag(fs, prev); f != nil && f.Value.Type() != "bool" && f.Value.Type() != "count" {
			return flagValues(name, f.Name, before)
		}
	}
	if strings.HasPrefix(cur, "-") {
		var out []string
		fs.VisitAll(func(f *pflag.Flag) {
			out = append(out, "--"+f.Name)
			if f.Shorthand != "" {
				out = append(out, "-"+f.Shorthand)
			}
		})
		return out
	}
	switch {
	case name == "doc":
		return registry.Names()
	case name == "schema":
		return schema.Kinds
	case name == "report":
		return reportRuns(before, cur)
	case name == "completion":
		return []string{"bash", "zsh", "fish"}
	case name == "help":
		return commands
	case playbookCommands[name]:
		return playbookFiles(cur)
	case name == "convert":
		return []string{":files"}
	}
	return nil
}

func lookupFlag(fs *pflag.FlagSet, word string) *pflag.Flag {
	if n, ok := strings.CutPrefix(word, "--"); ok {
		return fs.Lookup(n)
	}
	if len(word) == 2 {
		return fs.ShorthandLookup(word[1:])
	}
	return nil
}

// flagValues are the candidates for flag's value.
func flagValues(cmd, flag string, before []string) []string {
	switch flag {
	case "output":
		return []string{"text", "json"}
	case "limit", "host":
		return inventoryNames(cmd, before, flag == "limit")
	case "forks", "start-at-task", "tags", "skip-tags", "extra-vars":
		return nil
	}
	return []string{":files"}
}

// inventoryNames are the host names (and, with groups, the group names) of the -i
// inventories among the words, or else of the config's inventory; nothing when they do not
// load.
func inventoryNames(cmd string, before []string, groups bool) []string {
	fs, f := bindFlags(cmd)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	_ = fs.Parse(before[1 : len(before)-1])
	if err := f.loadConfig(cmd, fs); err != nil { // no -i: the config's inventory
		return nil
	}
	if len(f.inventories) == 0 {
		return nil
	}
	inv, err := inventory.Load(f.inventories...)
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range inv.Hosts {
		out = append(out, h.Name)
	}
	if groups {
		out = append(out, inv.GroupOrder...)
	}
	return out
}

// playbookFiles are the YAML files and the directories whose names start with cur.
func playbookFiles(cur string) []string {
	matches, _ := filepath.Glob(cur + "*")
	var out []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		switch {
		case err != nil:
		case fi.IsDir():
			out = append(out, m+string(filepath.Separator))
		case strings.HasSuffix(m, ".yml") || strings.HasSuffix(m, ".yaml"):
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// reportRuns are the candidates for report's RUN_ID: last and the runs in the journal
// directory of the words (--journal-dir), or of the config, or ./.omsbook/runs.
func reportRuns(before []string, cur string) []string {
	fs, f := bindFlags("report")
	fs.ParseErrorsAllowlist.UnknownFlags = true
	_ = fs.Parse(before[1:])
	if len(fs.Args()) > 0 {
		return playbookFiles(cur) // RUN_ID given: PLAYBOOK next
	}
	if err := f.loadConfig("report", fs); err != nil {
		return nil
	}
	dir := f.journalDir
	if dir == "" {
		dir = filepath.FromSlash(journal.DirName)
	}
	out := []string{"last"}
	names, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	sort.Sort(sort.Reverse(sort.StringSlice(names))) // the newest first
	for _, n := range names {
		out = append(out, strings.TrimSuffix(filepath.Base(n), ".jsonl"))
	}
	return out
}
