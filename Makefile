# The same commands locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
JARS   := build/jars
MVN    := mvn -q -B
DEP    := org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies

.PHONY: setup browser demo test test-unit test-integration lint format bench lock clean

## setup: virtualenv in .venv with pinned packages + the Kafka/Spark jars resolved by Maven
setup: $(VENV)/.installed $(JARS)/.resolved

# setup.py and the .pyx files: pip builds the compiled ingest hot path (Cython) into src/ with the package
$(VENV)/.installed: requirements.lock pyproject.toml setup.py $(wildcard src/streamsift/*/*.pyx)
	@command -v java >/dev/null || { echo "Java 17 is required (apt-get install openjdk-17-jdk-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is required (apt-get install maven)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock -e .
	touch $@

$(JARS)/.resolved: infra/maven/kafka/pom.xml infra/maven/spark/pom.xml
	rm -rf $(JARS)
	$(MVN) -f infra/maven/kafka/pom.xml $(DEP) -DoutputDirectory=$(CURDIR)/$(JARS)/kafka -DincludeScope=runtime
	$(MVN) -f infra/maven/spark/pom.xml $(DEP) -DoutputDirectory=$(CURDIR)/$(JARS)/spark -DincludeScope=runtime
	touch $@

## browser: Debian's Chromium for the UI tests (Playwright drives it; no browser download)
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "the UI tests need Chromium: sudo apt-get install chromium"; exit 1; fi; }

## demo: the whole loop on the synthetic stream (infra, ingest, labels, model, serve, live classification, dashboard)
demo: setup
	$(BIN)/streamsift demo

## test: the whole suite (unit + integration against real Kafka, PostgreSQL, Spark)
test: setup browser lint
	$(BIN)/pytest

test-unit: setup
	$(BIN)/pytest tests/unit

test-integration: setup browser
	$(BIN)/pytest tests/integration

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(VENV)/.installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: setup
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/labeling_throughput.py
	$(BIN)/python bench/web_next_item.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^streamsift' | sort > requirements.lock.new
	(echo "# Exact pins for a reproducible install: pip install -r requirements.lock -e ."; \
	 echo "# Regenerate with: make lock (after changing pyproject.toml)"; cat requirements.lock.new) > requirements.lock
	rm requirements.lock.new

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache src/streamsift/*/_*_native.c src/streamsift/*/*.so
