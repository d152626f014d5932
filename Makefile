# sfn-callback-urls: the two set-up commands are `make run` and `make test`.
GO       ?= go
BIN      := bin
CLI      := $(BIN)/sfn-callback-urls
ARCH     ?= arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags='-s -w'
PKGS     := ./...

.PHONY: run test build lambdas bench fuzz lint vet fmt clean \
	build-CreateUrlsFunction build-ProcessCallbackFunction

## run: the local server on embedded defaults, printing a demo task's URLs
run:
	$(GO) run ./cmd/sfn-callback-urls serve --demo

## test: vet, then every test (race detector on)
test: vet
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	 if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: staticcheck (installed on demand from the Go module proxy)
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

## build: the CLI and both Lambda bootstraps for arm64 and amd64
build: $(CLI) lambdas

$(CLI): FORCE
	$(GO) build -trimpath -o $@ ./cmd/sfn-callback-urls

lambdas:
	@for arch in arm64 amd64; do for fn in create-urls process-callback; do \
	  echo "build/$$arch/$$fn/bootstrap"; \
	  GOOS=linux GOARCH=$$arch CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/$$arch/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done; done

# Targets `sam build` calls (BuildMethod: makefile); ARTIFACTS_DIR is SAM's.
build-CreateUrlsFunction:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-urls

build-ProcessCallbackFunction:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/process-callback

## bench: every benchmark, 5 runs each
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 $(PKGS)

## fuzz: each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; done

clean:
	rm -rf $(BIN) build .aws-sam

FORCE:
