#!/usr/bin/env bash
# Set up (idempotent) with the test and cluster extras, lint, then run the whole test suite
# on every core (pytest-xdist; the slow tests are collected first and handed out two at a
# time, so no core ends up with all of them). Arguments go to pytest: `./test.sh -m "not
# slow"` is the quick subset while working; `./test.sh -n 0 tests/faces` runs in one process.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test,cluster
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -n "${FACESIFT_TEST_WORKERS:-$(nproc)}" --maxschedchunk 2 --durations=25 "$@"
