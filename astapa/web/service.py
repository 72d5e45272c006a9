"""Health and the OpenAPI document."""

import json

from aiohttp import web

from astapa.appkeys import context_key
from astapa.web.openapi import SPEC

OPENAPI_BYTES = (json.dumps(SPEC, indent=2) + "\n").encode()


async def healthz(request: web.Request) -> web.Response:
    if request.app[context_key].ready:
        return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return web.json_response({"status": "starting"}, status=503, headers={"Cache-Control": "no-store"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI_BYTES, content_type="application/json")
