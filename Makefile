# Bulle: one Go binary. cgo is needed for SQLite (mattn/go-sqlite3).
# Every target works with GOFLAGS=-buildvcs=false.

GO      ?= go
BIN     := bin/bulle
GOFLAGS ?= -buildvcs=false
export GOFLAGS
export CGO_ENABLED := 1

.PHONY: run build test vet deps check-tools bench eval fmt clean

## run: build bin/bulle and serve ./articles on 127.0.0.1:8080, data in ./data
run: build
	./$(BIN) serve

## build: compile bin/bulle
build: check-tools
	$(GO) build -o $(BIN) ./cmd/bulle

## test: vet and run every test
test: deps
	$(GO) vet ./...
	$(GO) test -timeout 8m ./...

## deps: make sure what the tests need is installed.
# For now that is only Go and a C compiler. Later, the browser tests will
# need chromium; this target will then install it when it is missing:
#	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
#		(apt-get update && apt-get install -y chromium)
deps: check-tools

## check-tools: fail early, clearly, when Go or gcc is missing
check-tools:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is not installed (https://go.dev/dl/); Bulle needs Go 1.26" >&2; exit 1; }
	@command -v $${CC:-gcc} >/dev/null 2>&1 || { echo "make: no C compiler ($${CC:-gcc}): cgo needs one to build SQLite; install gcc (apt-get install -y gcc)" >&2; exit 1; }

## bench: measure index, search and answer speed (figures in docs/benchmarks.md)
bench: check-tools
	$(GO) test -run '^$$' -bench 'Build|ColdStart|LiveReload' -benchtime 3x ./kb
	$(GO) test -run '^$$' -bench 'Search' -benchtime 1000x ./kb
	$(GO) test -run '^$$' -bench . ./widget

## eval: measure search quality on the shared dev sets
eval: check-tools
	$(GO) run ./cmd/bulle eval --all ../shared/eval/dev --all testdata/eval

## fmt: format the Go code
fmt:
	gofmt -w .

## clean: remove the binary (./data is kept: it holds the database)
clean:
	rm -rf bin
