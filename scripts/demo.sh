#!/usr/bin/env bash
# Install skillvoucher in .venv (with the portals' browser assets, fetched once from npm) and run
# the demo on the embedded SQLite database. Extra arguments go to `skillvoucher demo`.
# Afterwards `.venv/bin/skillvoucher serve` serves the portals at http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-assets.sh
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet .
.venv/bin/skillvoucher demo "$@"
echo
echo "Now: .venv/bin/skillvoucher serve   then open http://127.0.0.1:8000/ (demo accounts on the sign-in page)"
