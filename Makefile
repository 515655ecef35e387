# The two commands: `make run` brings the platform up on the embedded stack, `make test` runs the suite.
# Both install what they need into .venv from the pinned requirements.lock first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test fuzz test-unit test-integration test-e2e test-fault demo lock schemas docs-events bench token screenshots lint clean

## The console's gettext catalogues: the .po files are committed, the .mo files compiled here (not committed).
PO_FILES := $(wildcard services/console/locales/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

install: $(STAMP) $(MO_FILES)

%.mo: %.po | $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

## promtool checks the Prometheus configuration and alert rules (tests/deploy/test_monitoring.py): taken from
## Debian's prometheus package, unpacked into .venv/bin (not installed: no service, no dependencies).
PROMTOOL := $(BIN)/promtool
$(PROMTOOL): | $(STAMP)
	@if command -v promtool >/dev/null 2>&1; then ln -sf "$$(command -v promtool)" $@; else \
	  tmp=$$(mktemp -d); \
	  ( cd $$tmp && { apt-get download -q prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download -q prometheus >/dev/null; }; } \
	    && dpkg-deb -x prometheus_*.deb x && cp x/usr/bin/promtool $(CURDIR)/$@ ) || true; rm -rf $$tmp; \
	  test -x $@ || echo "promtool could not be installed (it comes from Debian's apt); its checks are skipped outside CI"; fi

## Start embedded PostgreSQL + tansu, migrate, run all five services. Ctrl-C stops everything.
run: install
	$(BIN)/python -m shared.devstack run

## The whole suite against real PostgreSQL and a real Kafka-protocol broker (started by the tests on free ports), in
## TEST_JOBS processes (pytest-xdist): the tests that start the platform's processes run one after another on one of
## them (tests/conftest.py), everything else is shared out module by module. TEST_JOBS=0 runs it in this process.
TEST_JOBS ?= 2
test: install $(PROMTOOL)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 -n $(TEST_JOBS) --dist loadgroup $(PYTEST_ARGS)

## Schema fuzzing, deeper than in `make test`: schemathesis against the five services on the running platform.
fuzz: install
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_schemathesis.py $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

demo: install
	$(BIN)/python -m demo $(DEMO_ARGS)

## Regenerate the pinned lock file from pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra embedded -o requirements.lock --python-version 3.11 -q

## Regenerate the committed JSON Schemas and the event catalogue from the Pydantic models.
schemas: install
	$(BIN)/python -m shared.cli schemas --write

## The plumbing against the raw stack, with growth at 10k and 100k events (~10 min on 2 busy cores; BENCH_ARGS=--million
## adds 1M, BENCH_ARGS="--plot docs/images/bench-growth.png" redraws the curves of docs/benchmarks.md), and the latency
## under the demo's load (~2 min more: the whole platform and `python -m demo`; alone: python -m bench --only demo).
bench: install
	$(BIN)/python -m bench --growth $(BENCH_ARGS)

## Mint a development token (signed with the dev key; for all six services unless AUD=registry,...):
## make token ROLES=ward_official WARD=phu-son
## a feed subscriber's OAuth client-credentials token: make token ROLES=feed_subscriber WARD=other-ward AZP=<client id>
token: install
	@$(BIN)/python -m shared.cli token --roles $(or $(ROLES),ward_official) --ward '$(or $(WARD),phu-son)' --sub $(or $(SUB),dev-user) $(if $(AUD),--aud $(AUD)) $(if $(AZP),--azp $(AZP))

## The console's screenshots in docs/console.md, from the browser tests' artefacts (run them first).
screenshots: install
	$(BIN)/python docs/images/console/shrink.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf .data $(VENV)
