#!/usr/bin/env bash
# `make bench`: installs what the benchmark needs from Debian's packages when it is missing
# (apt-get update first; needs root, as the sshd nodes do), builds omsbench, and runs it on
# the omsbook binary `make build` made. BENCH_QUICK=1 runs the quick pass; BENCH_FLAGS adds
# omsbench flags (e.g. BENCH_FLAGS="--workloads 1,2"). The table goes to stdout, every sample
# to bench/out/results.json. omsbench stops every sshd it started, also on failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ansible-playbook >/dev/null || need+=(ansible)
[ -d /usr/lib/python3/dist-packages/ansible_mitogen ] || need+=(ansible-mitogen) # workloads 6 and 7
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
{ command -v ssh && command -v scp; } >/dev/null || need+=(openssh-client)
command -v mysqldump >/dev/null || need+=(mariadb-client)
{ command -v mariadbd || [ -x /usr/sbin/mariadbd ]; } >/dev/null || need+=(mariadb-server)
command -v unshare >/dev/null || need+=(util-linux)
[ -x /usr/bin/python3 ] || need+=(python3)
if ((${#need[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing ${need[*]}; run make bench as root (the sshd nodes need root too)" >&2
		exit 1
	fi
	echo "bench: installing ${need[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

${GO:-go} build -o bin/omsbench ./bench/cmd/omsbench
args=(--omsbook bin/omsbook --out bench/out/results.json)
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
	args+=(--quick)
fi
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
exec bin/omsbench "${args[@]}" ${BENCH_FLAGS:-}
