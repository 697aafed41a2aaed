# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=
PYTEST_ARGS ?=

QUICK  ?=
SOAK   ?=

.PHONY: run test lint format bench fuzz weaklink clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when the dependencies change.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/esp32-relay $(ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check relay signaling tests bench
	$(BIN)/ruff format --check relay signaling tests bench
	$(BIN)/mypy relay signaling

format: $(VENV)/.test-installed
	$(BIN)/ruff format relay signaling tests bench
	$(BIN)/ruff check --fix relay signaling tests bench

# Network and browser tests run inside a private network namespace that
# tests/netns-run makes: no packet of the suite leaves the machine.
test: lint
	bash tests/ensure-system-deps
	bash bench/install-gstreamer
	bash tests/netns-run $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The fuzz tests (tests/fuzz) run in the suite with 40 repeatable examples each; this runs
# 10,000 fresh ones each (FUZZ_EXAMPLES=N to change) and prints what was answered how.
FUZZ_EXAMPLES ?= 10000
fuzz: lint
	bash tests/ensure-system-deps
	ESP32_RELAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) bash tests/netns-run $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/fuzz $(PYTEST_ARGS)

# Chromium behind 600 kbit/s and 1 % loss beside one on the plain link, checked against
# the weak-link bounds (80 s; its frame rate sits close to the bound, so not in make test).
weaklink: $(VENV)/.bench-installed
	bash tests/ensure-system-deps
	ESP32_RELAY_WEAKLINK=1 bash tests/netns-run $(BIN)/python -m pytest -q -s tests/e2e/test_weak_link_chromium.py

# Benchmarks: this relay against GStreamer, aiortc's examples and the board's own MJPEG.
# QUICK=1 for a short run, SOAK=1 to add the one-hour soak. Writes bench/RESULTS.md.
bench: $(VENV)/.bench-installed
	bash tests/ensure-system-deps
	bash bench/install-gstreamer
	bash tests/netns-run $(BIN)/python -m bench.run $(if $(QUICK),--quick) $(if $(SOAK),--soak)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
