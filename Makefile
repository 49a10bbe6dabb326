# Two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench screenshots lint clean

# Python may keep its compiled files (and pytest its assert-rewritten tests) in __pycache__:
# without them every test process compiles the suite again (~9 s each for test-fast).
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $(STAMP)

# `PORT=8001 make run` (or `make run PORT=8001`) serves on another port.
PORT ?= 8000

run: $(STAMP)
	@$(BIN)/youthvoice migrate
	@$(BIN)/youthvoice demo --if-empty --quiet
	@$(BIN)/youthvoice serve --host 127.0.0.1 --port $(PORT) --summary

test: $(STAMP)
	scripts/ensure-system.sh
	YOUTHVOICE_REQUIRE_PG=1 YOUTHVOICE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -p no:cacheprovider

# While working: everything but the heavy tests (browser, load, kill -9, backup, fuzz, differencing, live
# updates, the wheel install), on both databases, two processes at once.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -q -n 2 --dist worksteal -m "not browser and not slow"

bench: $(STAMP)
	scripts/ensure-system.sh
	$(BIN)/python -m bench
	$(BIN)/python -m bench.release

screenshots: $(STAMP)
	scripts/ensure-system.sh
	$(BIN)/python -m tests.browser.screenshots

lint: $(STAMP)
	$(BIN)/ruff check youthvoice survey workshops analysis tests bench

clean:
	rm -rf $(VENV) build *.egg-info
