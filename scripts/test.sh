#!/usr/bin/env bash
# Install skillvoucher with its test tools in .venv (and the portals' browser assets from npm),
# then lint, type-check and run every test on SQLite and on the PostgreSQL server named by
# SKILLVOUCHER_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test),
# and the browser tests in the machine's Chromium (scripts/install-browser.sh installs it).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-assets.sh
bash scripts/install-browser.sh || echo "no Chromium: the browser tests will be skipped" >&2
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

.venv/bin/ruff check src tests
.venv/bin/mypy
mkdir -p test-artifacts
.venv/bin/pytest --junitxml=test-artifacts/junit.xml "$@"
