package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Host is one benchmark node as both tools address it.
type Host struct {
	Name string
	Addr string
	Port int
}

// Access is how both tools log in: the same user, key and known_hosts file.
type Access struct {
	User       string
	ClientKey  string
	KnownHosts string
}

// OmsbookInventory renders an omsbook inventory (design.md section 2) listing hosts in one
// region, "bench", with vars for every node and the variables to mask (secrets).
func OmsbookInventory(a Access, hosts []Host, vars map[string]any, secrets []string) ([]byte, error) {
	type node struct {
		Address string `yaml:"address"`
		Port    int    `yaml:"port"`
	}
	nodes := yaml.Node{Kind: yaml.MappingNode}
	for _, h := range hosts {
		var k, v yaml.Node
		k.SetString(h.Name)
		if err := v.Encode(node{Address: h.Addr, Port: h.Port}); err != nil {
			return nil, err
		}
		v.Style = yaml.FlowStyle
		nodes.Content = append(nodes.Content, &k, &v)
	}
	inv := struct {
		User       string                    `yaml:"user"`
		KnownHosts string                    `yaml:"known_hosts"`
		SSHKey     string                    `yaml:"ssh_key"`
		Vars       map[string]any            `yaml:"vars,omitempty"`
		Regions    map[string]map[string]any `yaml:"regions"`
		Secrets    []string                  `yaml:"secrets,omitempty"`
	}{a.User, a.KnownHosts, a.ClientKey, vars, map[string]map[string]any{"bench": {"nodes": &nodes}}, secrets}
	return yaml.Marshal(inv)
}

// AnsibleInventory renders an INI inventory listing hosts with their address and port; vars
// go to [all:vars].
func AnsibleInventory(hosts []Host, vars map[string]string) []byte {
	var b strings.Builder
	b.WriteString("[bench]\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "%s ansible_host=%s ansible_port=%d\n", h.Name, h.Addr, h.Port)
	}
	if len(vars) > 0 {
		b.WriteString("\n[all:vars]\n")
		for _, k := range sortedKeys(vars) {
			fmt.Fprintf(&b, "%s=%s\n", k, vars[k])
		}
	}
	return []byte(b.String())
}

// SSHConfig renders the OpenSSH client configuration Ansible and scp use (through -F, so that
// neither the machine's /etc/ssh/ssh_config nor root's ~/.ssh/config changes the comparison):
// key login, host keys verified against the same known_hosts omsbook reads, and the key
// exchange order kex (the fastest both sides support first, as omsbook does).
func SSHConfig(a Access, kex []string) []byte {
	lines := []string{
		"# written by omsbench: the ssh client settings of Ansible and scp",
		"Host *",
		"  User " + a.User,
		"  IdentityFile " + a.ClientKey,
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + a.KnownHosts,
		"  GlobalKnownHostsFile /dev/null",
		"  StrictHostKeyChecking yes",
		"  BatchMode yes",
		"  ConnectTimeout 20",
		"  ServerAliveInterval 15",
	}
	if len(kex) > 0 {
		lines = append(lines, "  KexAlgorithms "+strings.Join(kex, ","))
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// AnsibleSettings are the knobs of ansible.cfg.
type AnsibleSettings struct {
	Inventory      string
	SSHConfig      string // file from SSHConfig
	ControlPathDir string // where ControlPersist keeps its master sockets
	LocalTmp       string
	Forks          int
	Python         string // interpreter_python on the targets
}

// AnsibleConfig renders ansible.cfg with Ansible's fastest honest settings: forks, pipelining,
// ControlPersist, no fact gathering, a fixed interpreter (no discovery round trip) and host
// key checking on.
func AnsibleConfig(s AnsibleSettings) []byte {
	return []byte(fmt.Sprintf(`# written by omsbench: Ansible's fastest honest settings
[defaults]
inventory = %s
forks = %d
gathering = explicit
host_key_checking = True
interpreter_python = %s
retry_files_enabled = False
local_tmp = %s
deprecation_warnings = False
nocows = True

[ssh_connection]
pipelining = True
ssh_args = -F %s -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = %s
control_path = %%(directory)s/%%%%C
`, s.Inventory, s.Forks, s.Python, s.LocalTmp, s.SSHConfig, s.ControlPathDir))
}

// CommandPlaybook is workload 1's playbook, the same file for both tools: one play on all
// hosts with tasks separate `command: /bin/true` tasks.
func CommandPlaybook(tasks int) []byte {
	var b strings.Builder
	b.WriteString("- name: bench command\n  hosts: all\n  gather_facts: false\n  tasks:\n")
	for i := 1; i <= tasks; i++ {
		fmt.Fprintf(&b, "    - name: true %d\n      command: /bin/true\n", i)
	}
	return []byte(b.String())
}

// CopyPlaybookOmsbook copies src to <dest_dir>/<host>.bin on every host: the hosts share one
// disk, so each gets its own file.
func CopyPlaybookOmsbook(src, destDir string) []byte {
	return []byte(fmt.Sprintf(`- name: bench copy
  hosts: all
  tasks:
    - name: copy the big file
      copy:
        src: %s
        dest: "%s/{{ .inventory_hostname }}.bin"
`, yamlQuote(src), destDir))
}

// DumpPlaybookOmsbook dumps db with the mysqldump module on the controller, forced, so that
// every run dumps.
func DumpPlaybookOmsbook(db, destDir string) []byte {
	return []byte(fmt.Sprintf(`- name: bench mysqldump
  hosts: localhost
  tasks:
    - name: dump the big database
      mysqldump:
        metadb: "{{ .metadb }}"
        databases: [%s]
        dest_dir: %s
        force: true
`, db, yamlQuote(destDir)))
}

func yamlQuote(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSpace(string(b))
}

// WriteFile writes data to path, creating its directory.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
