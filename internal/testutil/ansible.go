package testutil

import (
	"path/filepath"
	"runtime"
)

// AnsibleJSONEnv is the environment that makes ansible-playbook print its whole run as one
// JSON document on stdout (plays -> tasks -> hosts -> result), through the callback plugin in
// ansible_callbacks/: the oracle tests read Ansible's results from it.
func AnsibleJSONEnv() []string {
	_, file, _, _ := runtime.Caller(0)
	return []string{
		"ANSIBLE_CALLBACK_PLUGINS=" + filepath.Join(filepath.Dir(file), "ansible_callbacks"),
		"ANSIBLE_STDOUT_CALLBACK=omsbook_json",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_LOCALHOST_WARNING=false",
	}
}
