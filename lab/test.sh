#!/usr/bin/env bash
# The test command behind `make test`: installs what the tests need, checks formatting and
# vet, and runs every test (unit and integration) with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash lab/deps.sh
make lint
go test -race -count=1 -timeout 25m ./...
