# The two commands a new user needs:
#   make run    build and run the demo: a simulated site polled end to end (see README.md)
#   make test   install the test dependencies and run every test
GO      ?= go
# One version source (internal/version), stamped by the linker; see
# scripts/version.sh. `make release VERSION=v1.2.3` overrides it.
VERSION ?=
LDFLAGS := $(shell VERSION='$(VERSION)' ./scripts/version.sh --ldflags)

.PHONY: build run test tidy-check test-short test-deb test-deploy release image fuzz bench deps vet fmt-check clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/panoptes ./cmd/panoptes

deps:
	./scripts/install-deps.sh

run: build
	./bin/panoptes demo

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# go.mod lists exactly what is imported, direct imports as direct (and so
# for the tools module deploy/check).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@$(GO) -C deploy/check mod tidy -diff || { echo "deploy/check: run go -C deploy/check mod tidy"; exit 1; }

# Every test, integration included, under the race detector, then the fuzz
# targets briefly (TEST_FUZZTIME each: CI's fixed budget; 23 targets ≈ 2 min),
# the Debian package (installed and purged: root) and the deployment examples.
# go test runs no vet of its own (-vet=off): the vet step before it runs every
# analyzer on the same files. Beside go test, at the lowest CPU priority,
# scripts/prebuild.sh builds the fuzz binaries and the static build's
# packages; it is stopped when go test ends (what is built is kept). The time
# it takes, measured: README.md, Development.
TEST_FUZZTIME ?= 5s
test: deps fmt-check vet tidy-check
	fuzzbin=$$(mktemp -d) && trap 'rm -rf "$$fuzzbin"' EXIT && \
	{ GO=$(GO) FUZZ_BINDIR=$$fuzzbin setsid nice -n 19 ./scripts/prebuild.sh & } && prebuild=$$! && \
	{ $(GO) test -race -count=1 -vet=off -timeout 9m ./...; rc=$$?; kill -- -$$prebuild 2>/dev/null; wait; [ $$rc -eq 0 ]; } && \
	GO=$(GO) FUZZ_BINDIR=$$fuzzbin FUZZTIME=$(TEST_FUZZTIME) ./scripts/fuzz.sh
	$(MAKE) --no-print-directory test-deb test-deploy

# Every fuzz target for FUZZTIME each (docs/FUZZING.md); make test runs them
# for TEST_FUZZTIME. A longer run: make fuzz FUZZTIME=3m
FUZZTIME ?= 5s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# Static linux/amd64 and linux/arm64 binaries, Debian packages and
# SHA256SUMS in dist/ (scripts/release.sh).
release:
	VERSION='$(VERSION)' ./scripts/release.sh dist amd64 arm64

# The container image (needs Docker with BuildKit; see the Dockerfile).
image:
	docker build --build-arg VERSION=$$(VERSION='$(VERSION)' ./scripts/version.sh) \
	  --build-arg COMMIT=$$(git rev-parse HEAD) \
	  --build-arg DATE=$$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ) \
	  -t panoptes:$$(VERSION='$(VERSION)' ./scripts/version.sh | tr + _) .

# The Debian package installed, run as its unit would and purged (root:
# it skips, saying so, without root unless CI=true).
test-deb:
	./scripts/test-deb.sh

# The container and Kubernetes examples: schema and reference checks.
test-deploy:
	./scripts/test-deploy.sh

clean:
	rm -rf bin data dist
