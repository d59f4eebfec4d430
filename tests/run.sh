#!/usr/bin/env bash
# The project's test command (README.md): installs what the tests need, builds the site, runs every test.
# Chromium comes from Debian's packages (never `playwright install`); set CIO_BROWSER_CHROMIUM to use another.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -z "${CIO_BROWSER_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
"$PY" -m pip install -q --disable-pip-version-check -e ".[test]"
"$PY" build.py --quiet
"$PY" -m ruff check .
# unit and relay (real HTTP, no browser) tests first: fast feedback, and no browser session around while they run
[ $# -eq 0 ] && set -- tests/unit tests/relay tests/browser
"$PY" -m pytest -q -p no:cacheprovider "$@"
