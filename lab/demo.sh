#!/usr/bin/env bash
# The demo behind `make demo`: stands up the local OMS lab at V4.2.2 (2 regions, 3 nodes: real
# sshd nodes on 127.0.0.11..13, the MariaDB MetaDB, OMS containers in the local Docker Engine),
# dry-runs the upgrade, upgrades to V4.2.3 and writes the upgrade's HTML report (its path is
# printed), then rolls back to V4.2.2. The lab stays up afterwards so that you can look around;
# `make lab-down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/omsbook
step() { printf '\n==> %s\n' "$*"; }

step "bring the lab up at V4.2.2 (installs Debian packages when missing; needs root and Docker)"
if ! go run ./lab/cmd/omslab up; then
	echo "demo: the lab could not start (see above). It needs root, a running Docker Engine and" >&2
	echo "Debian's openssh-server, mariadb-server, mariadb-client, busybox-static, bash-static and sudo." >&2
	echo "Without them, 'make demo-local' runs an example playbook on local-connection nodes." >&2
	exit 1
fi

step "$bin run playbooks/upgrade-422-to-423.yml -i inventories/lab.yml --check   (a dry run: changes nothing)"
$bin run playbooks/upgrade-422-to-423.yml -i inventories/lab.yml --check

step "$bin run playbooks/upgrade-422-to-423.yml -i inventories/lab.yml"
$bin run playbooks/upgrade-422-to-423.yml -i inventories/lab.yml

step "$bin report last playbooks/upgrade-422-to-423.yml   (the upgrade's report: one HTML file, for the change ticket)"
$bin report last playbooks/upgrade-422-to-423.yml

step "$bin run playbooks/rollback-423-to-422.yml -i inventories/lab.yml"
$bin run playbooks/rollback-423-to-422.yml -i inventories/lab.yml

step "done: the lab is back on V4.2.2 and still up ('make lab-status'; 'make lab-down' stops it)"
