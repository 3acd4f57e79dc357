"""Render notesearch.svg to the PNG sizes desktops want and to a Windows .ico (run with Qt)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "notesearch" / "gui" / "icons" / "notesearch.svg"
PNG_DIR = ROOT / "packaging" / "linux" / "icons"
ICO = ROOT / "packaging" / "windows" / "notesearch.ico"
SIZES = (16, 32, 48, 64, 128, 256, 512)
# Windows shows 16-48 in lists and 256 in large views; 512 would only bloat the .exe.
ICO_SIZES = (16, 32, 48, 64, 128, 256)
# macOS .iconset names (what `iconutil -c icns` reads): point size, and @2x for Retina.
ICONSET = {f"icon_{p}x{p}{suffix}.png": p * scale
           for p in (16, 32, 128, 256, 512) for suffix, scale in (("", 1), ("@2x", 2))}


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """The SVG drawn into a transparent size x size image, antialiased."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO whose entries are PNGs (valid since Windows Vista; smaller than BMP entries)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(pngs)
    entries, payload = b"", b""
    for size, data in sorted(pngs.items()):
        # A width/height byte of 0 means 256, the largest an ICO entry can declare.
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        payload += data
    return header + entries + payload


def write_iconset(renderer: QSvgRenderer, folder: Path) -> None:
    """A macOS .iconset folder, for packaging/macos/build_app.sh (not committed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, pixels in ICONSET.items():
        (folder / name).write_bytes(png_bytes(render(renderer, pixels)))


def main(argv: list[str]) -> int:
    """`render_icons.py` writes the committed PNGs and .ico; `--iconset DIR` a macOS iconset."""
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QImage painting needs it
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    if len(argv) == 3 and argv[1] == "--iconset":
        write_iconset(renderer, Path(argv[2]))
        print(f"wrote {len(ICONSET)} images to {argv[2]}")
        return 0
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    pngs = {size: png_bytes(render(renderer, size)) for size in SIZES}
    for size, data in pngs.items():
        (PNG_DIR / f"notesearch-{size}.png").write_bytes(data)
    ICO.parent.mkdir(parents=True, exist_ok=True)
    ICO.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    print(f"wrote {len(SIZES)} PNGs to {PNG_DIR} and {ICO}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
