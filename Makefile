# Handoff — the two commands a user needs:
#   make run    set up, build and run the whole pipeline on this machine (embedded NATS and S3)
#   make test   set up and run every test, with the race detector
SHELL := /bin/bash
.DEFAULT_GOAL := build

TOOLS   := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
# libgomp reads this only from the environment a process starts with:
# Tesseract runs one thread per page, pages run in parallel.
export OMP_THREAD_LIMIT := 1
MODULES  = $(shell go list -m -f '{{.Dir}}')
# Every package of every module of the workspace, for one go vet and one go test.
PACKAGES := github.com/handoffmed/handoff/...
# -ldflags='-s -w': test binaries without DWARF and symbol table link in
# half the time (stack traces and race reports keep their files and lines).
GOTEST  ?= go test -race -count=1 -timeout 25m -parallel 4 '-ldflags=-s -w'
# The race detector's runtime sleeps a second at every test binary's exit
# (for reports from threads still running; the tests have ended by then).
GORACE  ?= atexit_sleep_ms=0
export GORACE
# -trimpath: what a build makes does not depend on the checkout's directory,
# so a new clone reuses the Go build cache (and binaries name no paths of
# the machine that built them).
GOFLAGS += -trimpath
export GOFLAGS
# make test prints its time from here: set-up and build included.
START   := $(shell date +%s)
FUZZTIME ?= 10s
SERVICES := intake dicom ocr packager
# Every binary's --version: the git tag or commit this tree builds.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  = -X github.com/handoffmed/handoff/platform/app.version=$(VERSION)

.PHONY: setup setup-test setup-bench build run test fuzz bench vet fmt tidy check clean

# What running needs (Debian packages); setup-test adds what the tests need
# (more packages, pinned nats-server and versitygw), setup-bench the peers.
setup:
	@scripts/setup.sh run
setup-test:
	@scripts/setup.sh test
setup-bench:
	@scripts/setup.sh bench


# One go build links the binaries in parallel.
build:
	@mkdir -p bin
	go build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/handoff $(foreach s,$(SERVICES),./services/$(s)/cmd/$(s))

run: setup build
	bin/handoff serve $(ARGS)

vet:
	go vet $(PACKAGES)

# gofmt, go vet, then every test of the workspace in one go test (packages
# run in parallel), with the race detector. A test that lacks a tool fails.
test: setup-test build
	@unformatted=$$(gofmt -l $(MODULES)); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi; \
	go vet $(PACKAGES) || exit 1; \
	HANDOFF_BIN=$(CURDIR)/bin/handoff $(GOTEST) $(PACKAGES); rc=$$?; \
	echo "make test: $$(( $$(date +%s) - $(START) )) s (set-up, build, gofmt, vet and tests)"; exit $$rc

# Each fuzz target runs for FUZZTIME (make fuzz FUZZTIME=5m for the long run).
fuzz:
	@for m in $(MODULES); do \
		for pkg in $$(cd $$m && go list ./...); do \
			for f in $$(cd $$m && go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
				echo "== $$pkg $$f"; (cd $$m && go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg) || exit 1; \
			done; \
		done; \
	done

bench: setup-bench build
	@for b in bench/*/run.sh; do echo "== $$b"; $$b || exit 1; done

fmt:
	gofmt -w $(MODULES)

tidy:
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
	@git diff --exit-code -- '*/go.mod' '*/go.sum' go.mod go.sum 2>/dev/null || { echo "go.mod changed: commit it"; exit 1; }

check: vet test tidy

clean:
	rm -rf bin
