#!/usr/bin/env bash
# The test command behind `make test`: installs what the tests need (Debian packages, as root),
# checks formatting and vet, and runs every test -- unit and integration -- with the race
# detector. Integration tests bring up their own labs (sshd nodes, the MariaDB MetaDB, OMS
# containers) under a state directory of this run's own, and everything this run started is
# torn down at the end, also when tests fail. A lab you brought up with `make lab-up` is left
# alone (a MariaDB already answering on 127.0.0.1:3306 is reused, not stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash lab/deps.sh

state=$(mktemp -d /var/tmp/omsbook-test-XXXXXX)
chmod 755 "$state" # the MariaDB server runs as the mysql user and must reach its datadir
export OMSBOOK_LAB_DIR="$state"
teardown() {
	go run ./lab/cmd/omslab down --all >/dev/null 2>&1 || echo "test: lab teardown under $state failed; run: OMSBOOK_LAB_DIR=$state go run ./lab/cmd/omslab down --all" >&2
	rm -rf "$state"
}
trap teardown EXIT

make lint
go build ./...
go test -race -count=1 -timeout 25m ./...
# The packages that run commands on hosts, a second time with the executor setting the other
# way round (OMSBOOK_EXECUTOR; the default is transport.DefaultExecutor): both ways are tested.
other=on
if [ "$(go run ./cmd/omsbook config 2>/dev/null | awk '$1 == "executor" {print $2}')" = on ]; then other=off; fi
OMSBOOK_EXECUTOR=$other go test -race -count=1 -timeout 25m ./transport/... ./modules/builtin/... ./runner/... ./e2e/...
