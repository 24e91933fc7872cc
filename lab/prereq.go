package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// requirement is a program the lab needs and the Debian package that ships it.
type requirement struct {
	paths   []string // absolute paths, or names looked up in PATH
	pkg     string
	purpose string
}

var requirements = []requirement{
	{[]string{"/usr/sbin/sshd"}, "openssh-server", "the nodes' sshd"},
	{[]string{"ssh-keygen"}, "openssh-client", "host and client keys"},
	{[]string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}, "mariadb-server", "the MetaDB"},
	{[]string{"mysql", "mariadb"}, "mariadb-client", "the playbooks' MetaDB client"},
	{[]string{"mysqldump", "mariadb-dump"}, "mariadb-client", "the playbooks' backups"},
	{[]string{"/bin/busybox", "/usr/bin/busybox"}, "busybox-static", "the images' /bin/sh and tools"},
	{[]string{"/bin/bash-static", "/usr/bin/bash-static"}, "bash-static", "the images' bash"},
	{[]string{"unshare"}, "util-linux", "a clean login environment per sshd"},
}

// missingPackages lists the Debian packages whose programs are missing, sorted.
func missingPackages() []string {
	set := map[string]bool{}
	for _, r := range requirements {
		if !haveAny(r.paths) {
			set[r.pkg] = true
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func haveAny(paths []string) bool {
	for _, p := range paths {
		if filepath.IsAbs(p) {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return true
			}
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return true
		}
	}
	return false
}

// Prerequisites returns nil when this machine can run a lab, installing missing Debian
// packages with lab/deps.sh when it runs as root; otherwise an error that says exactly what is
// missing and how to get it. moduleRoot is the source tree holding lab/deps.sh ("" to use the
// tree this package was compiled from).
func Prerequisites(ctx context.Context, moduleRoot string) error {
	if os.Geteuid() != 0 {
		return errors.New("lab: not root: the lab starts sshd servers, MariaDB and privileged containers; run it as root (e.g. sudo make lab-up)")
	}
	if missing := missingPackages(); len(missing) > 0 {
		if moduleRoot == "" {
			moduleRoot = filepath.Clean(moduleRootOrCwd())
		}
		deps := filepath.Join(moduleRoot, "lab", "deps.sh")
		if _, err := os.Stat(deps); err != nil {
			return fmt.Errorf("lab: missing Debian packages %s, and %s is not there to install them: apt-get install -y %s",
				strings.Join(missing, ", "), deps, strings.Join(missing, " "))
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(cctx, "bash", deps).CombinedOutput()
		if err != nil {
			return fmt.Errorf("lab: missing Debian packages %s, and %s could not install them (%w):\n%s",
				strings.Join(missing, ", "), deps, err, bytes.TrimSpace(out))
		}
		if still := missingPackages(); len(still) > 0 {
			return fmt.Errorf("lab: Debian packages %s are still missing after %s: apt-get install -y %s",
				strings.Join(still, ", "), deps, strings.Join(still, " "))
		}
	}
	return dockerAvailable(ctx)
}

// dockerAvailable checks that the docker client is installed and the engine answers.
func dockerAvailable(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("lab: the docker client is not installed (Debian package docker.io, or Docker's docker-ce-cli) and the lab runs its OMS containers with it")
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: no Docker Engine answers (is dockerd running?): docker version: %s: %w", strings.TrimSpace(string(out)), err)
	}
	return nil
}

func moduleRootOrCwd() string {
	if r := moduleRoot(); r != "" {
		return r
	}
	wd, _ := os.Getwd()
	return wd
}
