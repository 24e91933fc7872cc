# omsbook: build, test, demo. `make test` and `make demo` set up everything they need
# (Debian packages when run as root, the local lab) and tear down what they started.
GO ?= go
BIN := bin/omsbook
# The version `omsbook version` prints: the git description of the checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
# Where the demo's local-connection nodes keep their files.
DEMO_ROOT ?= /tmp/omsbook-demo

.PHONY: build test unit lint docs fuzz demo demo-local lab-up lab-down bench clean

# CGO_ENABLED=0: a static binary, which is also what the executor uploads to the hosts.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/omsbook

# Lint: formatting, go vet, go.mod and go.sum as `go mod tidy` leaves them, and staticcheck
# (pinned in go.mod as a tool: `go tool` builds it from the module proxy, nothing else to
# install). Any finding fails.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) tool staticcheck ./...

# The generated references: docs/modules.md (omsbook doc --markdown) and docs/schema/*.json
# (omsbook schema KIND). Tests fail when the committed files are stale.
docs:
	$(GO) run ./cmd/omsbook doc --markdown > docs/modules.md
	for k in playbook tasks handlers role-meta inventory; do $(GO) run ./cmd/omsbook schema $$k > docs/schema/$$k.json || exit 1; done

# Unit tests only: no lab, no root needed.
unit:
	$(GO) test -short ./...

# The fuzz targets, each for FUZZTIME (make fuzz FUZZTIME=60s). Their seed corpora in
# */testdata/fuzz run as ordinary tests with `go test`; what a fuzzer finds is added there.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./playbook:FuzzPlaybookParse \
	./inventory:FuzzInventoryOmsbook \
	./inventory:FuzzInventoryAnsibleINI \
	./inventory:FuzzInventoryAnsibleYAML \
	./inventory:FuzzHostPattern \
	./tmpl:FuzzRender \
	./tmpl:FuzzCondition \
	./journal:FuzzReadEvents \
	./convert/jinja:FuzzTemplate \
	./convert:FuzzConvertYAML \
	./transport/execproto:FuzzReader
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "==> $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# Everything (lab/test.sh): installs what the tests need, runs all tests -- unit, integration
# against real sshd, MariaDB and Docker, end to end -- with the race detector, and tears down
# everything the run started.
test:
	bash lab/test.sh

# The demo (lab/demo.sh): the local OMS lab at V4.2.2, a --check of the upgrade, the upgrade to
# V4.2.3 with its recap, then the rollback. Needs root and a Docker Engine; installs the Debian
# packages it needs.
demo: build
	bash lab/demo.sh

# The example playbook on two local-connection nodes (no SSH, no lab, no root): a run that
# changes, a second run that changes nothing, then --check --diff with another port.
demo-local: build
	@echo "==> omsbook run playbooks/examples/site.yml -i inventories/local.yml (files under $(DEMO_ROOT))"
	$(BIN) run playbooks/examples/site.yml -i inventories/local.yml -e demo_root=$(DEMO_ROOT)
	@echo "==> the same again: nothing left to change"
	$(BIN) run playbooks/examples/site.yml -i inventories/local.yml -e demo_root=$(DEMO_ROOT)
	@echo "==> --check --diff with app_port=9090: what would change, and nothing changes"
	$(BIN) run playbooks/examples/site.yml -i inventories/local.yml -e demo_root=$(DEMO_ROOT) -e app_port=9090 --check --diff

# The local OMS lab (lab/README.md): MariaDB on 127.0.0.1:3306, one sshd per node on
# 127.0.0.11.., the OMS containers, inventories/lab.yml. Flags for `up` via LAB_FLAGS, e.g.
# make lab-up LAB_FLAGS="--version 4.1.0 --regions hangzhou=2,shanghai=1 --no-oms-version".
# `make lab-down LAB_FLAGS=--all` also stops the lab's MariaDB.
.PHONY: lab-status
lab-up:
	$(GO) run ./lab/cmd/omslab up $(LAB_FLAGS)

lab-down:
	$(GO) run ./lab/cmd/omslab down $(LAB_FLAGS)

lab-status:
	$(GO) run ./lab/cmd/omslab status

# The benchmark against Ansible (bench/RESULTS.md): installs ansible and openssh-server from
# Debian's packages when missing, starts sshd nodes on 127.0.1.x:2222, times omsbook,
# ansible-playbook, scp, mysqldump and the bare x/crypto/ssh floor alternately, prints the
# table and writes bench/out/results.json. BENCH_QUICK=1: one repetition, small sizes.
bench: build
	BENCH_QUICK=$(BENCH_QUICK) bash bench/bench.sh

clean:
	rm -rf bin .lab
