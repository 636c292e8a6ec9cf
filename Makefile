# tixgate: `make demo` runs it, `make test` tests it. See README.md.

GO       ?= go
BIN      := bin/tixgate
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# The race detector slows code tenfold: the suite runs once with it in short
# mode (every package but the QR decoder, which is pure computation on one
# goroutine), then whole without it (the 50-node cluster, the five-process
# venue, the full QR corpus).
RACE     := $(shell $(GO) list ./... | grep -v '/scanner')
# Debian packages the tests call: zbarimg, qrencode, ZXingReader,
# PostgreSQL's initdb/pg_ctl for central/store and central/shop, mailpit
# (go install) for the box office's mail, and headless Chromium with
# a CJK font for the web UI's browser tests and screenshots (without the
# font, Chinese renders as boxes).
APT_DEPS := zbar-tools qrencode zxing-cpp-tools postgresql chromium fonts-noto-cjk fonts-dejavu-core fonts-droid-fallback poppler-utils
BENCH_COUNT ?= 6

.PHONY: all build host test test-short bench demo lint deps fuzz clean screens

all: build

## build: bin/tixgate for this machine, and the gate devices' binaries
## (no cgo): bin/tixgate-linux-arm64 and bin/tixgate-linux-armv7.
build: host
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)-linux-arm64 ./cmd/tixgate
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)-linux-armv7 ./cmd/tixgate

## host: bin/tixgate for this machine only (what make demo needs).
host:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tixgate

## deps: install the system tools the tests need, when missing.
deps:
	@missing=""; \
	command -v zbarimg >/dev/null 2>&1 || missing="$$missing zbar-tools"; \
	command -v qrencode >/dev/null 2>&1 || missing="$$missing qrencode"; \
	command -v ZXingReader >/dev/null 2>&1 || missing="$$missing zxing-cpp-tools"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing="$$missing fonts-droid-fallback"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	@# The box office's tests send mail to a real SMTP server, mailpit, and
	@# read it back through its REST API; built once into bin/ (about a
	@# minute), found there, on PATH or in GOPATH's bin afterwards.
	@command -v mailpit >/dev/null 2>&1 || [ -x bin/mailpit ] || [ -x "$$($(GO) env GOPATH)/bin/mailpit" ] || \
		{ echo "installing mailpit into bin/"; GOBIN="$$(pwd)/bin" $(GO) install github.com/axllent/mailpit@v1.33.1; }
	@# The payments' Stripe tests run against stripe-mock (central/pay).
	@command -v stripe-mock >/dev/null 2>&1 || [ -x bin/stripe-mock ] || [ -x "$$($(GO) env GOPATH)/bin/stripe-mock" ] || \
		{ echo "installing stripe-mock into bin/"; GOBIN="$$(pwd)/bin" $(GO) install github.com/stripe/stripe-mock@v0.203.0; }

## test: every test, with the race detector where it is affordable, and the
## fuzz targets' seed corpora.
test: deps lint
	$(GO) test -race -short -timeout 20m $(RACE)
	$(GO) test -timeout 20m ./...

test-short: lint
	$(GO) test -short ./...

## bench: the figures of every issue, as a table of medians. Hot paths run
## BENCH_COUNT times; whole-system benchmarks (BenchmarkSystem…: a million
## tickets imported, clusters of 10 to 100 nodes) run once and report the
## percentiles of their own samples.
bench: deps
	@mkdir -p bin
	@# One package at a time (-p 1): two benchmarks sharing the cores
	@# would measure each other. The machine's cores and its load before
	@# each pass go into the table, so a loaded run reads as one. A package
	@# that fails does not stop the others: the table is written with what
	@# ran and names what failed, and the target fails.
	{ echo "cores: $$(nproc)"; echo "load: $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (1, 5, 15 min) before the hot paths"; } > bin/bench.txt
	status=0; \
	$(GO) test -p 1 -run '^$$' -bench . -skip 'System' -benchmem -count $(BENCH_COUNT) -timeout 60m ./... >> bin/bench.txt 2>&1 || status=1; \
	echo "load: $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (1, 5, 15 min) before the whole-system runs" >> bin/bench.txt; \
	$(GO) test -p 1 -run '^$$' -bench 'System' -benchtime 1x -count 1 -timeout 90m ./... >> bin/bench.txt 2>&1 || status=1; \
	$(GO) run ./cmd/benchtable -o BENCHMARKS.md < bin/bench.txt || status=1; \
	exit $$status

## screens: every screen of the gate's web UI, of central's ops pages and of its storefront at phone and desktop size, in
## Chinese and English, as PNGs in SCREENS (outside the repo by default).
SCREENS ?= $${TMPDIR:-/tmp}/tixgate-screens
screens: deps
	TIXGATE_SCREENS="$(SCREENS)" $(GO) test -count 1 -run '^TestScreens' ./edge
	TIXGATE_SCREENS="$(SCREENS)" $(GO) test -count 1 -run '^TestOpsScreens$$' ./central
	TIXGATE_SCREENS="$(SCREENS)" $(GO) test -count 1 -run '^TestStorefrontInBrowser$$|^TestBuyByPhone$$' ./central/storefront
	@echo "screenshots in $(SCREENS)"

## demo: the whole venue on this machine (central, gates G1-G4 on 8081-8084,
## seller S1 on 8085, central on 8080), up until Ctrl-C; kept in ./demo-data
## for the next run (DEMO_FLAGS=--reset starts a new one, --crowd 20 brings a
## crowd, --base-port N moves the ports).
DEMO_FLAGS ?=
demo: host
	./$(BIN) demo $(DEMO_FLAGS)

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
