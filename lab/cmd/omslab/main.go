// Command omslab brings the omsbook lab up and down: `make lab-up`, `make lab-down` and
// `make lab-status` run it.
//
//	omslab up [--version 4.2.2|4.1.0] [--regions hangzhou=2,shanghai=1] [--no-oms-version]
//	          [--per-node-config] [--name NAME] [--first-ip IP] [--ssh-port N] [--seed-rows N]
//	          [--profile default|strict] [--strict-startup 8s]
//	omslab down [--name NAME] [--all]
//	omslab status [--name NAME]
//	omslab inventory [same flags as up]   # writes the inventory without starting anything
//
// The lab state lives under $OMSBOOK_LAB_DIR (default /var/tmp/omsbook-lab). Exit status: 0
// done, 1 failed (what is missing or broken is said on stderr), 2 bad usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/omsbook/omsbook/lab"
	"github.com/omsbook/omsbook/lab/mariadb"
)

const usage = `usage:
  omslab up [--version 4.2.2|4.1.0] [--regions hangzhou=2,shanghai=1] [--no-oms-version]
            [--per-node-config] [--name NAME] [--first-ip IP] [--ssh-port N] [--seed-rows N]
            [--profile default|strict] [--strict-startup 8s]
  omslab down [--name NAME] [--all]
  omslab status [--name NAME]
  omslab inventory [flags of up]
The lab's state lives under $OMSBOOK_LAB_DIR (default /var/tmp/omsbook-lab).
`

// errUsage marks bad command lines (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "omslab: %v\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "omslab: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, args := args[0], args[1:]
	fs := pflag.NewFlagSet("omslab "+cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", lab.DefaultName, "lab instance name")
	switch cmd {
	case "up", "inventory":
		version := fs.String("version", lab.Version422, "version to deploy: 4.2.2 or 4.1.0")
		regions := fs.String("regions", "hangzhou=2,shanghai=1", "regions and node counts")
		noVersion := fs.Bool("no-oms-version", false, "drop rm's oms_version table (the guide's \"Version before 4.1.1\" case)")
		perNode := fs.Bool("per-node-config", false, "one config.yaml per node instead of one per region")
		firstIP := fs.String("first-ip", "127.0.0.11", "first node's loopback address")
		sshPort := fs.Int("ssh-port", 2222, "sshd port of every node")
		seedRows := fs.Int("seed-rows", 3000, "about how many MetaDB rows to seed")
		profile := fs.String("profile", "default", "the OMS simulator's profile: default or strict (only confirmed behaviour)")
		startup := fs.Duration("strict-startup", 0, "strict profile: how long the console takes to start (default 8s)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *profile == "default" {
			*profile = ""
		}
		if *profile != "" && *profile != "strict" {
			return fmt.Errorf("%w: --profile %q: want default or strict", errUsage, *profile)
		}
		if *startup != 0 && *profile == "" {
			return fmt.Errorf("%w: --strict-startup needs --profile strict", errUsage)
		}
		rs, err := lab.ParseRegions(*regions)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		cfg := lab.Config{
			Name: *name, Regions: rs, FirstIP: *firstIP, SSHPort: *sshPort, StartVersion: *version,
			WithoutOMSVersionTable: *noVersion, SeedRows: *seedRows, PerNodeConfig: *perNode, Log: stderr,
			Profile: *profile, StrictStartup: *startup,
		}
		if cmd == "inventory" {
			l, err := lab.Plan(cfg)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(l.InventoryPath), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(l.InventoryPath, []byte(l.InventoryYAML()), 0o644); err != nil {
				return err
			}
			fmt.Fprintln(stdout, l.InventoryPath)
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		l, err := lab.Up(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab %s is up: %d node(s); inventory: %s\n", l.Name, len(l.Nodes), l.InventoryPath)
		return nil
	case "down":
		all := fs.Bool("all", false, "tear down every lab and stop the MariaDB server the lab started")
		if err := parse(fs, args); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if *all {
			if err := lab.DownAll(ctx, ""); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "every lab is down, and the lab's MariaDB is stopped")
			return nil
		}
		l, err := load(*name)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "lab %s is not up\n", *name)
			return nil
		}
		if err != nil {
			return err
		}
		l.SetLog(stderr)
		if err := l.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab %s is down\n", l.Name)
		return nil
	case "status":
		if err := parse(fs, args); err != nil {
			return err
		}
		l, err := load(*name)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return status(ctx, l, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	return nil
}

// load re-opens an instance from the default state root.
func load(name string) (*lab.Lab, error) {
	return lab.Load(filepath.Join(mariadb.StateDir(), name))
}

// status prints one line per node and fails when any part of the lab is not healthy.
func status(ctx context.Context, l *lab.Lab, w io.Writer) error {
	st := l.Status(ctx)
	fmt.Fprintf(w, "lab %s: OMS %s, MetaDB %s:%d (%s), inventory %s\n", l.Name, l.Version, l.MetaDB.Host, l.MetaDB.Port, st.MetaDB, l.InventoryPath)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tREGION\tIP\tSSHD\tOLD CONTAINER\tNEW CONTAINER\tHEALTH")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Region, n.IP, n.SSHD, n.Old, n.New, n.Health)
	}
	tw.Flush()
	if !st.OK {
		return fmt.Errorf("lab %s is not fully up (see above)", l.Name)
	}
	return nil
}
