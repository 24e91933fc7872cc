package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/omsbook/omsbook/lab/images"
	"github.com/omsbook/omsbook/lab/mariadb"
	"github.com/omsbook/omsbook/lab/omssim"
	"github.com/omsbook/omsbook/lab/sshd"
)

// healthTimeout bounds how long a fresh container may take to report healthy.
const healthTimeout = 60 * time.Second

// Up brings up the lab cfg describes and returns it. When the same lab is already up and
// healthy it is reused; a lab left from another configuration or half up is torn down and
// brought up afresh. When Up fails, it stops what it had started.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	start := time.Now()
	l, err := Plan(cfg)
	if err != nil {
		return nil, err
	}
	l.log = cfg.Log
	if err := Prerequisites(ctx, l.Config.ModuleRoot); err != nil {
		return nil, err
	}
	unlock, err := lockInstance(ctx, l.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if old, err := Load(l.Dir); err == nil {
		old.log = cfg.Log
		if sameConfig(old.Config, l.Config) {
			err := old.Check(ctx)
			if err == nil {
				old.logf("already up and healthy; reusing it")
				if err := old.writeInventory(); err != nil {
					return nil, err
				}
				return old, nil
			}
			old.logf("up but not healthy (%v); replacing it", err)
		} else {
			old.logf("up with another configuration; replacing it")
		}
		if err := old.down(ctx); err != nil {
			return nil, fmt.Errorf("lab %s: tear down the previous lab before replacing it: %w", l.Name, err)
		}
	}
	if err := l.up(ctx); err != nil {
		// Stop what was started, with a fresh context: ctx may be what ended Up.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if derr := l.down(dctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("and tearing the half-built lab down failed: %w", derr))
		}
		return nil, err
	}
	l.logf("up in %s: %d node(s), inventory %s", since(start), len(l.Nodes), l.InventoryPath)
	return l, nil
}

func (l *Lab) up(ctx context.Context) error {
	// A lab without state may still have left containers with its names (an Up killed before
	// its first save): they are this instance's by name and label.
	if err := l.removeOwnContainers(ctx); err != nil {
		return err
	}
	// A fresh deploy starts with empty mounts and configs: data or fault files left by an
	// interrupted lab must not leak into this one. The sshd directory stays, so host keys
	// (and the known_hosts users may have copied) survive a redeploy.
	for _, sub := range []string{"nodes", "regions", "backups", "docker-argv.log"} {
		if err := os.RemoveAll(filepath.Join(l.Dir, sub)); err != nil {
			return fmt.Errorf("lab %s: clear %s: %w", l.Name, sub, err)
		}
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("lab %s: create state directory: %w", l.Name, err)
	}
	if err := l.save(); err != nil {
		return err
	}

	// MariaDB, the sshd nodes and the images do not depend on each other: start them at once.
	var wg sync.WaitGroup
	var dbErr, sshErr, imgErr error
	wg.Add(3)
	go func() {
		defer wg.Done()
		t := time.Now()
		if dbErr = l.setupMetaDB(ctx); dbErr == nil {
			l.logf("MetaDB ready on %s:%d, databases %v (%s)", l.MetaDB.Host, l.MetaDB.Port, l.DB.All(), since(t))
		}
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		if sshErr = l.startSSH(ctx); sshErr == nil {
			l.logf("sshd up on %d node(s), port %d (%s)", len(l.Nodes), l.SSHPort, since(t))
		}
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		var res *images.Result
		res, imgErr = images.Build(ctx, images.Options{StateDir: l.Config.RootDir, PackageDir: l.PackageDir, ModuleRoot: l.Config.ModuleRoot})
		if imgErr == nil {
			for _, v := range []string{l.Version, l.NewVersion} {
				if res.Image(v) == nil {
					imgErr = fmt.Errorf("lab: images.Build did not build %s", images.Tag(v))
				}
			}
			l.logf("images ready: %s and %s, packages in %s (%s)", images.Tag(l.Version), images.Tag(l.NewVersion), l.PackageDir, since(t))
		}
		if imgErr == nil {
			if l.Privileged = privilegedAllowed(ctx, images.Tag(l.Version)); !l.Privileged {
				l.logf("this Docker Engine refuses privileged containers: the docker recorder drops --privileged=true from the containers it starts")
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(dbErr, sshErr, imgErr); err != nil {
		return err
	}
	if err := l.save(); err != nil {
		return err
	}

	if err := l.writeFiles(); err != nil {
		return err
	}
	t := time.Now()
	if err := l.startContainers(ctx); err != nil {
		return err
	}
	l.logf("containers healthy (%s)", since(t))
	t = time.Now()
	rows, err := l.seed(ctx)
	if err != nil {
		return err
	}
	l.logf("seeded %d MetaDB rows (%s)", rows, since(t))
	if l.Config.WithoutOMSVersionTable {
		if err := l.dropOMSVersion(ctx); err != nil {
			return err
		}
		l.logf("dropped %s.oms_version (the guide's \"Version before 4.1.1\" case)", l.DB.RM)
	}
	if err := l.writeInventory(); err != nil {
		return err
	}
	return l.save()
}

// setupMetaDB makes sure MariaDB runs and creates this instance's databases afresh.
func (l *Lab) setupMetaDB(ctx context.Context) error {
	ensure := mariadb.Ensure
	if l.Config.OwnMetaDBPort != 0 {
		ensure = func(ctx context.Context) (*mariadb.Server, error) {
			return mariadb.EnsureAt(ctx, l.Dir, l.Config.OwnMetaDBPort)
		}
	}
	srv, err := ensure(ctx)
	if err != nil {
		return err
	}
	l.MariaDBStarted = srv.Started
	db, err := srv.Open(ctx, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, name := range l.DB.All() {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			return fmt.Errorf("lab %s: drop old database %s: %w", l.Name, name, err)
		}
		if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"` DEFAULT CHARACTER SET utf8mb4"); err != nil {
			return fmt.Errorf("lab %s: create database %s: %w", l.Name, name, err)
		}
	}
	return nil
}

// startSSH starts one sshd per node and records their pids.
func (l *Lab) startSSH(ctx context.Context) error {
	addrs := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		addrs[i] = n.IP
	}
	c, err := sshd.Start(ctx, sshd.Config{Dir: filepath.Join(l.Dir, "sshd"), Addrs: addrs, Port: l.SSHPort, User: "root"})
	if err != nil {
		return fmt.Errorf("lab %s: start the nodes' sshd: %w", l.Name, err)
	}
	l.cluster = c
	for i, n := range l.Nodes {
		cn := c.Nodes[i]
		n.SSHPid = cn.Pid()
		n.SSHConfig = filepath.Join(cn.Dir, "sshd_config")
	}
	l.KnownHosts, l.ClientKey = c.KnownHosts, c.ClientKey
	return l.save()
}

// writeFiles writes the config files and creates the nodes' mount directories.
func (l *Lab) writeFiles() error {
	for _, r := range l.Regions {
		content := []byte(l.ConfigYAML(r))
		if r.SharedConfig {
			if err := writeFile(r.ConfigFile, content); err != nil {
				return err
			}
		}
		for _, n := range l.RegionNodes(r.Name) {
			for _, sub := range []string{"logs", "store", "run"} {
				if err := os.MkdirAll(filepath.Join(n.MountDir, sub), 0o755); err != nil {
					return fmt.Errorf("lab %s: create mount directory: %w", l.Name, err)
				}
			}
			if err := writeFile(filepath.Join(n.MountDir, "run", omssim.ProfileFileName), []byte(l.ProfileLine())); err != nil {
				return err
			}
			if l.Config.SSLMounts {
				for _, f := range []string{"https_crt", "https_key"} {
					if err := writeFile(filepath.Join(n.MountDir, f), []byte("lab "+f+" of "+n.Name+"\n")); err != nil {
						return err
					}
				}
			}
			if !r.SharedConfig {
				if err := writeFile(n.ConfigFile, content); err != nil {
					return err
				}
			}
		}
	}
	return l.writeRecorder()
}

func writeFile(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("lab: create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return fmt.Errorf("lab: write %s: %w", path, err)
	}
	return nil
}

// writeInventory writes the inventory file.
func (l *Lab) writeInventory() error {
	return writeFile(l.InventoryPath, []byte(l.InventoryYAML()))
}

// startContainers starts the old containers and waits until each is healthy. The first node
// goes first, alone, so that one simulator initialises the fresh schema; the rest start in
// parallel.
func (l *Lab) startContainers(ctx context.Context) error {
	if err := l.startContainer(ctx, l.Nodes[0]); err != nil {
		return err
	}
	rest := l.Nodes[1:]
	errs := make([]error, len(rest))
	var wg sync.WaitGroup
	for i, n := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.startContainer(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Lab) startContainer(ctx context.Context, n *Node) error {
	id, err := l.runRecorded(ctx, l.runArgs(n)...)
	if err != nil {
		return fmt.Errorf("lab %s: start container %s on %s: %w", l.Name, n.OldContainer, n.Name, err)
	}
	// Nodes start in parallel and save() encodes them all: the id is written under its lock.
	l.saveMu.Lock()
	n.ContainerID = id
	l.saveMu.Unlock()
	if err := l.save(); err != nil {
		return err
	}
	return l.waitHealthy(ctx, n, n.OldContainer, l.healthTimeout())
}

// waitHealthy waits until the node's /oms/health says healthy, failing early when the
// container stops.
func (l *Lab) waitHealthy(ctx context.Context, n *Node, container string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	var lastStateCheck time.Time
	for {
		h, err := l.Health(ctx, n.Name)
		switch {
		case err == nil && h.Healthy:
			return nil
		case err == nil:
			last = fmt.Sprintf("unhealthy, status %q", h.Status)
		default:
			last = err.Error()
		}
		if time.Since(lastStateCheck) > time.Second {
			lastStateCheck = time.Now()
			if st := containerState(ctx, container); st != "running" {
				return fmt.Errorf("lab %s: container %s on %s is %q, not running; its last output:\n%s",
					l.Name, container, n.Name, st, containerLogs(context.WithoutCancel(ctx), container))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab %s: container %s on %s not healthy within %s (last: %s); its last output:\n%s",
				l.Name, container, n.Name, timeout, last, containerLogs(context.WithoutCancel(ctx), container))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeOwnContainers removes every container of this instance: those bearing its label or one
// of its node container names, those started through its docker recorder by name (the
// playbooks' throw-away oms-config-tool-* among them), and those mounting a path of its state
// directory (the new containers, whatever their names, e.g. the ones the V4.1.0 deploy script
// names itself).
func (l *Lab) removeOwnContainers(ctx context.Context) error {
	refs, err := labContainers(ctx, l.Name)
	if err != nil {
		return fmt.Errorf("lab %s: list its containers: %w", l.Name, err)
	}
	for _, n := range l.Nodes {
		refs = append(refs, n.ContainerID, n.OldContainer, n.NewContainer)
		// A container another tool named (the V4.1.0 path's deploy script picks its own
		// name) is the lab's when it mounts a node's logs directory.
		ids, err := docker(ctx, "ps", "-a", "-q", "--no-trunc", "--filter", "volume="+filepath.Join(n.MountDir, "logs"))
		if err != nil {
			return fmt.Errorf("lab %s: list the containers that mount %s: %w", l.Name, n.MountDir, err)
		}
		refs = append(refs, strings.Fields(ids)...)
	}
	refs = append(refs, l.recordedNames()...)
	mounting, err := containersMounting(ctx, l.Dir)
	if err != nil {
		return fmt.Errorf("lab %s: list the containers mounting its directories: %w", l.Name, err)
	}
	return removeContainers(ctx, append(refs, mounting...))
}
