# Build, test and run the AddUserContact SCF function. Needs only Go and make.

GO      ?= go
EVENT   ?= events/apigw-post-json.json
DIST    := dist
BIN     := $(DIST)/main
ZIP     := $(DIST)/function.zip
FUZZTIME ?= 30s
# The race detector needs cgo (a C compiler); without one, tests run without it.
RACE    := $(shell [ "$$($(GO) env CGO_ENABLED)" = "1" ] && echo -race)

.PHONY: all build package test lint vet staticcheck fmt-check invoke emulator bench fuzz clean

all: test build package

## build: the function for SCF's Go1 runtime (linux/amd64, static, stripped)
build:
	@mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./function

## package: dist/function.zip with main at its root, executable
package: build
	$(GO) run ./cmd/scf-package --bin $(BIN) --out $(ZIP)

## test: vet, staticcheck and every test (race detector when cgo is available)
test: vet staticcheck
	$(GO) test $(RACE) -count=1 ./...

## lint: formatting, vet and staticcheck
lint: fmt-check vet staticcheck

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

## invoke: one sample event through the real binary against the embedded DBbrain emulator
invoke: build
	$(GO) run ./cmd/scf-local invoke --emulator --bin $(BIN) --event $(EVENT)

## emulator: run the DBbrain emulator on 127.0.0.1:9000 until interrupted
emulator:
	$(GO) run ./cmd/dbbrain-local --addr 127.0.0.1:9000

## bench: Go benchmarks and the batch report (bench/REPORT.md)
bench: build package
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/bench --bin $(BIN) --zip $(ZIP) --out bench/REPORT.md

# Every fuzz target, as package:Target. `make test` runs their seed corpora.
FUZZ_TARGETS := \
	./internal/handler:FuzzDecodeAndValidate \
	./internal/handler:FuzzInvoke \
	./internal/params:FuzzParse \
	./internal/params:FuzzFromValuesAndMerge \
	./internal/params:FuzzDescribe \
	./internal/trigger:FuzzFlexBool \
	./internal/trigger:FuzzQueryString \
	./internal/trigger:FuzzHeaders \
	./internal/trigger:FuzzHTTPRequestParams \
	./internal/tc3:FuzzVerify \
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
