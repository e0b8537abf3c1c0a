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
GOTEST  ?= go test -race -count=1 -timeout 25m
FUZZTIME ?= 10s
SERVICES := intake dicom ocr packager
# Every binary's --version: the git tag or commit this tree builds.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  = -X github.com/handoffmed/handoff/platform/app.version=$(VERSION)

.PHONY: setup build run test fuzz bench vet fmt tidy check clean

setup:
	@scripts/setup.sh

build:
	@mkdir -p bin
	cd cmd/handoff && go build -ldflags '$(LDFLAGS)' -o $(CURDIR)/bin/handoff .
	@for s in $(SERVICES); do \
		if [ -d services/$$s/cmd/$$s ]; then (cd services/$$s && go build -ldflags '$(LDFLAGS)' -o $(CURDIR)/bin/$$s ./cmd/$$s) || exit 1; fi; \
	done

run: setup build
	bin/handoff serve $(ARGS)

vet:
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done

test: setup build vet
	@test -z "$$(gofmt -l $(MODULES))" || { echo "gofmt needed:"; gofmt -l $(MODULES); exit 1; }
	@fail=0; for m in $(MODULES); do \
		echo "== $$m"; (cd $$m && HANDOFF_BIN=$(CURDIR)/bin/handoff HANDOFF_REQUIRE_TOOLS=1 $(GOTEST) ./...) || fail=1; \
	done; exit $$fail

# Each fuzz target runs for FUZZTIME (make fuzz FUZZTIME=5m for the long run).
fuzz:
	@for m in $(MODULES); do \
		for pkg in $$(cd $$m && go list ./...); do \
			for f in $$(cd $$m && go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
				echo "== $$pkg $$f"; (cd $$m && go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg) || exit 1; \
			done; \
		done; \
	done

bench: setup build
	@for b in bench/*/run.sh; do echo "== $$b"; $$b || exit 1; done

fmt:
	gofmt -w $(MODULES)

tidy:
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
	@git diff --exit-code -- '*/go.mod' '*/go.sum' go.mod go.sum 2>/dev/null || { echo "go.mod changed: commit it"; exit 1; }

check: vet test tidy

clean:
	rm -rf bin
