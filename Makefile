# Podium build. `make run` and `make test` set up everything on a fresh Debian 12 machine.
SHELL := /bin/bash
export LANG ?= en_US.UTF-8
export OPENCV_FOR_THREADS_NUM ?= 1
GO ?= go
BIN := bin
VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X github.com/podiumhq/podium/internal/version.Version=$(VERSION)

.PHONY: all deps testdata build run test test-race bench vet fmt clean
all: build

deps:
	@bash scripts/deps.sh

testdata: deps
	@bash scripts/testdata.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# Fragments owned by each area (model conversion, GPU, UI ...) add targets
# and append to TEST_PREREQS / BENCH_TARGETS.
TEST_PREREQS := testdata
include $(wildcard mk/*.mk)

run: build $(RUN_PREREQS)
	@bash scripts/run.sh

test: deps $(TEST_PREREQS)
	@bash scripts/test.sh

bench: deps $(TEST_PREREQS)
	$(GO) test -run '^$$' -bench . -benchtime 3s ./...

clean:
	rm -rf $(BIN) build artifacts

.PHONY: bench-sfu
bench-sfu: deps testdata
	$(GO) test -run '^$$' -bench SFUForward -benchtime=3000x ./media/sfu/
