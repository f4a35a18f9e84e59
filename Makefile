# Bulle: one Go binary. cgo is needed for SQLite (mattn/go-sqlite3).
# Every target works with GOFLAGS=-buildvcs=false.

GO      ?= go
BIN     := bin/bulle
GOFLAGS ?= -buildvcs=false
export GOFLAGS
export CGO_ENABLED := 1

.PHONY: run build test vet deps check-tools bench bench-node soak eval fmt clean

## run: build bin/bulle and serve ./articles on 127.0.0.1:8080, data in ./data
run: build
	./$(BIN) serve

## build: compile bin/bulle
build: check-tools
	$(GO) build -o $(BIN) ./cmd/bulle

## test: vet and run every test, the browser test included
# (BULLE_REQUIRE_BROWSER=1 makes it fail rather than skip without chromium).
test: deps
	$(GO) vet ./...
	BULLE_REQUIRE_BROWSER=1 $(GO) test -timeout 8m ./...

# axe-core, at the version testdata/npm/package-lock.json pins, in
# testdata/npm/node_modules (not in git). npm ci runs again only when the
# lock file is newer than the installed copy.
AXE := testdata/npm/node_modules/axe-core/axe.min.js
$(AXE): testdata/npm/package.json testdata/npm/package-lock.json
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		command -v apt-get >/dev/null 2>&1 || { echo "make: node and npm are missing and there is no apt-get: the browser tests need axe-core from npm; install Node.js and npm" >&2; exit 1; }; \
		SUDO=; \
		if [ "$$(id -u)" -ne 0 ]; then \
			command -v sudo >/dev/null 2>&1 || { echo "make: node and npm are missing; run as root or install sudo, or: apt-get install -y nodejs npm" >&2; exit 1; }; \
			SUDO=sudo; \
		fi; \
		echo "make: installing Node.js and npm for axe-core"; \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; \
	fi
	@echo "make: installing axe-core for the browser tests (npm ci in testdata/npm)"
	npm ci --prefix testdata/npm --no-audit --no-fund --ignore-scripts
	@test -f $@ || { echo "make: npm ci did not install $@" >&2; exit 1; }
	@touch $@

## deps: make sure what the tests need is installed: Go and a C compiler
# (checked), chromium for the browser test (installed with apt-get when
# missing, through sudo when not root), and axe-core from npm, which the
# browser tests check the bubble's accessibility with (node and npm checked).
deps: check-tools $(AXE)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then \
		exit 0; \
	fi; \
	command -v apt-get >/dev/null 2>&1 || { echo "make: chromium is missing and there is no apt-get: install chromium for the browser test" >&2; exit 1; }; \
	SUDO=; \
	if [ "$$(id -u)" -ne 0 ]; then \
		command -v sudo >/dev/null 2>&1 || { echo "make: chromium is missing; run as root or install sudo, or: apt-get install -y chromium" >&2; exit 1; }; \
		SUDO=sudo; \
	fi; \
	echo "make: installing chromium for the browser test"; \
	$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

## check-tools: fail early, clearly, when Go or gcc is missing
check-tools:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is not installed (https://go.dev/dl/); Bulle needs Go 1.26" >&2; exit 1; }
	@command -v $${CC:-gcc} >/dev/null 2>&1 || { echo "make: no C compiler ($${CC:-gcc}): cgo needs one to build SQLite; install gcc (apt-get install -y gcc)" >&2; exit 1; }

## bench: every figure of docs/benchmarks.md, in one run (about 3 minutes;
# the idle-socket benchmark raises its file limit and skips when it cannot)
bench: check-tools
	$(GO) test -run '^$$' -bench 'Build|ColdStart|LiveReload' -benchtime 3x ./kb
	$(GO) test -run '^$$' -bench 'Search' -benchtime 1000x ./kb
	$(GO) test -run '^$$' -bench 'Append|CreateTicket' -benchtime 20000x ./escalation
	$(GO) test -run '^$$' -bench . -benchtime 1x ./widget
	$(GO) test -run '^$$' -bench . -benchtime 1x ./cmd/bulle

## bench-node: this machine's own figures with the bundled articles (about
# 20 s; a throwaway data folder, see "bulle bench -h")
bench-node: check-tools
	$(GO) run ./cmd/bulle bench --articles ./articles

## soak: the whole server under a steady load for 30 minutes; fails if
# goroutines, heap or open files do not stay flat (samples in soak.csv)
soak: check-tools
	BULLE_SOAK=30m BULLE_SOAK_REPORT=$(CURDIR)/soak.csv $(GO) test -timeout 40m -run '^TestSoak$$' -count=1 -v ./cmd/bulle

## eval: measure search quality on the shared dev sets
eval: check-tools
	$(GO) run ./cmd/bulle eval --all ../shared/eval/dev --all testdata/eval

## fmt: format the Go code
fmt:
	gofmt -w .

## clean: remove the binary (./data is kept: it holds the database)
clean:
	rm -rf bin
