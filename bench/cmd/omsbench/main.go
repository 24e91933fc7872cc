// Command omsbench times omsbook against ansible-playbook on the same sshd nodes (127.0.1.x,
// port 2222), alternating the tools, and prints a table of medians and ratios; it writes every
// sample to a JSON file. It stops every sshd it started, also on failure and on Ctrl-C.
//
//	omsbench [--quick] [--workloads 1,3] [--omsbook bin/omsbook] [--out bench/out/results.json]
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/omsbook/omsbook/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := pflag.NewFlagSet("omsbench", pflag.ContinueOnError)
	quick := fs.Bool("quick", false, "a fast check of every workload: one repetition, small sizes")
	workloads := fs.StringSlice("workloads", nil, "run only these workloads (1 command, 2 startup, 3 copy, 4 mysqldump, 5 scale, 6 executor, 7 latency, 8 executor scale, 9 free vs linear)")
	omsbook := fs.String("omsbook", "bin/omsbook", "the omsbook binary to time")
	ansible := fs.String("ansible", "ansible-playbook", "ansible-playbook to time; \"\" skips Ansible")
	workDir := fs.String("work-dir", "/var/tmp/omsbench", "state directory: sshd nodes, inventories, copies, dumps")
	out := fs.String("out", "bench/out/results.json", "where to write every sample as JSON")
	reps := fs.Int("reps", 0, "repetitions of each timed run (default 3, quick 1)")
	commandHosts := fs.IntSlice("command-hosts", nil, "workload 1 host counts (default 1,10,50; quick 1,5)")
	scaleHosts := fs.Int("scale-hosts", 0, "workload 5 host count (default 200, quick 20)")
	execHosts := fs.Int("exec-hosts", 0, "workload 6 host count (default 50, quick 5)")
	execAnsible := fs.Bool("exec-ansible", true, "workload 6 times Ansible and Ansible + mitogen too (at 50 x 10, about 100 s a run)")
	latencyHosts := fs.Int("latency-hosts", 0, "workload 7 and 9 host count (default 20, quick 3)")
	latencyRTT := fs.Duration("latency-rtt", 0, "workload 7 round trip through the delaying proxies (default 40ms)")
	execScale := fs.Int("exec-scale-hosts", 0, "workload 8 host count, several per sshd (default 1000, quick 20)")
	serve := fs.Int("serve", 0, "only start `N` nodes, write the inventories and wait for Ctrl-C (for looking at a case by hand)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 5
	}
	opt := bench.Defaults()
	if *quick {
		opt = bench.Quick()
	}
	if *reps > 0 {
		opt.Reps = *reps
	}
	if len(*commandHosts) > 0 {
		opt.CommandNs = *commandHosts
	}
	if *scaleHosts > 0 {
		opt.ScaleN = *scaleHosts
	}
	if *execHosts > 0 {
		opt.ExecHosts = *execHosts
	}
	opt.ExecAnsible = opt.ExecAnsible && *execAnsible
	if *latencyHosts > 0 {
		opt.LatencyHosts = *latencyHosts
	}
	if *latencyRTT > 0 {
		opt.LatencyRTT = *latencyRTT
	}
	if *execScale > 0 {
		opt.ExecScaleN = *execScale
	}
	opt.Workloads = *workloads
	opt.Log = os.Stderr
	var err error
	if opt.WorkDir, err = filepath.Abs(*workDir); err != nil {
		return fail(err)
	}
	if opt.Omsbook, err = lookPath(*omsbook); err != nil {
		return fail(fmt.Errorf("the omsbook binary: %w (build it: make build)", err))
	}
	if *ansible != "" {
		if opt.Ansible, err = lookPath(*ansible); err != nil {
			return fail(fmt.Errorf("ansible-playbook: %w (install it: apt-get install ansible, or pass --ansible '' to skip it)", err))
		}
	}
	if opt.Scp, err = lookPath("scp"); err != nil {
		return fail(fmt.Errorf("scp: %w (install openssh-client)", err))
	}
	if opt.Mysqldump, err = lookPath("mysqldump"); err != nil {
		return fail(fmt.Errorf("mysqldump: %w (install mariadb-client)", err))
	}

	// The first Ctrl-C cancels the run, which then stops its nodes; a second one kills it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()

	if *serve > 0 {
		if err := bench.Serve(ctx, opt, *serve); err != nil {
			return fail(err)
		}
		return 0
	}
	res, runErr := bench.Run(ctx, opt)
	if res != nil {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
			if f, err := os.Create(*out); err == nil {
				_ = bench.WriteJSON(f, res)
				f.Close()
				fmt.Fprintf(os.Stderr, "omsbench: samples written to %s\n", *out)
			}
		}
		fmt.Println()
		_ = bench.PrintTable(os.Stdout, res)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "omsbench: interrupted; every node stopped")
			return 99
		}
		return fail(runErr)
	}
	return 0
}

// lookPath resolves a program name or a path to an absolute path.
func lookPath(p string) (string, error) {
	if strings.Contains(p, "/") {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	return exec.LookPath(p)
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "omsbench:", err)
	return 1
}
