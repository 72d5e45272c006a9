"""Write templates/static/favicon.ico (committed) from templates/static/favicon.svg.

Headless Chromium (Debian's, as the page tests use) draws the SVG at 16, 32 and 48 pixels
on a transparent background; the ICO holds the three PNGs. Browsers that ask for
/favicon.ico get it; pages link the SVG itself.

    .venv/bin/python scripts/write_favicon.py
"""

import base64
import struct
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "templates" / "static"
SIZES = (16, 32, 48)


def ico(pngs: list[tuple[int, bytes]]) -> bytes:
    """An ICO file whose images are PNGs (allowed since Windows Vista; every browser reads them)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, data = b"", b""
    for size, png in pngs:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + entries + data


def main() -> None:
    svg = (STATIC / "favicon.svg").read_bytes()
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    pngs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for size in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<html style="margin:0;background:transparent"><body style="margin:0">'
                             f'<img src="{source}" width="{size}" height="{size}" style="display:block">')
            page.wait_for_function("document.images[0].complete")
            pngs.append((size, page.screenshot(omit_background=True)))
            page.close()
        browser.close()
    (STATIC / "favicon.ico").write_bytes(ico(pngs))


if __name__ == "__main__":
    main()
