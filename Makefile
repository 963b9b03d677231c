# Build, test and run the AddUserContact SCF function. Needs only Go and make.
#
# The local tools run as binaries built into dist/ for this machine, not with
# `go run`, so that `dist/scf-local ...` gives its documented exit statuses
# (go run turns every failure into 1). make itself exits 2 whatever failed.

GO       ?= go
EVENT    ?= events/apigw-post-json.json
TIMEOUT  ?= 3s
ADDR     ?= 127.0.0.1:9001
ARGS     ?=
FUZZTIME ?= 30s
DIST     := dist
BIN      := $(DIST)/main
LOCAL    := $(DIST)/local/main
ZIP      := $(DIST)/function.zip
# This machine's platform, whatever GOOS/GOARCH the shell exports.
HOST      = GOOS=$(shell $(GO) env GOHOSTOS) GOARCH=$(shell $(GO) env GOHOSTARCH)
# The race detector needs cgo (a C compiler); without one, tests run without it.
RACE     := $(shell [ "$$($(GO) env CGO_ENABLED)" = "1" ] && echo -race)

.PHONY: all build build-local tools package test lint vet staticcheck fmt-check invoke serve emulator onboard bench fuzz clean FORCE

all: test build package

## build: the function for SCF's Go1 runtime (linux/amd64, static, stripped)
build:
	@mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./function

## build-local: the function for this machine (dist/local/main), which make invoke and make serve run
build-local:
	@CGO_ENABLED=0 $(HOST) $(GO) build -o $(LOCAL) ./function

## tools: dist/scf-local, dist/dbbrain-local and dist/scf-package for this machine
tools: $(DIST)/scf-local $(DIST)/dbbrain-local $(DIST)/scf-package

# Rebuilt on every use: Go's build cache makes that quick, and never stale.
$(DIST)/scf-local $(DIST)/dbbrain-local $(DIST)/scf-package: FORCE
	@$(HOST) $(GO) build -o $@ ./cmd/$(@F)

## package: dist/function.zip with main at its root, executable
package: build $(DIST)/scf-package
	@$(DIST)/scf-package --bin $(BIN) --out $(ZIP)

## test: vet, staticcheck and every test (race detector when cgo is available)
test: vet staticcheck
	$(GO) test $(RACE) -count=1 ./...

## lint: formatting, vet and staticcheck
lint: fmt-check vet staticcheck

# Every .go file, committed or not, but the build output in dist/.
fmt-check:
	@out="$$(gofmt -l $$(find . -name '*.go' -not -path './$(DIST)/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

## invoke: EVENT through the function against the embedded DBbrain emulator; only the answer goes to stdout (make invoke | jq)
invoke: build-local $(DIST)/scf-local
	@$(DIST)/scf-local invoke --emulator --bin $(LOCAL) --event $(EVENT) --timeout $(TIMEOUT) $(ARGS)

## serve: the function as its Function URL on http://$(ADDR) against the embedded emulator, until interrupted
serve: build-local $(DIST)/scf-local
	@$(DIST)/scf-local serve --emulator --bin $(LOCAL) --addr $(ADDR) --timeout $(TIMEOUT) $(ARGS)

## emulator: the DBbrain emulator on 127.0.0.1:9000 until interrupted; dist/scf-local --env-file dist/emulator.env uses it
emulator: $(DIST)/dbbrain-local
	@$(DIST)/dbbrain-local --addr 127.0.0.1:9000 --env-file $(DIST)/emulator.env $(ARGS)

## onboard: 1,000 generated contacts through an embedded 4-partition topic and the local CKafka trigger, against the embedded emulator, then the summary (about a minute)
onboard: build-local $(DIST)/scf-local
	@$(DIST)/scf-local consume --embedded-kafka --partitions 4 --emulator --generate 1000 --until-idle 3s --timeout 120s --bin $(LOCAL) $(ARGS)

## bench: the micro benchmarks, then the scenarios through the real binary into bench/REPORT.md (minutes)
bench: build package
	@$(HOST) $(GO) build -o $(DIST)/benchreport ./cmd/benchreport
	$(HOST) $(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(HOST) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench | $(DIST)/benchreport --out bench/REPORT.md

# Every fuzz target, as package:Target. `make test` runs their seed corpora.
FUZZ_TARGETS := \
	./internal/handler:FuzzDecodeAndValidate \
	./internal/handler:FuzzInvoke \
	./internal/contact:FuzzParse \
	./internal/contact:FuzzFromValuesAndMerge \
	./internal/event:FuzzFlexBool \
	./internal/event:FuzzQueryString \
	./internal/event:FuzzHeaders \
	./internal/event:FuzzHTTPRequestParams \
	./internal/apierror:FuzzQuote \
	./internal/signature:FuzzVerify \
	./internal/emulator:FuzzServeHTTP

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@set -e; for spec in $(FUZZ_TARGETS); do \
		pkg=$${spec%%:*}; target=$${spec##*:}; \
		echo "== $$pkg $$target"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf $(DIST)
