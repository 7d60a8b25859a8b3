#!/usr/bin/env bash
# Set up (idempotent), then scrape all seven emotions from Google Images, extract
# the faces and open the review app. Arguments go to `facesift run`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/facesift run "$@"
