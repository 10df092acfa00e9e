"""``GET /v1/openapi.json``: the admin API's OpenAPI document (:mod:`bot.web.openapi`)."""

from __future__ import annotations

from aiohttp import web

from bot.web.openapi import document

routes = web.RouteTableDef()


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API (no token needed: it holds no data)."""
    return web.json_response(document())
