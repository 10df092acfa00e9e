"""The admin API's token check: ``Authorization: Bearer $ADMIN_TOKEN``, compared in constant
time over the bytes sent."""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.errors import BadRequest
from bot.web.body import header_bytes
from bot.web.keys import SETTINGS


def authorize(request: web.Request) -> None:
    """Raises BadRequest (401) unless ``Authorization: Bearer <ADMIN_TOKEN>``; the bytes sent
    are compared (a header byte that is not UTF-8 is simply a wrong token)."""
    token = request.app[SETTINGS].admin_token
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(header_bytes(given.strip()), token.encode())
    ):
        raise BadRequest("missing or invalid bearer token", status=401)
