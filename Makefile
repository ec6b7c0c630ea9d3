# Coachdesk: `make run` serves the console on its embedded default; `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: run test install install-dev translations lint bench clean-instance

$(VENV)/.runtime: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime translations
install-dev: $(VENV)/.dev translations

# Compile the Babel catalogues (the .mo files are build output, not committed).
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -f -d translations >/dev/null

run: install
	$(BIN)/python run.py

test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && PYTHONPATH=. $(BIN)/lint-imports

# Refresh the catalogues after marking new strings (English source, Spanish, German).
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _ -k lazy_pgettext:1c,2 -o translations/messages.pot app reports config.py
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

# `make bench` lists the benchmarks; `make bench BENCH=bookings` runs one.
bench: install-dev
	$(BIN)/python -m bench $(BENCH)

clean-instance:
	rm -rf instance
