"""One middleware that turns errors into JSON responses: never a traceback at a caller."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.errors import BadRequest
from bot.sessions.store import StoreUnavailable

log = logging.getLogger(__name__)

_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})
"""Headers of the exception's own (text) body, replaced by the JSON one."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, reason: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """``{"error": reason}`` with ``status`` (and ``headers``, e.g. a 405's ``Allow``)."""
    response = web.json_response({"error": reason}, status=status)
    if headers:
        response.headers.update(headers)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map :class:`BadRequest` to its 4xx, :class:`StoreUnavailable` to 503 (the provider will
    deliver again), HTTP errors to JSON (keeping their headers: a 405's ``Allow``, a 416's
    ``Content-Range``), anything else to a logged 500."""
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
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return json_error(exc.status, exc.reason, kept)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error")
