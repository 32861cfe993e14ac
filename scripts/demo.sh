#!/usr/bin/env bash
# Set up, create the demo data on the embedded default (SQLite) and serve the web app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/consult demo --fresh
exec .venv/bin/consult serve "$@"
