"""The operators' dashboard, served by the service itself under ``/dashboard``.

A static page (HTML, CSS and ES modules under ``bot/web/static/dashboard``; Preact with htm
and Chart.js vendored from npm, no build step) that signs in with the admin token and reads
everything through the admin API (:mod:`bot.web.admin`): ``/v1/health``, ``/v1/sessions``,
``/v1/sessions/{id}`` (and its ``complete``/``cancel``) and ``/v1/stats/flows``, polling every
few seconds. The token is kept in the browser's ``sessionStorage`` and sent as
``Authorization: Bearer``; it is never put in a URL or a cookie.

Routes:

- ``GET /dashboard``: redirects to ``/dashboard/`` (relative ``Location``, so a path prefix
  added by a proxy is kept; the page's links are relative for the same reason).
- ``GET /dashboard/``: the page.
- ``GET /dashboard/static/{path}``: its assets.

The page and its assets hold no data, so they are served without a token. Every response
under ``/dashboard`` carries a strict Content-Security-Policy (scripts, styles and requests
to this origin only; no inline script; no framing) and ``Cache-Control: no-cache`` (browsers
revalidate, so an upgrade is picked up at the next load).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

PREFIX = "/dashboard"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "dashboard"
"""Where the page and its assets are (package data of ``bot.web``)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


async def redirect(request: web.Request) -> web.StreamResponse:
    """``GET /dashboard``: to ``/dashboard/``, where the page's relative links resolve."""
    raise web.HTTPFound("dashboard/")


async def page(request: web.Request) -> web.FileResponse:
    """``GET /dashboard/``: the single page."""
    return web.FileResponse(STATIC_DIR / "index.html")


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    """Add :data:`SECURITY_HEADERS` to every response under :data:`PREFIX`."""
    if request.path == PREFIX or request.path.startswith(f"{PREFIX}/"):
        response.headers.update(SECURITY_HEADERS)


def setup(app: web.Application) -> None:
    """Register the dashboard's routes and headers on ``app``.

    Raises:
        FileNotFoundError: The assets are missing (a broken installation).
    """
    if not (STATIC_DIR / "index.html").is_file():
        raise FileNotFoundError(f"dashboard assets missing: {STATIC_DIR / 'index.html'}")
    app.router.add_get(PREFIX, redirect)
    app.router.add_get(f"{PREFIX}/", page)
    app.router.add_static(f"{PREFIX}/static", STATIC_DIR, follow_symlinks=False)
    app.on_response_prepare.append(_secure)
