# Portico: `make run` serves on :8000 with the embedded database; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

# Every target runs on Node 24 LTS (.node-version): the node on PATH when it is that major, else a
# pinned binary that scripts/runtime.sh brings from the npm registry (and says so in one line).
RUNTIME_BIN := $(shell bash scripts/runtime.sh)
ifneq ($(.SHELLSTATUS),0)
$(error scripts/runtime.sh could not provide Node $(shell cat .node-version))
endif
ifneq ($(RUNTIME_BIN),)
export PATH := $(RUNTIME_BIN):$(PATH)
endif

INSTALLED := node_modules/.make-installed
BIN := node_modules/.bin

.PHONY: help install generate build console run worker dev migrate lint typecheck drift check test fuzz bench soak simulate docs sdk clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# npm ci when node_modules is missing or older than the lock file or the runtime pin.
$(INSTALLED): package-lock.json .node-version
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED) ## Install dependencies (npm ci) if needed

generate: $(INSTALLED) ## Bundle openapi/ and regenerate the TypeScript types (service and SDK)
	node scripts/generate.mjs

build: $(INSTALLED) console ## Compile the service to dist/, with the console
	$(BIN)/tsc -p tsconfig.build.json

console: $(INSTALLED) ## Build the operator console (console/, Vite) into dist/console, served at /console
	$(BIN)/vite build --config console/vite.config.ts --logLevel warn

run: build ## Install, build, migrate and serve on :8000 (embedded database unless DATABASE_URL is set)
	node dist/src/server.js

worker: build ## Run task workers only (no HTTP); pair with API processes started with RUN_WORKERS=false
	node dist/src/worker.js

dev: $(INSTALLED) ## Serve with reload on change
	$(BIN)/tsx watch src/server.ts

migrate: build ## Apply pending migrations to the configured database
	node dist/src/cli/migrate.js

lint: $(INSTALLED) ## Lint the spec (redocly) and the code (typescript-eslint, and the layering ARCHITECTURE.md draws)
	$(BIN)/redocly lint --format=stylish
	$(BIN)/eslint --cache --cache-location node_modules/.cache/eslint/ .

typecheck: $(INSTALLED) ## Type-check the service, tests, SDK and console
	$(BIN)/tsc -p tsconfig.json --noEmit
	$(BIN)/tsc -p clients/typescript/tsconfig.json --noEmit
	$(BIN)/tsc -p clients/typescript/tsconfig.test.json --noEmit
	$(BIN)/tsc -p console/tsconfig.json --noEmit

drift: $(INSTALLED) ## Fail if generated files differ from what the spec produces
	node scripts/generate.mjs --check

check: lint typecheck drift ## Spec and code lint, type-check and drift check

test: check console ## Everything: checks, the console build (its browser tests load it), then the whole test suite
	$(BIN)/vitest run

fuzz: $(INSTALLED) ## Fuzz with fresh random seeds for FUZZ_SECONDS (300) per engine; prints each failing seed to add to test/fuzz-seeds.json
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(BIN)/vitest run test/fuzz.test.ts

bench: $(INSTALLED) ## Benchmarks on Postgres: events vs the FastAPI reference, job pickup, inference tasks, SSE, gateway overhead (see bench/)
	bash bench/events.sh
	$(BIN)/tsx bench/pickup.ts
	$(BIN)/tsx bench/inference.ts
	$(BIN)/tsx bench/sse.ts
	$(BIN)/tsx bench/gateway.ts

soak: $(INSTALLED) ## A 10-minute soak of a steady mix at half the maximum (SOAK_SECONDS to change)
	$(BIN)/tsx bench/soak.ts

simulate: $(INSTALLED) ## Simulated travellers label 500 tasks, train, and compare rankings (see bench/simulate.ts)
	$(BIN)/tsx bench/simulate.ts

docs: $(INSTALLED) ## Write the API reference as one static HTML file to docs/index.html
	$(BIN)/redocly build-docs src/generated/openapi.yaml --inlineBundle --output docs/index.html

sdk: $(INSTALLED) ## Build and pack the SDK (clients/typescript) into a tarball
	cd clients/typescript && npm pack

clean: ## Remove build output, the embedded database and test artifacts
	rm -rf dist .data clients/typescript/dist test-results docs
