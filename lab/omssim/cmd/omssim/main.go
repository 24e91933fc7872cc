// Command omssim is the OMS Community Edition simulator, the process inside the lab's
// oms:feature_<version>-ce images.
//
//	omssim serve          the OMS service (the image's command)
//	omssim init           /root/docker_init.sh
//	omssim upgrade-410    /root/docker_oms_ce_version_upgrade.sh
//	omssim rollback-410   /root/docker_oms_ce_version_roll_back.sh
//	omssim metadb-exists  exit 0 when config.yaml's databases already hold an OMS schema,
//	                      1 when not, 2 on error (used by the V4.1.0 deploy script)
//
// The environment (OMS_HOST_IP, IS_UPGRADE, OMS_IMAGE_VERSION, OMSSIM_*) is described in
// lab/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/omsbook/omsbook/lab/omssim"
)

const usage = "usage: omssim serve | init | upgrade-410 | rollback-410 | metadb-exists"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	env := omssim.EnvFromOS()
	var err error
	switch os.Args[1] {
	case "serve":
		err = omssim.Serve(ctx, env)
	case "init":
		err = omssim.Init(ctx, env)
	case "upgrade-410":
		err = omssim.Upgrade410(ctx, env)
	case "rollback-410":
		err = omssim.Rollback410(ctx, env)
	case "metadb-exists":
		os.Exit(metadbExists(ctx, env.ConfigPath))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		os.Exit(1)
	}
}

func metadbExists(ctx context.Context, path string) int {
	cfg, err := omssim.LoadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ok, err := omssim.MetaDBExists(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metadb:", err)
		return 2
	}
	if ok {
		fmt.Println("exist")
		return 0
	}
	fmt.Println("absent")
	return 1
}
