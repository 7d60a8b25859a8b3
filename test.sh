#!/usr/bin/env bash
# Set up (idempotent) with the test and cluster extras, lint, then run the whole test suite
# with pytest-xdist on one worker more than there are cores (a good part of the suite waits
# on browsers, servers and subprocesses: on 2 cores, 3 workers took 5:34 where 2 took 6:33);
# the slow tests are collected first and handed out two at a time, so no worker ends up
# with all of them. Arguments go to pytest: `./test.sh -m "not
# slow"` is the quick subset while working; `./test.sh -n 0 tests/faces` runs in one process.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test,cluster
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -n "${FACESIFT_TEST_WORKERS:-$(($(nproc) + 1))}" --maxschedchunk 2 --durations=25 "$@"
