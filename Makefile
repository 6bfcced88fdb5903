# Portico: `make run` serves on :8000 with the embedded database; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

INSTALLED := node_modules/.make-installed
BIN := node_modules/.bin

.PHONY: help install generate build run worker dev migrate lint typecheck drift check test bench soak simulate docs sdk clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# npm ci when node_modules is missing or older than the lock file.
$(INSTALLED): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED) ## Install dependencies (npm ci) if needed

generate: $(INSTALLED) ## Bundle openapi/ and regenerate the TypeScript types (service and SDK)
	node scripts/generate.mjs

build: $(INSTALLED) ## Compile the service to dist/
	$(BIN)/tsc -p tsconfig.build.json

run: build ## Install, build, migrate and serve on :8000 (embedded database unless DATABASE_URL is set)
	node dist/src/server.js

worker: build ## Run task workers only (no HTTP); pair with API processes started with RUN_WORKERS=false
	node dist/src/worker.js

dev: $(INSTALLED) ## Serve with reload on change
	$(BIN)/tsx watch src/server.ts

migrate: build ## Apply pending migrations to the configured database
	node dist/src/cli/migrate.js

lint: $(INSTALLED) ## Lint the spec (redocly, recommended rules)
	$(BIN)/redocly lint --format=stylish

typecheck: $(INSTALLED) ## Type-check the service, tests and SDK
	$(BIN)/tsc -p tsconfig.json --noEmit
	$(BIN)/tsc -p clients/typescript/tsconfig.json --noEmit
	$(BIN)/tsc -p clients/typescript/tsconfig.test.json --noEmit

drift: $(INSTALLED) ## Fail if generated files differ from what the spec produces
	node scripts/generate.mjs --check

check: lint typecheck drift ## Spec lint, type-check and drift check

test: check ## Everything: checks, then the whole test suite
	$(BIN)/vitest run

bench: $(INSTALLED) ## Benchmarks on Postgres: events vs the FastAPI reference, inference tasks, SSE (see bench/)
	bash bench/events.sh
	$(BIN)/tsx bench/inference.ts
	$(BIN)/tsx bench/sse.ts

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
