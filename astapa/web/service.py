"""Health, the OpenAPI document, and the hosted pages' stylesheet."""

import json
from pathlib import Path

from aiohttp import web

from astapa.web.appkeys import context_key
from astapa.web.openapi import SPEC

OPENAPI_BYTES = (json.dumps(SPEC, indent=2) + "\n").encode()
STYLESHEET = (Path(__file__).resolve().parent.parent.parent / "templates" / "static" / "astapa.css").read_bytes()


async def healthz(request: web.Request) -> web.Response:
    if request.app[context_key].ready:
        return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return web.json_response({"status": "starting"}, status=503, headers={"Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI_BYTES, content_type="application/json")


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=STYLESHEET, content_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})
