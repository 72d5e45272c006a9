"""Typed application keys: the whole dependency container."""

from aiohttp import web

from astapa.web.context import Context

context_key = web.AppKey("context", Context)
