package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/omsbook/omsbook/transport"
	"github.com/omsbook/omsbook/yamlsrc"
)

// This file maps Ansible's connection variables onto a host's connection and become
// settings. The variables stay among the host's vars, as Ansible shows them. Where Ansible
// knows several names for one setting, the last of its list that is set wins, as in Ansible's
// configuration lookup (ansible_user, then ansible_ssh_user).

// The variables of each setting, in Ansible's order.
var (
	hostVarNames       = []string{"ansible_host", "ansible_ssh_host"}
	portVarNames       = []string{"ansible_port", "ansible_ssh_port"}
	userVarNames       = []string{"ansible_user", "ansible_ssh_user"}
	keyVarNames        = []string{"ansible_private_key_file", "ansible_ssh_private_key_file"}
	passwordVarNames   = []string{"ansible_password", "ansible_ssh_pass", "ansible_ssh_password"}
	becomeVarNames     = []string{"ansible_become"}
	becomeUserVarNames = []string{"ansible_become_user"}
	becomePassVarNames = []string{"ansible_become_password", "ansible_become_pass", "ansible_sudo_pass"}
	sshArgsVarNames    = []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"}
)

// ansibleSecretVars are the variables whose values are secrets: they are masked wherever
// shown.
var ansibleSecretVars = append(append([]string{}, passwordVarNames...), becomePassVarNames...)

// connVar finds the value of a setting among vars: the last of names that is set.
func connVar(vars map[string]any, names []string) (string, any, bool) {
	key, found := "", false
	for _, n := range names {
		if v, ok := vars[n]; ok && v != nil {
			key, found = n, true
		}
	}
	if !found {
		return "", nil, false
	}
	return key, vars[key], true
}

// ansibleConn sets h's connection and become settings from its variables; pos tells where
// each variable was set, for errors.
func ansibleConn(h *Host, vars map[string]any, pos map[string]yamlsrc.Pos) error {
	spec := transport.Spec{Name: h.Name, Connection: "ssh", Address: h.Name} // Port unset: ~/.ssh/config or 22
	bad := func(key, msg, fix string) error {
		return &yamlsrc.Error{Pos: pos[key], Msg: fmt.Sprintf("host %s: %s", h.Name, msg), Fix: fix}
	}
	text := func(names []string) (string, string, bool) {
		key, v, ok := connVar(vars, names)
		if !ok {
			return "", "", false
		}
		if s, isStr := v.(string); isStr {
			return key, s, true
		}
		return key, fmt.Sprint(v), true
	}
	if _, v, ok := text(hostVarNames); ok {
		spec.Address = v
	}
	if key, v, ok := connVar(vars, portVarNames); ok {
		p, isNum := wholeNumber(v)
		if !isNum || p < 1 || p > 65535 {
			return bad(key, fmt.Sprintf("%s is %s; it must be a port number", key, describe(v)), "use 1 to 65535")
		}
		spec.Port = p
	}
	if _, v, ok := text(userVarNames); ok {
		spec.User = v
	}
	if _, v, ok := text(keyVarNames); ok {
		spec.SSHKey = expandHome(v)
	}
	if _, v, ok := text(passwordVarNames); ok {
		spec.SSHPassword = v
	}
	if key, v, ok := text([]string{"ansible_connection"}); ok {
		switch strings.TrimPrefix(v, "ansible.builtin.") {
		case "local":
			spec.Connection = "local"
		case "ssh", "smart", "paramiko", "paramiko_ssh":
			spec.Connection = "ssh"
		default:
			return bad(key, fmt.Sprintf("ansible_connection is %q, which omsbook cannot use", v), "omsbook reaches hosts over ssh or runs on the controller: use ansible_connection=ssh or local")
		}
	}
	for _, key := range sshArgsVarNames {
		v, ok := vars[key].(string)
		if !ok {
			continue
		}
		o, err := sshArgs(v)
		if err != nil {
			return bad(key, fmt.Sprintf("%s: %v", key, err), "write the jump host as -o ProxyJump=user@bastion:port or -J user@bastion:port")
		}
		if o.jump != "" {
			spec.Jump = o.jump
		}
		if o.knownHosts != "" {
			spec.KnownHosts = expandHome(o.knownHosts)
		}
		spec.AcceptNewHostKeys = spec.AcceptNewHostKeys || o.acceptNew
	}
	h.Conn = spec
	h.Become, h.BecomeUser, h.BecomePassword = false, "", ""
	if key, v, ok := connVar(vars, becomeVarNames); ok {
		b, isBool := ansibleBool(v)
		if !isBool {
			return bad(key, fmt.Sprintf("%s is %s; it must be true or false", key, describe(v)), "write ansible_become=true (or yes, false, no)")
		}
		h.Become = b
	}
	if _, v, ok := text(becomeUserVarNames); ok {
		h.BecomeUser = v
	}
	if _, v, ok := text(becomePassVarNames); ok {
		h.BecomePassword = v
	}
	return nil
}

// ansibleBool reads a value as Ansible's boolean filter does: true, yes, on, y, t, 1 and
// their opposites, in any case.
func ansibleBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "y", "yes", "on", "1", "true", "t", "1.0":
			return true, true
		case "n", "no", "off", "0", "false", "f", "0.0":
			return false, true
		}
	}
	return false, false
}

// expandHome expands a leading ~; Ansible passes other relative paths to ssh as they are.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// sshOptions are what omsbook takes from extra ssh arguments.
type sshOptions struct {
	jump       string // [user@]host[:port]
	knownHosts string // -o UserKnownHostsFile=
	// acceptNew: -o StrictHostKeyChecking=accept-new (or no, which omsbook reads as
	// accept-new: a key that changed is refused whatever the option says).
	acceptNew bool
}

// jumpFromSSHArgs is sshArgs' jump host.
func jumpFromSSHArgs(args string) (string, error) {
	o, err := sshArgs(args)
	return o.jump, err
}

// sshArgs reads extra ssh arguments as ssh would for what omsbook uses: the jump host (-J
// HOST, -o ProxyJump=HOST, or a ProxyCommand of the form ssh -W %h:%p [-p PORT] [-l USER]
// [USER@]HOST), -o UserKnownHostsFile= and -o StrictHostKeyChecking=. Other options are
// left alone.
func sshArgs(args string) (sshOptions, error) {
	var o sshOptions
	words, err := shlexSplit(args)
	if err != nil {
		return o, err
	}
	jump := ""
	for i := 0; i < len(words); i++ {
		w := words[i].text
		arg := func(flag string) (string, bool) {
			if w == flag {
				if i+1 < len(words) {
					i++
					return words[i].text, true
				}
				return "", true
			}
			if strings.HasPrefix(w, flag) {
				return w[len(flag):], true
			}
			return "", false
		}
		if v, ok := arg("-J"); ok {
			if jump, err = proxyJump(v); err != nil {
				return o, err
			}
			continue
		}
		opt, ok := arg("-o")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(opt, "=")
		if k, v, found := strings.Cut(strings.TrimSpace(opt), " "); found && !strings.Contains(k, "=") {
			key, value = k, v
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "ProxyJump"):
			if jump, err = proxyJump(value); err != nil {
				return o, err
			}
		case strings.EqualFold(key, "ProxyCommand"):
			if jump, err = proxyCommand(value); err != nil {
				return o, err
			}
		case strings.EqualFold(key, "UserKnownHostsFile"):
			o.knownHosts = strings.Fields(value + " ")[0] // ssh takes the first of several
		case strings.EqualFold(key, "StrictHostKeyChecking"):
			switch strings.ToLower(value) {
			case "accept-new", "no", "off":
				o.acceptNew = true
			}
		}
	}
	o.jump = jump
	return o, nil
}

// proxyJump reads one ProxyJump value: [user@]host[:port] or ssh://[user@]host[:port].
func proxyJump(v string) (string, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "ssh://")
	switch {
	case v == "" || strings.EqualFold(v, "none"):
		return "", nil
	case strings.Contains(v, ","):
		return "", fmt.Errorf("jump %q goes through several hosts; omsbook takes one jump host", v)
	case strings.ContainsAny(v, " \t"):
		return "", fmt.Errorf("jump %q has a space in it", v)
	}
	return v, nil
}

// sshArgOptions are the ssh options that take an argument.
const sshArgOptions = "BbcDEeFIiJLlmOoPpQRSWw"

// proxyCommand reads a ProxyCommand that runs ssh -W %h:%p through a bastion.
func proxyCommand(cmd string) (string, error) {
	words, err := shlexSplit(cmd)
	if err != nil {
		return "", err
	}
	unsupported := fmt.Errorf("ProxyCommand %q is not one omsbook can follow: it understands ssh -W %%h:%%p [-p PORT] [-l USER] [USER@]BASTION", cmd)
	if len(words) == 0 || filepath.Base(words[0].text) != "ssh" {
		return "", unsupported
	}
	var user, port, dest string
	forward := false
	for i := 1; i < len(words); i++ {
		w := words[i].text
		if !strings.HasPrefix(w, "-") || len(w) < 2 {
			if dest != "" {
				return "", unsupported // a command after the destination
			}
			dest = w
			continue
		}
		flag := w[1]
		if !strings.ContainsRune(sshArgOptions, rune(flag)) {
			continue // flags without an argument (-q, -A, -T, ...)
		}
		val := w[2:]
		if val == "" && i+1 < len(words) {
			i++
			val = words[i].text
		}
		switch flag {
		case 'W':
			forward = val == "%h:%p"
		case 'p':
			port = val
		case 'l':
			user = val
		}
	}
	if !forward || dest == "" {
		return "", unsupported
	}
	jump := dest
	if user != "" && !strings.Contains(jump, "@") {
		jump = user + "@" + jump
	}
	if port != "" {
		jump += ":" + port
	}
	return proxyJump(jump)
}
