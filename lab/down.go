package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/omsbook/omsbook/lab/mariadb"
)

// Down stops everything the lab started, by recorded id: its containers (old ones, and any
// container with the lab's old or new container names or its label) are removed, its sshd
// nodes stopped, its databases dropped, and its state directory removed. MariaDB itself keeps
// running (see mariadb.Stop). The inventory of the default lab, inventories/lab.yml, is kept:
// it is committed and describes the default lab whether it is up or not.
func (l *Lab) Down(ctx context.Context) error {
	unlock, err := lockInstance(ctx, l.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	return l.down(ctx)
}

func (l *Lab) down(ctx context.Context) error {
	var errs []error
	if err := l.removeOwnContainers(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := l.stopAllSSH(); err != nil {
		errs = append(errs, err)
	}
	if err := l.dropDatabases(ctx); err != nil {
		errs = append(errs, err)
	}
	if l.Config.OwnMetaDBPort != 0 {
		if err := mariadb.StopAt(ctx, l.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	// What the lab started is gone now; a port still open is someone else's (or a process
	// not yet reaped), which is worth a word but must not keep the lab's state alive.
	if err := l.waitPortsClosed(ctx); err != nil {
		l.logf("warning: %v", err)
	}
	if len(errs) > 0 {
		// Keep the state so that another Down can finish the job.
		return errors.Join(errs...)
	}
	if l.InventoryPath != "" && l.Name != DefaultName && !strings.HasPrefix(l.InventoryPath, l.Dir+string(filepath.Separator)) {
		_ = os.Remove(l.InventoryPath)
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		return fmt.Errorf("lab %s: remove state directory %s: %w", l.Name, l.Dir, err)
	}
	l.logf("down")
	return nil
}

// stopAllSSH stops every node's sshd.
func (l *Lab) stopAllSSH() error {
	var errs []error
	for _, n := range l.Nodes {
		if err := l.stopSSH(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopSSH stops a node's sshd: through the cluster when Up ran in this process, otherwise by
// its recorded pid, and only while that pid still runs this node's sshd_config.
func (l *Lab) stopSSH(n *Node) error {
	if l.cluster != nil {
		for i, cn := range l.cluster.Nodes {
			if cn.Addr == n.IP {
				if err := l.cluster.StopNode(i); err != nil {
					return err
				}
				n.SSHPid = 0
				return nil
			}
		}
	}
	if n.SSHPid == 0 || !pidRuns(n.SSHPid, n.SSHConfig) {
		n.SSHPid = 0
		return nil
	}
	pid := n.SSHPid
	// Its connection handlers and their shells first, then its process group and itself.
	for _, p := range descendants(pid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for pidRuns(pid, n.SSHConfig) {
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: sshd of %s (pid %d) survived SIGKILL", l.Name, n.Name, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.SSHPid = 0
	return nil
}

// pidRuns reports whether pid is alive (not a zombie) and its command line contains marker.
func pidRuns(pid int, marker string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || (marker != "" && !bytes.Contains(cmdline, []byte(marker))) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// descendants lists the processes below pid, deepest first.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		end := bytes.LastIndexByte(b, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			walk(c)
			out = append(out, c)
		}
	}
	walk(pid)
	return out
}

// dropDatabases drops this instance's databases. When no MariaDB answers there is nothing to
// drop now: the next Up of this instance recreates its databases anyway.
func (l *Lab) dropDatabases(ctx context.Context) error {
	if l.MetaDB.Host == "" {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := l.MetaDBServer().Open(dctx, "")
	if err != nil {
		l.logf("MetaDB not reachable (%v); its databases were not dropped", err)
		return nil
	}
	defer db.Close()
	var errs []error
	for _, name := range l.DB.All() {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			errs = append(errs, fmt.Errorf("lab %s: drop database %s: %w", l.Name, name, err))
		}
	}
	return errors.Join(errs...)
}

// waitPortsClosed waits until nothing listens on the nodes' sshd, console (8089) and cluster
// manager (8088) ports any more.
func (l *Lab) waitPortsClosed(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		open := l.OpenPorts(ctx)
		if len(open) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: still listening after teardown: %s", l.Name, strings.Join(open, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab %s: waiting for its ports to close: %w", l.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// OpenPorts lists the lab's node addresses that accept connections: each node's sshd port,
// 8088 and 8089.
func (l *Lab) OpenPorts(ctx context.Context) []string {
	var open []string
	for _, n := range l.Nodes {
		for _, port := range []int{l.SSHPort, 8088, 8089} {
			addr := net.JoinHostPort(n.IP, strconv.Itoa(port))
			d := net.Dialer{Timeout: 300 * time.Millisecond}
			if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
				c.Close()
				open = append(open, addr)
			}
		}
	}
	return open
}

// Instances lists the state directories of the labs under root (each holds a state.json).
func Instances(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: list labs in %s: %w", root, err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(d, stateFile)); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// DownAll tears down every lab under root ("" for mariadb.StateDir()) and then stops the
// MariaDB server the lab started under root, if any. It is `omslab down --all`.
func DownAll(ctx context.Context, root string) error {
	if root == "" {
		root = mariadb.StateDir()
	}
	dirs, err := Instances(root)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dirs {
		l, err := Load(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := l.Down(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := mariadb.StopAt(ctx, root); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
