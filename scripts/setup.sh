#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Chromium and its driver (what pip cannot
# install), a .venv with Python >= 3.11, and facesift with the extras named in $1
# (e.g. "test"). Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

say() { printf 'setup: %s\n' "$*" >&2; }

have_browser() {
  command -v chromedriver >/dev/null 2>&1 &&
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
      command -v google-chrome >/dev/null 2>&1; }
}

apt_install() {
  # Only as root on Debian/Ubuntu; otherwise say what to install and stop.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    case "$(uname -s)" in
      Darwin) say "please install: brew install python@3.11 && brew install --cask chromium chromedriver" ;;
      *) say "please install the packages: $* (e.g. sudo apt-get install $*), then rerun" ;;
    esac
    exit 1
  fi
}

find_python() {
  for py in python3.11 python3.12 python3.13 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$py"
      return
    fi
  done
  return 1
}

have_browser || apt_install chromium chromium-driver

python=$(find_python) || { apt_install python3 python3-venv; python=$(find_python); }
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv 2>/dev/null || { apt_install python3-venv; rm -rf .venv; "$python" -m venv .venv; }
fi

# Reinstall only when the dependency list or the extras changed.
stamp=".venv/.facesift-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) [$extras]"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing facesift${extras:+[$extras]} into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  printf '%s' "$want" >"$stamp"
fi
