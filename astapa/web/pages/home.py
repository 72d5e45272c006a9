"""GET /: a small page saying what this server is, with the way to the demo (when it is
on), the documentation, the discovery document and the OpenAPI description; GET /docs: the
documentation's entry point, the README, as plain text."""

from aiohttp import web

from astapa.web.appkeys import settings_key
from astapa.web.pages import PAGE_HEADERS, page, render
from astapa.web.service import ROOT

README = ROOT / "README.md"


@page
async def home(request: web.Request) -> web.StreamResponse:
    settings = request.app[settings_key]
    return render(request, "home.html", {"title": "Authorization server", "demo": settings.demo, "issuer": settings.issuer})


async def docs(request: web.Request) -> web.Response:
    try:
        text = README.read_bytes()
    except OSError:
        raise web.HTTPNotFound() from None
    return web.Response(body=text, content_type="text/plain", charset="utf-8",
                        headers={**PAGE_HEADERS, "Cache-Control": "public, max-age=3600"})
