# omsbook: build, test, demo. `make test` and `make demo` set up everything they need
# (Debian packages when run as root, the local lab) and tear down what they started.
GO ?= go
BIN := bin/omsbook

.PHONY: build test unit lint demo lab-up lab-down bench clean

build:
	$(GO) build -o $(BIN) ./cmd/omsbook

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

# Unit tests only: no lab, no root needed.
unit:
	$(GO) test -short ./...

# Everything: installs what the tests need, brings the lab up, runs all tests with the race
# detector, and always tears the lab down.
test:
	bash lab/test.sh

clean:
	rm -rf bin .lab
