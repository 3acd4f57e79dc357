#!/usr/bin/env bash
# Evidence for the global hotkey: start the app hidden under Xvfb, press Ctrl+Alt+Space with
# xdotool, type without clicking anything (so the keys land only if the window took focus),
# and capture the screen to docs/screenshots/hotkey.png. Needs xvfb, xdotool and Pillow.
set -euo pipefail
cd "$(dirname "$0")/../.."
display=:57
home=$(mktemp -d)
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 & xvfb=$!
trap 'kill $app $xvfb 2>/dev/null; rm -rf "$home"' EXIT
export DISPLAY=$display NOTESEARCH_HOME=$home
unset QT_QPA_PLATFORM
python -m notesearch index notesearch/resources/sample_notes --no-embed >/dev/null
python -c "from pathlib import Path; from notesearch.core.config import Settings as S
s = S.load(Path('$home')); s.first_run_done = True; s.save(Path('$home'))"
python -m notesearch.gui.app hidden & app=$!
sleep 30  # start-up and hotkey registration (slow on a loaded 2-core machine)
xdotool key ctrl+alt+space
sleep 3
echo "focused window: $(xdotool getwindowfocus getwindowname)"
xdotool type --delay 100 "tomato leaves"
sleep 6
python -c "from PIL import ImageGrab; ImageGrab.grab(xdisplay='$display').save('docs/screenshots/hotkey.png')"
