// Package scripts holds the shell scripts that the OMS simulator images carry under /root: the
// guide's docker_init.sh and the V4.1.0 path's deploy, upgrade and rollback scripts. They are
// embedded so that lab/images can build an image from the Go module alone.
package scripts

import "embed"

// FS holds every script, by file name (for example "docker_init.sh").
//
//go:embed *.sh
var FS embed.FS

// Common lists the scripts every image carries.
var Common = []string{"docker_init.sh"}

// V410Path lists the scripts that only the V4.2.3 image carries (the V4.1.0 upgrade path).
var V410Path = []string{
	"docker_remote_deploy_410_up_423_version.sh",
	"docker_oms_ce_version_upgrade.sh",
	"docker_oms_ce_version_roll_back.sh",
}
