#!/usr/bin/env bash
# Set up (idempotent) with the test extra, lint, then run the whole test suite.
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
