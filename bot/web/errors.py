"""One middleware that turns errors into JSON responses: never a traceback at a caller."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.errors import BadRequest
from bot.sessions.store import StoreUnavailable

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, reason: str) -> web.Response:
    """``{"error": reason}`` with ``status``."""
    return web.json_response({"error": reason}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map :class:`BadRequest` to its 4xx, :class:`StoreUnavailable` to 503 (the provider will
    deliver again), HTTP errors to JSON, anything else to a logged 500."""
    try:
        return await handler(request)
    except BadRequest as exc:
        log.info("%s %s rejected: %s", request.method, request.path, exc.reason)
        return json_error(exc.status, exc.reason)
    except StoreUnavailable as exc:
        log.error("%s %s: store unavailable: %s", request.method, request.path, exc)
        return json_error(503, f"store unavailable: {exc}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error")
