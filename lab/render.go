package lab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/omsbook/omsbook/lab/omssim"
)

// q quotes a string for YAML: a JSON-style double-quoted scalar, which YAML reads back as the
// same string whatever it holds.
func q(s string) string { return strconv.Quote(s) }

// ConfigYAML is the config.yaml of one region as OMS reads it (/home/admin/conf/config.yaml),
// with the keys of the procedure's "Facts" section. Every node of the region gets the same
// content; with PerNodeConfig each node has its own copy of it.
func (l *Lab) ConfigYAML(region *RegionInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# OMS Community Edition %s, region %s (lab %q), written by omslab.\n", l.Version, region.Name, l.Name)
	b.WriteString("# MetaDB connection\n")
	fmt.Fprintf(&b, "oms_meta_host: %s\n", q(l.MetaDB.Host))
	fmt.Fprintf(&b, "oms_meta_port: %d\n", l.MetaDB.Port)
	fmt.Fprintf(&b, "oms_meta_user: %s\n", q(l.MetaDB.User))
	fmt.Fprintf(&b, "oms_meta_password: %s\n", q(l.MetaDB.Password))
	b.WriteString("# MetaDB databases: rm and cm are shared, the heartbeat database is this region's\n")
	fmt.Fprintf(&b, "drc_rm_db: %s\n", q(l.DB.RM))
	fmt.Fprintf(&b, "drc_cm_db: %s\n", q(l.DB.CM))
	fmt.Fprintf(&b, "drc_cm_heartbeat_db: %s\n", q(region.HeartbeatDB))
	b.WriteString("# Cluster manager of this region\n")
	nodes := l.RegionNodes(region.Name)
	fmt.Fprintf(&b, "cm_url: %s\n", q("http://"+nodes[0].IP+":8088"))
	fmt.Fprintf(&b, "cm_location: %d\n", region.Location)
	fmt.Fprintf(&b, "cm_region: %s\n", q(region.Name))
	fmt.Fprintf(&b, "cm_is_default: %t\n", region.IsDefault)
	b.WriteString("cm_nodes:\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "  - %s\n", q(n.IP))
	}
	b.WriteString("# Time-series database for monitoring (not used by the lab)\n")
	b.WriteString("tsdb_service: \"INFLUXDB\"\n")
	b.WriteString("tsdb_enabled: false\n")
	return b.String()
}

// InventoryYAML is the lab's inventory in omsbook's format (design.md section 2), with the
// variables the OMS playbooks use.
func (l *Lab) InventoryYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# The omsbook lab %q: OMS %s on %d node(s) in %d region(s), written by `omslab up`.\n",
		l.Name, l.Version, len(l.Nodes), len(l.Regions))
	b.WriteString("# Nodes are real sshd servers on loopback addresses with their host keys in known_hosts;\n")
	b.WriteString("# the OMS containers run in the local Docker Engine; the MetaDB is MariaDB on 127.0.0.1.\n")
	b.WriteString("# `omslab down` stops it all. The MetaDB password is a fixed lab password.\n\n")
	b.WriteString("user: root\n")
	fmt.Fprintf(&b, "port: %d\n", l.SSHPort)
	fmt.Fprintf(&b, "known_hosts: %s\n", q(l.KnownHosts))
	fmt.Fprintf(&b, "ssh_key: %s\n\n", q(l.ClientKey))

	b.WriteString("vars:\n")
	b.WriteString("  metadb:\n")
	fmt.Fprintf(&b, "    host: %s\n", q(l.MetaDB.Host))
	fmt.Fprintf(&b, "    port: %d\n", l.MetaDB.Port)
	fmt.Fprintf(&b, "    user: %s\n", q(l.MetaDB.User))
	fmt.Fprintf(&b, "    password: %s\n", q(l.MetaDB.Password))
	fmt.Fprintf(&b, "  rm_db: %s\n", q(l.DB.RM))
	fmt.Fprintf(&b, "  cm_db: %s\n", q(l.DB.CM))
	fmt.Fprintf(&b, "  oms_old_version: %s\n", q(l.Version))
	fmt.Fprintf(&b, "  oms_new_version: %s\n", q(l.NewVersion))
	fmt.Fprintf(&b, "  old_image: %s\n", q(imageTag(l.Version)))
	fmt.Fprintf(&b, "  new_image: %s\n", q(imageTag(l.NewVersion)))
	b.WriteString("  # the nodes share this machine's disk, so the package is already \"on the node\"\n")
	fmt.Fprintf(&b, "  package_path: %s\n", q(l.PackagePath(l.NewVersion)))
	b.WriteString("  package_src: \"\"\n")
	fmt.Fprintf(&b, "  backup_root: %s\n", q(l.BackupRoot))
	b.WriteString("  # docker through the lab's recorder: it logs every call (docker-argv.log, -e values masked)\n")
	b.WriteString("  # and, where the engine refuses privileged containers, drops --privileged=true before docker\n")
	fmt.Fprintf(&b, "  docker_cmd: %s\n", q(l.RecorderPath()))
	b.WriteString("  oms_privileged: true\n")
	b.WriteString("  # the simulator's console starts in seconds, not the minutes a real one takes: no need to\n")
	b.WriteString("  # wait the guide's 300 s before docker_init.sh (the playbooks still wait for its log line\n")
	b.WriteString("  # and data.healthy)\n")
	b.WriteString("  init_delay_s: 1\n")
	b.WriteString("  container_ready_timeout_s: 120\n")
	fmt.Fprintf(&b, "  lab_name: %s\n", q(l.Name))
	b.WriteString("  # the OMS simulator's profile (lab/README.md): default or strict\n")
	profile, startup := "default", 0
	if l.Config.Profile == omssim.ProfileStrict {
		profile, startup = omssim.ProfileStrict, int(l.Config.StrictStartup.Seconds())
	}
	fmt.Fprintf(&b, "  lab_profile: %s\n", q(profile))
	b.WriteString("  # strict only: seconds the console takes to start (a real one takes minutes)\n")
	fmt.Fprintf(&b, "  lab_startup_seconds: %d\n\n", startup)

	b.WriteString("regions:\n")
	for _, r := range l.Regions {
		fmt.Fprintf(&b, "  %s:\n", r.Name)
		b.WriteString("    vars:\n")
		fmt.Fprintf(&b, "      cm_hb_db: %s\n", q(r.HeartbeatDB))
		if r.SharedConfig {
			fmt.Fprintf(&b, "      config_file: %s\n", q(r.ConfigFile))
		}
		fmt.Fprintf(&b, "      shared_config: %t\n", r.SharedConfig)
		b.WriteString("    nodes:\n")
		for _, n := range l.RegionNodes(r.Name) {
			fmt.Fprintf(&b, "      %s:\n", n.Name)
			fmt.Fprintf(&b, "        address: %s\n", q(n.IP))
			b.WriteString("        vars:\n")
			fmt.Fprintf(&b, "          oms_host_ip: %s\n", q(n.IP))
			fmt.Fprintf(&b, "          old_container: %s\n", q(n.OldContainer))
			fmt.Fprintf(&b, "          new_container: %s\n", q(n.NewContainer))
			fmt.Fprintf(&b, "          mount_dir: %s\n", q(n.MountDir))
			if !r.SharedConfig {
				fmt.Fprintf(&b, "          config_file: %s\n", q(n.ConfigFile))
			}
		}
	}
	b.WriteString("\nsecrets: [metadb.password]\n")
	return b.String()
}
