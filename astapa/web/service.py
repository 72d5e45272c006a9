"""Health, the OpenAPI document, and the hosted pages' stylesheet and icon."""

from pathlib import Path

from aiohttp import web

from astapa.web.appkeys import readiness_key

ROOT = Path(__file__).resolve().parent.parent.parent
# Bundled from openapi/ by scripts/build_openapi.py; served as committed, read once.
OPENAPI_BYTES = (ROOT / "openapi.json").read_bytes()
STYLESHEET = (ROOT / "templates" / "static" / "astapa.css").read_bytes()
CONSOLE_STYLESHEET = (ROOT / "templates" / "static" / "console.css").read_bytes()
PASSKEYS_SCRIPT = (ROOT / "templates" / "static" / "passkeys.js").read_bytes()
# The pages link the SVG; /favicon.ico is for browsers that ask for it anyway
# (scripts/write_favicon.py draws it from the SVG).
ICON_SVG = (ROOT / "templates" / "static" / "favicon.svg").read_bytes()
FAVICON = (ROOT / "templates" / "static" / "favicon.ico").read_bytes()
STATIC_CACHE = {"Cache-Control": "public, max-age=3600"}


async def healthz(request: web.Request) -> web.Response:
    if request.app[readiness_key].ready:
        return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return web.json_response({"status": "starting"}, status=503, headers={"Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI_BYTES, content_type="application/json")


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=STYLESHEET, content_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})


async def console_stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=CONSOLE_STYLESHEET, content_type="text/css", headers=STATIC_CACHE)


async def passkeys_script(request: web.Request) -> web.Response:
    """The one script of the hosted pages: passkey ceremonies (templates/static/passkeys.js)."""
    return web.Response(body=PASSKEYS_SCRIPT, content_type="text/javascript", headers=STATIC_CACHE)


async def icon(request: web.Request) -> web.Response:
    return web.Response(body=ICON_SVG, content_type="image/svg+xml", headers=STATIC_CACHE)


async def favicon(request: web.Request) -> web.Response:
    return web.Response(body=FAVICON, content_type="image/x-icon", headers=STATIC_CACHE)
