# sfn-callback-urls: the two set-up commands are `make run` and `make test`.
GO       ?= go
BIN      := bin
CLI      := $(BIN)/sfn-callback-urls
ARCH     ?= arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags='-s -w'
PKGS     := ./...

.PHONY: run test test-quick build lambdas deploy bench bench-load fuzz lint vet fmt clean \
	build-CreateUrlsFunction build-ProcessCallbackFunction

## run: the local server on embedded defaults, printing a demo task's URLs
## (the first run downloads and compiles the AWS SDK: it says so first)
run:
	@if [ "$$(GOPROXY=off $(GO) list -f '{{.Stale}}' github.com/aws/aws-sdk-go-v2/service/sfn 2>/dev/null)" != false ]; then \
	  echo "First build: go downloads the modules (about 100 MB with the AWS SDK for Go) and compiles them."; \
	  echo "That takes minutes (4.5 on a busy 2-core machine) with nothing printed; later runs start in seconds."; \
	fi
	@$(GO) build -o $(CLI) ./cmd/sfn-callback-urls
	@# exec: Ctrl-C reaches the server, which stops cleanly (go run would exit 1: a make error).
	exec $(CLI) serve --demo

## test: vet, then every test (race detector on), and a last line saying
## what was skipped and why (a missing tool: Chromium, moto_server, ...)
SHELL := bash
test: vet
	@echo "make test: every package with the race detector; about 5 minutes on 2 cores with a warm build cache (the first run compiles the AWS SDK: add 5)."
	@set -o pipefail; $(GO) test -race -count=1 -json $(PKGS) | $(GO) run ./internal/testsummary

## test-quick: the fast tests (-short: no builds of binaries, no moto,
## browsers, emulators or cfn-lint), under a minute with a warm build cache
test-quick:
	$(GO) test -short -count=1 $(PKGS)

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

# examples: the example applications' functions (examples/*/template.yaml,
# CodeUri ../..), built by `sam build` in an example's directory; `make
# examples` builds them all and the activity worker into build/examples/.
.PHONY: examples build-ApprovalEmailFunction build-SqsCallbackFunction build-WebhookDispatchFunction
build-ApprovalEmailFunction:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./examples/approval-email

build-SqsCallbackFunction:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./examples/sqs-callback

build-WebhookDispatchFunction:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./examples/webhook

examples:
	@for fn in ApprovalEmailFunction SqsCallbackFunction WebhookDispatchFunction; do \
	  echo "build/examples/$$fn/bootstrap"; \
	  $(MAKE) --no-print-directory build-$$fn ARTIFACTS_DIR=build/examples/$$fn || exit 1; \
	done
	$(GO) build -trimpath -o build/examples/activity-worker ./examples/activity-worker

## deploy: sam build, then sam deploy with samconfig.toml (needs the SAM CLI
## and AWS credentials); more flags in SAM_DEPLOY_FLAGS, e.g. --guided or
## --parameter-overrides 'EnablePostActions=true'
SAM ?= sam
SAM_DEPLOY_FLAGS ?=
deploy:
	$(SAM) build
	$(SAM) deploy $(SAM_DEPLOY_FLAGS)

## bench: every benchmark, 5 runs each
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 $(PKGS)

## bench-load: the local server under 1, 16 and 128 clients doing full flows
## (LOAD_FLOWS each), this tree against the store before group commit (LOAD_BEFORE)
LOAD_BEFORE ?= 8fc99ba
LOAD_FLOWS  ?= 3000
bench-load:
	LOAD_BEFORE=$(LOAD_BEFORE) $(GO) test -run='^$$' -bench='^BenchmarkLoad$$' -benchtime=$(LOAD_FLOWS)x -timeout=30m ./internal/loadtest

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
