package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// SSHConfig is an OpenSSH client configuration (~/.ssh/config) for the settings omsbook takes
// from it: HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile and
// StrictHostKeyChecking, matched by Host patterns as ssh matches them (first value wins).
type SSHConfig struct {
	path string
	cfg  *ssh_config.Config
}

// DefaultSSHConfig is where ssh reads the user's configuration.
const DefaultSSHConfig = "~/.ssh/config"

// LoadSSHConfig reads an ssh client configuration. An empty path means the user's own, which
// may be missing (nil, nil); a path given that does not exist is an error.
func LoadSSHConfig(path string) (*SSHConfig, error) {
	given := path != ""
	if !given {
		path = DefaultSSHConfig
	}
	path = expandHome(path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !given {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w (give another with --ssh-config)", path, err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return &SSHConfig{path: path, cfg: cfg}, nil
}

// Path is the file the configuration was read from.
func (c *SSHConfig) Path() string { return c.path }

// get is the first value of key for the host alias, "" when none.
func (c *SSHConfig) get(alias, key string) string {
	v, err := c.cfg.Get(alias, key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

// Apply fills in what the inventory left unset in spec from the configuration's entries for
// the host (matched on the address the inventory gives, as ssh matches what it is given):
// the inventory wins over the file, as Ansible's variables win over ssh's configuration.
// Jump hosts are looked up too. warnings say what was read in a weaker form than written.
func (c *SSHConfig) Apply(spec Spec) (Spec, []string, error) {
	if c == nil || spec.Connection == "local" {
		return spec, nil, nil
	}
	alias := spec.Address
	if alias == "" {
		alias = spec.Name
	}
	var warnings []string
	// As ssh: the address given (the inventory's) is what Host patterns match, and a matching
	// HostName is where ssh then connects.
	if hn := c.get(alias, "HostName"); hn != "" {
		spec.Address = strings.ReplaceAll(hn, "%h", alias)
	}
	if spec.Port == 0 {
		if p := c.get(alias, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return spec, nil, fmt.Errorf("ssh config %s: Port %q of %s is no port", c.path, p, alias)
			}
			spec.Port = n
		}
	}
	if spec.User == "" {
		spec.User = c.get(alias, "User")
	}
	if spec.SSHKey == "" {
		if id := c.get(alias, "IdentityFile"); id != "" {
			spec.SSHKey = c.expandTokens(id, alias, spec)
		}
	}
	if spec.KnownHosts == "" {
		if kh := strings.Fields(c.get(alias, "UserKnownHostsFile")); len(kh) > 0 && kh[0] != "/dev/null" {
			spec.KnownHosts = c.expandTokens(kh[0], alias, spec)
		}
	}
	switch strings.ToLower(c.get(alias, "StrictHostKeyChecking")) {
	case "accept-new":
		spec.AcceptNewHostKeys = true
	case "no", "off":
		spec.AcceptNewHostKeys = true
		warnings = append(warnings, fmt.Sprintf("%s: StrictHostKeyChecking no for %s is read as accept-new: a host key that changed is still refused", c.path, alias))
	}
	if spec.Jump == "" {
		if j := c.get(alias, "ProxyJump"); j != "" && !strings.EqualFold(j, "none") {
			hops, err := c.jumpChain(j)
			if err != nil {
				return spec, nil, err
			}
			spec.Jump = hops
		}
	}
	return spec, warnings, nil
}

// jumpChain resolves each hop of a ProxyJump value ([user@]host[:port],...) through the
// configuration's entries for that host, as ssh does.
func (c *SSHConfig) jumpChain(value string) (string, error) {
	var hops []string
	for _, hop := range strings.Split(value, ",") {
		hop = strings.TrimPrefix(strings.TrimSpace(hop), "ssh://")
		user, hostport, found := strings.Cut(hop, "@")
		if !found {
			user, hostport = "", hop
		}
		host, port := hostport, ""
		if i := strings.LastIndex(hostport, ":"); i > 0 && !strings.Contains(hostport[i+1:], "]") {
			host, port = hostport[:i], hostport[i+1:]
		}
		host = strings.Trim(host, "[]")
		if host == "" {
			return "", fmt.Errorf("ssh config %s: ProxyJump %q names no host", c.path, value)
		}
		addr := host
		if hn := c.get(host, "HostName"); hn != "" {
			addr = strings.ReplaceAll(hn, "%h", host)
		}
		if port == "" {
			port = c.get(host, "Port")
		}
		if port == "" {
			port = strconv.Itoa(DefaultSSHPort)
		}
		if user == "" {
			user = c.get(host, "User")
		}
		if user == "" {
			user = currentUser()
		}
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]"
		}
		hops = append(hops, user+"@"+addr+":"+port)
	}
	return strings.Join(hops, ","), nil
}

// expandTokens expands ~ and the tokens ssh expands in file names: %d (home), %u (local
// user), %h (host), %r (remote user), %%.
func (c *SSHConfig) expandTokens(s, alias string, spec Spec) string {
	home, _ := os.UserHomeDir()
	r := strings.NewReplacer("%%", "%", "%d", home, "%u", currentUser(), "%h", alias, "%r", spec.User)
	s = r.Replace(s)
	if strings.HasPrefix(s, "~/") {
		s = filepath.Join(home, s[2:])
	}
	return s
}
