#!/usr/bin/env bash
# Installs the Debian packages the lab and the integration tests use, when they are missing.
# As root it installs them; otherwise it says exactly what is missing and exits non-zero.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have sshd || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
have ssh || need+=(openssh-client)
have ssh-keygen || need+=(openssh-client)
[ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || need+=(mariadb-server)
have mysqldump || need+=(mariadb-client)
have mysql || need+=(mariadb-client)
have busybox || need+=(busybox-static)
[ -x /usr/bin/bash-static ] || [ -x /bin/bash-static ] || need+=(bash-static)
have sudo || need+=(sudo)
# The Debian node image of the system modules' tests (lab/debnode): mmdebstrap builds its root.
have mmdebstrap || need+=(mmdebstrap)
# The oracles of the tests that hold omsbook against Ansible: ansible-inventory and
# ansible-playbook, both in Debian's ansible-core (the ansible package adds only its 250 MB
# of collections, which the tests do not use).
have ansible-inventory || need+=(ansible-core)
have ansible-playbook || need+=(ansible-core)
# The git module's tests clone from a bare repository made with the real git.
have git || need+=(git)
# The run report's browser test (report/) loads the page in Debian's headless Chromium.
have chromium || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "lab: missing packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "lab: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
