# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app proxiservices
STAMP := $(VENV)/.installed
# Browser tests (tests/browser) drive Debian's Chromium through Playwright.
PROXISERVICES_CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install browser db seed lint clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

db: install
	$(FLASK) db upgrade

seed: db
	$(FLASK) seed --demo

run: seed
	$(FLASK) run --host 127.0.0.1 --port 5000

# Installs Chromium when missing and run as root; otherwise warns: the browser tests are
# then skipped with a warning (or fail when PROXISERVICES_REQUIRE_BROWSER=1, as in CI).
browser:
	@if [ -x "$(PROXISERVICES_CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installation de Chromium pour les tests navigateur : apt-get install -y chromium"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null \
	    || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	    || echo "AVERTISSEMENT : échec de apt-get install -y chromium : tests navigateur sautés (en échec en CI)"; \
	else \
	  echo "AVERTISSEMENT : Chromium absent ($(PROXISERVICES_CHROMIUM)) : tests navigateur sautés (en échec en CI)."; \
	  echo "  Pour les lancer : apt-get install -y chromium (en root), ou make test en root."; \
	fi

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance/*.sqlite3
