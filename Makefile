# The two commands a new user needs:
#   make run    build and run the demo: a simulated site polled end to end (see README.md)
#   make test   install the test dependencies and run every test
GO      ?= go
# One version source (internal/version), stamped by the linker. DATE is the
# commit's time, not the build's, so a rebuild of a commit is identical.
VERSION ?= $(shell ./scripts/version.sh)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
VPKG    := github.com/panoptes-go/panoptes/internal/version
LDFLAGS := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Commit=$(COMMIT) -X $(VPKG).Date=$(DATE)

.PHONY: build run test test-short fuzz bench deps vet fmt-check clean

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

# Every test, integration included, under the race detector (about two
# minutes on two cores).
test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 9m ./...
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Every fuzz target for FUZZTIME each (docs/FUZZING.md); make test runs it
# after the tests. A longer run: make fuzz FUZZTIME=3m
FUZZTIME ?= 5s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin data
