package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/omsbook/omsbook/internal/testutil"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/omsbook/omsbook/lab/sshd"
)

// TestExamples runs each example playbook of playbooks/examples/ (the shapes ops teams write:
// roles with handlers, a rolling update behind a balancer, hardening, includes over loops,
// tags, a report assembled on the controller) the way a user would: the omsbook binary, the
// example's own Ansible INI inventory with its group_vars/ and host_vars/, and real OpenSSH
// servers at the inventory's ansible_host addresses (127.0.3.x, port 2240: no other test uses
// them). The login user and key come from a second inventory the test writes (-i access.ini),
// the host keys from ~/.ssh/known_hosts of a HOME of the test's own.
//
// Every example works only under the directory nodes_base (-e), a temp dir: the nodes log in
// as this machine's own user and change nothing outside it. For each example:
//   - a first run exits 0 and leaves the files and the pretend services' state it intends;
//   - a second run exits 0 with changed=0 for every host;
//   - --check --diff with a variable changed exits 0, shows the diff, and leaves every file
//     under nodes_base (the nodes' roots and the controller's report) exactly as it was;
//   - then what the example is about (a handler on a change, the next release rolled out,
//     drift repaired, tags selected).
//
// Run it with the others that use loopback addresses serialized:
//
//	flock /tmp/omsbook-integration.lock go test -race -count=1 -run TestExamples ./e2e/
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts real sshd nodes (run without -short)")
	}
	if err := sshd.Available(); err != nil {
		testutil.SkipOrFail(t, "sshd nodes cannot run here: %v", err)
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			e := startExample(t, ex)
			first := e.run(t, 0)
			e.wantRecap(t, first, -1)
			ex.first(t, e, first)

			second := e.run(t, 0)
			e.wantRecap(t, second, 0)
			if ex.second != nil {
				ex.second(t, e, second)
			}

			before := e.tree(t)
			check := e.run(t, 0, append([]string{"--check", "--diff"}, ex.checkArgs...)...)
			e.wantRecap(t, check, -1)
			mustHave(t, check, ex.checkWants...)
			if diff := diffTrees(before, e.tree(t)); len(diff) > 0 {
				t.Errorf("--check changed files under %s:\n%s", e.nodes, strings.Join(diff, "\n"))
			}

			if ex.more != nil {
				ex.more(t, e)
			}
		})
	}
}

// example is one example playbook and what the test expects of it.
type example struct {
	name     string // directory under playbooks/examples/
	playbook string // relative to that directory
	// first checks what the first run left; second, optionally, what the second did not undo.
	first  func(t *testing.T, e *exampleEnv, r exampleRun)
	second func(t *testing.T, e *exampleEnv, r exampleRun)
	// checkArgs change a variable for the --check --diff run; checkWants are lines its
	// output must hold.
	checkArgs  []string
	checkWants []string
	// more runs what the example is about, after the check.
	more func(t *testing.T, e *exampleEnv)
}

var examples = []example{
	{
		name:     "webstack",
		playbook: "site.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			mustHave(t, r, "RUNNING HANDLER [db : restart db]", "RUNNING HANDLER [web : reload web]")
			for _, web := range []string{"web1", "web2"} {
				conf := e.read(t, web, "etc/web.conf")
				wantIn(t, web+" web.conf", conf, "listen 8080;", "server 127.0.3.13:5432;", "root "+e.root(web)+"/www;")
				e.wantMode(t, web, "etc/app.ini", 0o600)
				wantIn(t, web+" app.ini", e.read(t, web, "etc/app.ini"), "host = 127.0.3.13", "password = s3cret-shop-db-pw")
				// The handler reloaded the web server after its configuration was written.
				e.wantFile(t, web, "run/web.reloads", "1\n")
				e.wantFile(t, web, "run/web.loaded", conf)
				e.wantFile(t, web, "log/web.log", "started\nreloaded\n")
			}
			wantIn(t, "web1 web.conf", e.read(t, "web1", "etc/web.conf"), "worker_processes 2;")
			wantIn(t, "web2 web.conf", e.read(t, "web2", "etc/web.conf"), "worker_processes 4;") // host_vars/web2.yml
			db := e.read(t, "db1", "etc/db.conf")
			wantIn(t, "db.conf", db, "listen_addresses = '127.0.3.13'", "max_connections = 200") // host_vars/db1.yml
			e.wantMode(t, "db1", "etc/db.conf", 0o640)
			wantIn(t, "db_hba.conf", e.read(t, "db1", "etc/db_hba.conf"),
				"host    shop  shop  127.0.3.11/32", "host    shop_reports  shop  127.0.3.12/32")
			e.wantDir(t, "db1", "data/shop")
			e.wantDir(t, "db1", "data/shop_reports")
			e.wantFile(t, "db1", "run/db.restarts", "1\n")
			e.wantFile(t, "db1", "run/db.loaded", db)
			e.wantFile(t, "db1", "etc/motd", "db1: shop production database\ncontact: ops@example.com\n")
		},
		second: func(t *testing.T, e *exampleEnv, r exampleRun) {
			mustLack(t, r, "RUNNING HANDLER")
			e.wantFile(t, "web1", "run/web.reloads", "1\n")
			e.wantFile(t, "db1", "run/db.restarts", "1\n")
		},
		checkArgs:  []string{"-e", "http_port=9090"},
		checkWants: []string{"-    listen 8080;", "+    listen 9090;", "RUNNING HANDLER [web : reload web]"},
		more: func(t *testing.T, e *exampleEnv) {
			// The web tier's configuration changes: both web servers reload, the database
			// does not restart.
			r := e.run(t, 0, "-e", "http_port=9090")
			mustHave(t, r, "RUNNING HANDLER [web : reload web]")
			mustLack(t, r, "RUNNING HANDLER [db : restart db]")
			for _, web := range []string{"web1", "web2"} {
				wantIn(t, web+" loaded config", e.read(t, web, "run/web.loaded"), "listen 9090;")
				e.wantFile(t, web, "run/web.reloads", "2\n")
			}
			e.wantFile(t, "db1", "run/db.restarts", "1\n")
			// The database password is secret: no run printed or recorded it.
			for _, out := range append(e.outputs, e.journals(t)) {
				if strings.Contains(out, "s3cret-shop-db-pw") {
					t.Errorf("the secret db_app_password appears in the output or the journal")
					break
				}
			}
		},
	},
	{
		name:     "rolling",
		playbook: "rolling-update.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			wantIn(t, "pool.conf", e.read(t, "lb1", "etc/pool.conf"),
				"server app1 127.0.3.22:8001", "server app2 127.0.3.23:8002", "server app3 127.0.3.24:8003")
			// serial: 1: each node left the pool and came back before the next one left.
			e.wantFile(t, "lb1", "log/lb.log", "disable app1\nenable app1\ndisable app2\nenable app2\ndisable app3\nenable app3\n")
			e.wantNoFiles(t, "lb1", "run/disabled")
			mustHave(t, r, "changed: [app1 -> lb1]", "changed: [app3 -> lb1]")
			for _, app := range []string{"app1", "app2", "app3"} {
				e.wantLink(t, app, "app/current", e.root(app)+"/app/releases/1.4.2")
				e.wantFile(t, app, "app/releases/1.4.2/VERSION", "1.4.2\n")
				e.wantFile(t, app, "run/app.version", "1.4.2\n")
				e.wantFile(t, app, "log/app.log", "restart 1.4.2\n")
			}
			wantIn(t, "app1 app.conf", e.read(t, "app1", "etc/app.conf"), "listen = 127.0.3.22:8001", "log_level = info")
			wantIn(t, "app3 app.conf", e.read(t, "app3", "etc/app.conf"), "log_level = debug") // host_vars/app3.yml
		},
		second: func(t *testing.T, e *exampleEnv, r exampleRun) {
			// Nodes on the release are never taken out of the pool.
			e.wantFile(t, "lb1", "log/lb.log", "disable app1\nenable app1\ndisable app2\nenable app2\ndisable app3\nenable app3\n")
			e.wantFile(t, "app2", "log/app.log", "restart 1.4.2\n")
		},
		checkArgs:  []string{"-e", "app_version=1.5.0"},
		checkWants: []string{"-version = 1.4.2", "+version = 1.5.0"},
		more: func(t *testing.T, e *exampleEnv) {
			// The next release, rolled for real: the old one stays for a rollback.
			e.run(t, 0, "-e", "app_version=1.5.0")
			lb := e.read(t, "lb1", "log/lb.log")
			if want := "disable app1\nenable app1\ndisable app2\nenable app2\ndisable app3\nenable app3\n"; lb != want+want {
				t.Errorf("lb.log after the second release:\n%s", lb)
			}
			for _, app := range []string{"app1", "app2", "app3"} {
				e.wantLink(t, app, "app/current", e.root(app)+"/app/releases/1.5.0")
				e.wantFile(t, app, "run/app.version", "1.5.0\n")
				e.wantFile(t, app, "log/app.log", "restart 1.4.2\nrestart 1.5.0\n")
				e.wantFile(t, app, "app/releases/1.4.2/VERSION", "1.4.2\n")
			}
		},
	},
	{
		name:     "hardening",
		playbook: "harden.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			modes := map[string]fs.FileMode{
				"etc/ssh/sshd_config.d/50-hardening.conf": 0o600,
				"etc/sysctl.d/90-hardening.conf":          0o644,
				"etc/audit/rules.d/hardening.rules":       0o640,
				"etc/issue.net":                           0o644,
				"etc/cron.allow":                          0o600,
				"etc/security/limits.d/10-hardening.conf": 0o644,
				"sbin/svcctl":                             0o755,
			}
			for _, node := range []string{"node1", "node2"} {
				for path, mode := range modes {
					e.wantMode(t, node, path, mode)
				}
				sshdConf := e.read(t, node, "etc/ssh/sshd_config.d/50-hardening.conf")
				wantIn(t, node+" sshd drop-in", sshdConf, "PermitRootLogin no", "PasswordAuthentication no", "X11Forwarding no")
				e.wantFile(t, node, "run/sshd.restarts", "1\n")
				e.wantFile(t, node, "run/sshd.loaded", sshdConf)
				e.wantFile(t, node, "run/auditd.restarts", "1\n")
				e.wantFile(t, node, "run/auditd.loaded", e.read(t, node, "etc/audit/rules.d/hardening.rules"))
				e.wantFile(t, node, "run/sysctl.applied", e.read(t, node, "etc/sysctl.d/90-hardening.conf"))
				wantIn(t, node+" banner", e.read(t, node, "etc/issue.net"), "Authorized access only.")
			}
			wantIn(t, "node1 sshd drop-in", e.read(t, "node1", "etc/ssh/sshd_config.d/50-hardening.conf"),
				"AllowTcpForwarding no", "MaxAuthTries 4", "AllowGroups ops\n")
			// node2 is the bastion: group_vars/bastion.yml, a child of servers, and host_vars/node2.yml.
			wantIn(t, "node2 sshd drop-in", e.read(t, "node2", "etc/ssh/sshd_config.d/50-hardening.conf"),
				"AllowTcpForwarding yes", "MaxAuthTries 3", "AllowGroups ops deploy\n")
			wantIn(t, "node1 sysctl", e.read(t, "node1", "etc/sysctl.d/90-hardening.conf"), "net.ipv4.ip_forward = 0", "kernel.randomize_va_space = 2")
			wantIn(t, "node2 sysctl", e.read(t, "node2", "etc/sysctl.d/90-hardening.conf"), "net.ipv4.ip_forward = 1", "kernel.randomize_va_space = 2")
			e.wantFile(t, "node1", "etc/cron.allow", "root\n")
			e.wantFile(t, "node2", "etc/cron.allow", "root\ndeploy\n")
		},
		second: func(t *testing.T, e *exampleEnv, r exampleRun) {
			mustLack(t, r, "RUNNING HANDLER")
			e.wantFile(t, "node1", "run/sshd.restarts", "1\n")
		},
		checkArgs:  []string{"-e", "ssh_max_auth_tries=2"},
		checkWants: []string{"-MaxAuthTries 4", "-MaxAuthTries 3", "+MaxAuthTries 2", "RUNNING HANDLER [restart sshd]"},
		more: func(t *testing.T, e *exampleEnv) {
			// Someone loosened a hardened file's mode on node1: the next run puts it back and
			// restarts sshd there, and only there.
			path := filepath.Join(e.root("node1"), "etc/ssh/sshd_config.d/50-hardening.conf")
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			r := e.run(t, 0)
			e.wantMode(t, "node1", "etc/ssh/sshd_config.d/50-hardening.conf", 0o600)
			e.wantFile(t, "node1", "run/sshd.restarts", "2\n")
			e.wantFile(t, "node2", "run/sshd.restarts", "1\n")
			if got := r.recap["node2"]; got != 0 {
				t.Errorf("node2 changed=%d after node1's drift was repaired, want 0", got)
			}
		},
	},
	{
		name:     "includes",
		playbook: "deploy-components.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			mustHave(t, r, "included: components/service.yml for app1", "included: components/static.yml for app2",
				"included: components/timer.yml for app2", "included: monitoring.yml for app1")
			for i, app := range []string{"app1", "app2"} {
				addr := fmt.Sprintf("127.0.3.%d", 41+i)
				for _, svc := range []struct{ name, listen string }{{"api", addr + ":9001 --workers 4"}, {"worker", addr + ":9002 --workers 2"}} {
					unit := e.read(t, app, "etc/units/"+svc.name+".service")
					wantIn(t, app+" "+svc.name+" unit", unit, "--listen "+svc.listen, "Environment=LOG_LEVEL=info")
					e.wantFile(t, app, "run/"+svc.name+".restarts", "1\n")
					e.wantFile(t, app, "run/"+svc.name+".loaded", unit)
				}
				for _, asset := range []string{"index.html", "app.css", "app.js"} {
					e.wantFile(t, app, "www/assets/"+asset, "/* assets/"+asset+", component 2 */\n")
				}
				e.wantFile(t, app, "etc/cron.d/cleanup", "# cleanup; managed by omsbook\n*/15 * * * * root find /var/tmp/shop -mtime +7 -delete\n")
				wantIn(t, app+" scrape.yml", e.read(t, app, "etc/scrape.yml"), "interval: 30s", addr+":9001  # api", addr+":9002  # worker")
			}
			// host_vars/app2.yml adds a component to app2 only.
			e.wantFile(t, "app2", "etc/cron.d/reports", "# reports; managed by omsbook\n0 6 * * * root shop-reports --daily\n")
			if _, err := os.Stat(filepath.Join(e.root("app1"), "etc/cron.d/reports")); err == nil {
				t.Error("app1 got the reports component of app2's host_vars")
			}
		},
		second: func(t *testing.T, e *exampleEnv, r exampleRun) {
			e.wantFile(t, "app1", "run/api.restarts", "1\n")
		},
		checkArgs:  []string{"-e", "service_log_level=debug"},
		checkWants: []string{"-Environment=LOG_LEVEL=info", "+Environment=LOG_LEVEL=debug"},
		more: func(t *testing.T, e *exampleEnv) {
			// The included monitoring tasks carry their include's tags (apply): skipping the tag
			// leaves them out, selecting it runs them alone.
			r := e.run(t, 0, "--skip-tags", "monitoring", "-e", "monitoring_interval=10s")
			mustLack(t, r, "write the scrape targets")
			wantIn(t, "scrape.yml", e.read(t, "app1", "etc/scrape.yml"), "interval: 30s")
			r = e.run(t, 0, "--tags", "monitoring", "-e", "monitoring_interval=10s")
			mustHave(t, r, "TASK [write the scrape targets]")
			mustLack(t, r, "write the unit of", "publish the files of")
			wantIn(t, "scrape.yml", e.read(t, "app1", "etc/scrape.yml"), "interval: 10s")
		},
	},
	{
		name:     "tags",
		playbook: "app.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			for _, app := range []string{"app1", "app2"} {
				e.wantFile(t, app, "app/VERSION", "1.0.0\n")
				e.wantFile(t, app, "cache/index", "warm\n")
				e.wantMode(t, app, "etc/app.conf", 0o640)
				wantIn(t, app+" logrotate.conf", e.read(t, app, "etc/logrotate.conf"), e.root(app)+"/log/*.log {", "rotate 14")
				e.wantFile(t, app, "run/app.pid", "")
				e.wantFile(t, app, "log/app.log", "started\n")
			}
			wantIn(t, "app1 app.conf", e.read(t, "app1", "etc/app.conf"), "threads = 8", "log_level = info")
			wantIn(t, "app2 app.conf", e.read(t, "app2", "etc/app.conf"), "threads = 16") // host_vars/app2.yml
			// Tasks tagged never did not run.
			mustLack(t, r, "back up the configuration", "archive etc/", "drop the cache", "show the node's state")
			e.wantNoFiles(t, "app1", "backups")
		},
		checkArgs:  []string{"-e", "app_log_level=debug"},
		checkWants: []string{"-log_level = info", "+log_level = debug"},
		more: func(t *testing.T, e *exampleEnv) {
			always := []string{"TASK [measure the free space on /]", "TASK [stop when the disk is nearly full]", "TASK [find out whether the application runs]"}

			// Only the configuration: the preflight (always) and the config tasks run; the
			// registered result of the template decides the reload.
			r := e.run(t, 0, "--tags", "config", "-e", "app_log_level=debug")
			wantTasks(t, r, append(always, "TASK [write the application's configuration]",
				"TASK [reload the application when its configuration changed]", "TASK [start the application]"))
			for _, app := range []string{"app1", "app2"} {
				wantIn(t, app+" app.conf", e.read(t, app, "etc/app.conf"), "log_level = debug")
				e.wantFile(t, app, "run/app.reloads", "1\n")
			}

			// Everything but the deploy: the release stays.
			r = e.run(t, 0, "--skip-tags", "deploy", "-e", "app_version=2.0.0")
			mustLack(t, r, "TASK [install the release]", "TASK [restart the application on the new release]")
			mustHave(t, r, "TASK [rotate the logs]", "TASK [create the application's directories]")
			e.wantFile(t, "app1", "app/VERSION", "1.0.0\n")
			wantIn(t, "app1 app.conf", e.read(t, "app1", "etc/app.conf"), "log_level = info")

			// never-tagged jobs run when asked for by name, with the preflight.
			r = e.run(t, 0, "--tags", "backup")
			wantTasks(t, r, append(always, "TASK [create the backup directory]", "TASK [archive etc/]", "TASK [say where the backup is]"))
			for _, app := range []string{"app1", "app2"} {
				backups, _ := filepath.Glob(filepath.Join(e.root(app), "backups", "etc-*.tar.gz"))
				if len(backups) != 1 {
					t.Fatalf("%s: backups %v, want one", app, backups)
				}
				mustHave(t, r, app+": "+backups[0])
				if names := tarNames(t, backups[0]); !contains(names, "etc/app.conf") {
					t.Errorf("%s: %s holds %v, not etc/app.conf", app, backups[0], names)
				}
			}

			r = e.run(t, 0, "--tags", "debug")
			mustHave(t, r, "app1: release 1.0.0, log level info, running: true")

			r = e.run(t, 0, "--tags", "cleanup")
			wantTasks(t, r, append(always, "TASK [drop the cache]"))
			for _, app := range []string{"app1", "app2"} {
				if _, err := os.Stat(filepath.Join(e.root(app), "cache")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: cache still there after --tags cleanup (%v)", app, err)
				}
				e.wantFile(t, app, "app/VERSION", "1.0.0\n")
			}
		},
	},
	{
		name:     "report",
		playbook: "fleet-report.yml",
		first: func(t *testing.T, e *exampleEnv, r exampleRun) {
			me, err := user.Current()
			if err != nil {
				t.Fatal(err)
			}
			report := e.readController(t, "reports/estate.md")
			rows := []string{}
			for _, n := range []struct{ host, tier, release string }{
				{"web1", "web", "shop-web 2.3.1"}, {"web2", "web", "shop-web 2.3.1"}, {"db1", "database", "postgresql 15.4"},
			} {
				conf := e.read(t, n.host, "etc/app.conf")
				sum := sha256.Sum256([]byte(conf))
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %d |",
					n.host, n.tier, n.release, kernel(t), me.Username, hex.EncodeToString(sum[:])[:12], len(conf)))
				// fetch brought every node's configuration to the controller.
				if got := e.readController(t, "reports/configs/"+n.host+".conf"); got != conf {
					t.Errorf("fetched %s.conf = %q, the node has %q", n.host, got, conf)
				}
			}
			wantIn(t, "estate.md", report, append(rows, "# Production estate\n", "3 nodes, gathered by omsbook.",
				"Releases in use: postgresql 15.4, shop-web 2.3.1.", "The nodes run 2 different app.conf files.")...)
			// The report was written once, on the controller, on behalf of the first host.
			mustHave(t, r, "changed: [web1 -> localhost]")
			mustLack(t, r, "[web2 -> localhost]", "[db1 -> localhost]")
		},
		checkArgs:  []string{"-e", "report_title=Estate on Monday"},
		checkWants: []string{"-# Production estate", "+# Estate on Monday"},
	},
}

// exampleEnv is one example's sshd nodes and the files a run is given.
type exampleEnv struct {
	ex      example
	dir     string // the example's directory in the repository
	hosts   []string
	nodes   string // nodes_base: every node's root and the controller's files are under it
	access  string // the inventory with the login user and key
	home    string // HOME for omsbook: its .ssh/known_hosts lists the nodes' host keys
	journal string
	outputs []string // the output of every run so far
}

// exampleRun is one omsbook run: its exit code, its output and the changed= of each host in
// the recap.
type exampleRun struct {
	code   int
	output string
	recap  map[string]int
}

// startExample starts one sshd node per host of the example's inventory, at the host's
// ansible_host and ansible_port, and writes what a run needs.
func startExample(t *testing.T, ex example) *exampleEnv {
	t.Helper()
	e := &exampleEnv{ex: ex, dir: filepath.Join(repoRoot, "playbooks", "examples", ex.name)}
	tmp := t.TempDir()
	e.nodes = filepath.Join(tmp, "nodes")
	e.home = filepath.Join(tmp, "home")
	e.journal = filepath.Join(tmp, "journal")
	e.access = filepath.Join(tmp, "access.ini")
	for _, d := range []string{e.nodes, filepath.Join(e.home, ".ssh")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}

	hosts, port := inventoryHosts(t, e.dir)
	var addrs []string
	for name, addr := range hosts {
		e.hosts = append(e.hosts, name)
		addrs = append(addrs, addr)
	}
	sort.Strings(e.hosts)
	sort.Strings(addrs)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sshd.Start(ctx, sshd.Config{Dir: filepath.Join(tmp, "sshd"), Addrs: addrs, Port: port, User: me.Username, NamePrefix: ex.name})
	if err != nil {
		t.Fatalf("start sshd nodes on %v port %d: %v", addrs, port, err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	known, err := os.ReadFile(c.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.home, ".ssh", "known_hosts"), string(known))
	writeFile(t, e.access, fmt.Sprintf("# how the test logs in to its sshd nodes\n[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", c.User, c.ClientKey))
	return e
}

// inventoryHosts reads the example's inventory as omsbook does (inventory --list) and returns
// the ansible_host of every host and their ansible_port, which must be one for all.
func inventoryHosts(t *testing.T, dir string) (map[string]string, int) {
	t.Helper()
	cmd := exec.Command(omsbookBin, "inventory", "-i", "inventory/hosts.ini", "--list")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("omsbook inventory --list in %s: %v", dir, err)
	}
	var inv struct {
		Meta struct {
			Hostvars map[string]struct {
				Host string `json:"ansible_host"`
				Port int    `json:"ansible_port"`
			} `json:"hostvars"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(out, &inv); err != nil {
		t.Fatalf("inventory --list: %v\n%s", err, out)
	}
	hosts := map[string]string{}
	port := 0
	for name, hv := range inv.Meta.Hostvars {
		if !strings.HasPrefix(hv.Host, "127.0.3.") {
			t.Fatalf("host %s has ansible_host %q: the examples' nodes live on 127.0.3.x", name, hv.Host)
		}
		if port != 0 && hv.Port != port {
			t.Fatalf("host %s has ansible_port %d, another host %d: the test starts every node on one port", name, hv.Port, port)
		}
		port = hv.Port
		hosts[name] = hv.Host
	}
	if len(hosts) == 0 {
		t.Fatalf("the inventory of %s has no hosts:\n%s", dir, out)
	}
	return hosts, port
}

// run runs the example's playbook as a user would, from the example's directory, and wants
// the exit code.
func (e *exampleEnv) run(t *testing.T, wantCode int, args ...string) exampleRun {
	t.Helper()
	full := append([]string{"run", e.ex.playbook, "-i", "inventory/hosts.ini", "-i", e.access,
		"-e", "nodes_base=" + e.nodes, "--journal-dir", e.journal}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, omsbookBin, full...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := exitCode(t, err, full)
	e.outputs = append(e.outputs, out.String())
	r := exampleRun{code: code, output: out.String(), recap: parseRecap(out.String())}
	if code != wantCode {
		t.Fatalf("omsbook %s: exit %d, want %d (%s)\n%s", strings.Join(args, " "), code, wantCode, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Logf("omsbook run %s %s: exit %d in %s", e.ex.playbook, strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return r
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

func parseRecap(out string) map[string]int {
	recap := map[string]int{}
	for _, m := range recapLine.FindAllStringSubmatch(out, -1) {
		var changed int
		fmt.Sscan(m[2], &changed)
		recap[m[1]] = changed
	}
	return recap
}

// wantRecap wants every host of the inventory in the recap, none failed or unreachable, and
// with changed equal to wantChanged unless that is -1.
func (e *exampleEnv) wantRecap(t *testing.T, r exampleRun, wantChanged int) {
	t.Helper()
	for _, h := range e.hosts {
		changed, ok := r.recap[h]
		switch {
		case !ok:
			t.Errorf("host %s is not in the recap:\n%s", h, r.output)
		case wantChanged >= 0 && changed != wantChanged:
			t.Errorf("host %s: changed=%d, want %d:\n%s", h, changed, wantChanged, r.output)
		}
	}
	for _, m := range recapLine.FindAllStringSubmatch(r.output, -1) {
		if m[3] != "0" || m[4] != "0" {
			t.Errorf("recap: %s", m[0])
		}
	}
}

// root is a node's root directory.
func (e *exampleEnv) root(node string) string { return filepath.Join(e.nodes, node) }

func (e *exampleEnv) read(t *testing.T, node, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.root(node), path))
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
	return string(b)
}

func (e *exampleEnv) readController(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.nodes, "controller", path))
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	return string(b)
}

// wantFile wants a node's file to hold exactly want; "" only wants it to exist.
func (e *exampleEnv) wantFile(t *testing.T, node, path, want string) {
	t.Helper()
	got := e.read(t, node, path)
	if want != "" && got != want {
		t.Errorf("%s: %s is %q, want %q", node, path, got, want)
	}
}

func (e *exampleEnv) wantMode(t *testing.T, node, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(e.root(node), path))
	if err != nil {
		t.Errorf("%s: %v", node, err)
		return
	}
	if got := fi.Mode().Perm(); got != want || !fi.Mode().IsRegular() {
		t.Errorf("%s: %s has mode %v, want a regular file with %v", node, path, fi.Mode(), want)
	}
}

func (e *exampleEnv) wantDir(t *testing.T, node, path string) {
	t.Helper()
	if fi, err := os.Stat(filepath.Join(e.root(node), path)); err != nil || !fi.IsDir() {
		t.Errorf("%s: %s is no directory (%v)", node, path, err)
	}
}

func (e *exampleEnv) wantLink(t *testing.T, node, path, target string) {
	t.Helper()
	got, err := os.Readlink(filepath.Join(e.root(node), path))
	if err != nil || got != target {
		t.Errorf("%s: %s links to %q (%v), want %q", node, path, got, err, target)
	}
}

// wantNoFiles wants a node's directory empty or missing.
func (e *exampleEnv) wantNoFiles(t *testing.T, node, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.root(node), dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Error(err)
	}
	if len(entries) > 0 {
		t.Errorf("%s: %s holds %d entries, want none", node, dir, len(entries))
	}
}

// journals returns the text of every journal the example's runs wrote.
func (e *exampleEnv) journals(t *testing.T) string {
	t.Helper()
	var all strings.Builder
	_ = filepath.WalkDir(e.journal, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			all.Write(b)
		}
		return nil
	})
	return all.String()
}

// tree describes every file, directory and link under nodes_base: type, mode, and content
// hash or link target, so that a --check that wrote, created, removed or chmod-ed anything
// shows.
func (e *exampleEnv) tree(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(e.nodes, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += fmt.Sprintf(" %d %s", len(b), hex.EncodeToString(sum[:]))
		}
		out[path] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: new %q", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// wantTasks wants the run to have run exactly these tasks, in this order.
func wantTasks(t *testing.T, r exampleRun, want []string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(r.output, "\n") {
		if strings.HasPrefix(line, "TASK [") {
			got = append(got, line[:strings.Index(line, "]")+1])
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tasks run:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func mustHave(t *testing.T, r exampleRun, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.output, w) {
			t.Errorf("output lacks %q:\n%s", w, r.output)
		}
	}
}

func mustLack(t *testing.T, r exampleRun, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(r.output, u) {
			t.Errorf("output has %q:\n%s", u, r.output)
		}
	}
}

func wantIn(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tarNames lists the entries of a .tar.gz.
func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		names = append(names, h.Name)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kernel is what uname -sr prints here (the nodes are this machine).
func kernel(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
