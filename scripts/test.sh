#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine (apt + venv), then run the test suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: a real keyring (gnome-keyring on a private D-Bus), Xvfb and xdotool for the
# global-hotkey test, and the libraries Qt needs to run offscreen.
APT_PACKAGES=(dbus gnome-keyring xvfb xdotool libxcb-icccm4 libxcb-keysyms1 libegl1 libgl1
              libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 desktop-file-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/mypy
# A basetemp of our own: concurrent pytest sessions on one machine prune each other's
# /tmp/pytest-of-USER folders (seen here as a vanished working directory mid-run).
exec .venv/bin/python -m pytest -q --basetemp=.pytest_tmp "$@"
