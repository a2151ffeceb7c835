# Two commands do everything on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench soak clean

# pip prints each package as it is collected and installed (a few minutes on a fresh machine),
# so a first `make run` or `make test` shows progress instead of minutes of silence.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (a few minutes the first time)..."
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on \
	  -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Ports: WEB_PORT=8080 (or WEB_BIND=host:port), REDIS_PORT, RECEIVER_PORT; links follow WEB_BIND
# unless PUBLIC_BASE_URL is set.
run: install
	$(BIN)/python -m devtools.devstack

# The whole suite twice: on SQLite (the embedded default), then on a real PostgreSQL server
# that tests/support/postgres.py starts and removes.
test: install chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m tests.support.postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff, and the app map's import contracts (pyproject.toml, [tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The delivery benchmark (bench/): its own Redis, receiver and workers; a fresh SQLite file, or
# PostgreSQL when DATABASE_URL points to one. BENCH_ARGS=--quick for a short run; BENCH_SCALE
# shrinks the counts. Results go to bench/results/.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Debian's Chromium for the browser tests (tests/browser), installed once with apt-get when
# /usr/bin/chromium is missing and we are root; otherwise a note, and those tests skip.
CHROMIUM_STAMP := $(VENV)/.installed-chromium
.PHONY: chromium

$(CHROMIUM_STAMP):
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    || echo "note: installing chromium failed; the browser tests will be skipped."; \
	fi
	@if [ -x /usr/bin/chromium ]; then mkdir -p $(VENV) && touch $(CHROMIUM_STAMP); \
	else echo "note: /usr/bin/chromium is missing (installing it needs root and apt-get);" \
	  "the browser tests will be skipped."; fi

chromium: $(CHROMIUM_STAMP)

# Fault-injection soak: SOAK_SECONDS (default 120) of mixed events with 20% receiver errors, a
# worker restart every 30 s and one Redis restart; prints the tally, fails if anything is lost.
soak: install
	$(BIN)/python -m tools.soak

clean:
	rm -rf $(VENV) .local staticfiles
