# godump / gorestore: make targets. Only Go is needed; everything else is built here.
GO       ?= go
BIN      := bin
PKGS     := ./...
# Packages with unit tests (everything except the end-to-end suite).
UNIT     := $(shell $(GO) list ./... 2>/dev/null | grep -v /e2e)
FUZZTIME ?= 10s

.PHONY: all build test unit e2e demo demo-seed bench fuzz lint conformance conformance-cluster man completion weed clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -buildvcs=auto -o $(BIN)/ ./cmd/...

## test: the whole suite (unit tests with the race detector, then end-to-end tests on the built binaries)
test: lint unit e2e

unit: weed
	$(GO) test -race -count=1 -timeout 8m $(UNIT)

e2e: build weed
	@if [ -d e2e ]; then GODUMP_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 8m ./e2e/...; fi

## demo: start arangotest with sample data, dump it, restore it into a fresh database, verify
demo: build
	@./scripts/demo.sh

## demo-seed: a seed-data export of the demo database (sample, graph closure, masking with a
## seed), restored into a fresh database, exported twice and compared with diff -r
demo-seed: build
	@./scripts/demo-seed.sh

## bench: throughput and memory figures (see README "Benchmarks")
bench: build weed
	@./scripts/bench.sh

## weed: SeaweedFS's S3 server for the object-storage tests (objstore, e2e), built into bin/ when
## missing or not the pinned version (about 6.5 minutes on two cores the first time, then nothing)
weed:
	@./scripts/weed.sh

## fuzz: a short run of every fuzz target
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## conformance: the official go-driver v2 integration tests against cmd/arangotest
conformance: build
	@./scripts/conformance.sh

## conformance-cluster: the same, TEST_MODE=cluster, against `arangotest --cluster`
conformance-cluster: build
	@./scripts/conformance-cluster.sh

## man: man pages generated from the options each command declares (the same as --help) into man/man1
MANDIR := man/man1
man: build
	@mkdir -p $(MANDIR)
	$(BIN)/godump --man > $(MANDIR)/godump.1
	$(BIN)/gorestore --man > $(MANDIR)/gorestore.1
	$(BIN)/godump hotbackup --man > $(MANDIR)/godump-hotbackup.1
	$(BIN)/godump physical --man > $(MANDIR)/godump-physical.1
	$(BIN)/gorestore physical --man > $(MANDIR)/gorestore-physical.1
	@if command -v groff >/dev/null; then \
	  for f in $(MANDIR)/*.1; do groff -man -Tutf8 -ww -z $$f || exit 1; done; fi
	@echo "man pages in $(MANDIR); read one with: man -l $(MANDIR)/godump.1"

## completion: bash, zsh and fish completion scripts into completion/ (also printed by --completion SHELL)
completion: build
	@mkdir -p completion
	@for sh in bash zsh fish; do \
	  $(BIN)/godump --completion $$sh > completion/godump.$$sh || exit 1; \
	  $(BIN)/gorestore --completion $$sh > completion/gorestore.$$sh || exit 1; done
	@echo "completion scripts in completion/"

clean:
	rm -rf $(BIN) man completion
