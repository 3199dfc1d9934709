# The two commands (see README.md):  make demo   and   make test
# Both create or refresh .venv. torch is installed first and pinned: an unpinned torch pulls a
# multi-GB CUDA build (see ../shared/ENVIRONMENT.md).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.lamworks-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: demo test lint typecheck install clean-demo chromium oidc-provider axe-core

$(STAMP): pyproject.toml plugins/education/pyproject.toml plugins/healthcare/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]' -e 'plugins/education[dev]' -e 'plugins/healthcare[dev]'
	touch $(STAMP)

install: $(STAMP)

# Start the web app on the example institution (http://127.0.0.1:8501). The plugins' sample
# documents are indexed first (incremental: unchanged files are not embedded again), so document
# questions and the tutor work from the first request.
demo: $(STAMP)
	$(VENV)/bin/lamworks kb sync --config examples/lamworks.toml
	$(VENV)/bin/lamworks ui --config examples/lamworks.toml

# ruff, then the whole pytest suite (slow tests included; the browser tests need Chromium).
test: $(STAMP) chromium oidc-provider axe-core
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded by it).
chromium:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# The OpenID Connect provider the sign-in tests start on loopback (npm `oidc-provider`, pinned by
# the committed lock file). Installed here, never at test time: the tests need no network.
OIDC_MODULES := tests/oidc/node_modules/.package-lock.json
oidc-provider: $(OIDC_MODULES)
$(OIDC_MODULES): tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund

# axe-core, which the accessibility tests inject into the web app's pages through Playwright
# (pinned by the committed lock file). Installed here, never at test time.
AXE_MODULES := tests/a11y/node_modules/.package-lock.json
axe-core: $(AXE_MODULES)
$(AXE_MODULES): tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# mypy cannot follow setuptools' folder mapping (lamworks -> core/), so it checks a link tree.
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/lamworks
	for f in core/*.py core/py.typed core/planner; do ln -s ../../$$f .typecheck/lamworks/; done
	ln -s ../../knowledge .typecheck/lamworks/knowledge
	ln -s ../../ui .typecheck/lamworks/ui
	cd .typecheck && ../$(VENV)/bin/mypy -p lamworks

clean-demo:
	rm -rf .lamworks-demo
