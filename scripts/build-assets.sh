#!/usr/bin/env bash
# Fetch the portals' third-party browser assets (htmx, ECharts, jsQR) from the npm registry at the
# versions package-lock.json fixes, and copy the built files into the Python package. Nothing is
# committed and nothing is fetched at run time: the app serves these copies itself.
set -euo pipefail
cd "$(dirname "$0")/.."

vendor=src/skillvoucher/web/static/vendor
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed once to fetch the portals' browser assets (apt-get install npm)" >&2
    exit 1
fi
(cd frontend && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
mkdir -p "$vendor"
cp frontend/node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"
cp frontend/node_modules/echarts/dist/echarts.min.js "$vendor/echarts.min.js"
cp frontend/node_modules/jsqr/dist/jsQR.js "$vendor/jsQR.js"
cp frontend/node_modules/htmx.org/LICENSE "$vendor/htmx.LICENSE"
cp frontend/node_modules/echarts/LICENSE "$vendor/echarts.LICENSE"
cp frontend/node_modules/jsqr/LICENSE "$vendor/jsQR.LICENSE"
