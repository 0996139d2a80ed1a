# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONUNBUFFERED := 1

.PHONY: run test test-slow test-browser bench lint train-defaults browser-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

# Prints the dashboard's address and opens it in a browser (where there is a display); on a first start the
# first page opened trains the default runs in the background.
run: $(VENV)/.installed-run
	$(BIN)/python -m dashboard.serve

# Two test processes (the suite is mostly single-threaded tracing); a file's tests stay together.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m slow

train-defaults: $(VENV)/.installed-run
	$(BIN)/python -m pipelines.defaults --resume

bench: $(VENV)/.installed-run
	$(BIN)/python bench/bench_windows.py
	$(BIN)/python bench/bench_gradient_logger.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_epoch_loop.py
	$(BIN)/python bench/bench_generation.py
	$(BIN)/python bench/bench_dashboard.py
	$(BIN)/python bench/bench_pipeline_epoch.py
	$(BIN)/python bench/bench_sweep_workers.py
	$(BIN)/python bench/bench_compiled.py
	$(BIN)/python bench/bench_compiled.py --batches 32 128 --lengths 100 400 --beside
	$(BIN)/python bench/bench_compiled_parts.py
	$(BIN)/python bench/bench_threads.py
	$(BIN)/python bench/bench_defaults.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Debian's Chromium (driven by Playwright, which downloads no browser of its own).
browser-deps: $(VENV)/.installed-test
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	$(BIN)/python -m pip install --quiet -e '.[test,browser]'

test-browser: browser-deps
	$(BIN)/python -m pytest -q -m browser

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
