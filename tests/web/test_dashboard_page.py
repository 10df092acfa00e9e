"""The dashboard's page and assets as the service serves them (the page itself runs in
``tests/e2e/test_dashboard.py``): routes, headers, and that every file it loads exists and
is packaged."""

from __future__ import annotations

import re
import tomllib

import pytest

from bot.web.dashboard import SECURITY_HEADERS, STATIC_DIR
from tests.conftest import REPO
from tests.web.conftest import WebApp


async def test_dashboard_redirects_to_the_page_relative_to_where_it_is(webapp: WebApp) -> None:
    async with webapp.client.get("/dashboard", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "dashboard/"  # keeps a proxy's path prefix


async def test_the_page_is_served_without_a_token_and_with_strict_headers(
    webapp: WebApp,
) -> None:
    async with webapp.client.get("/dashboard/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    assert "script-src 'self';" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "<script>" not in page  # no inline script: the policy would block it
    assert "token" not in page.lower()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/dashboard/static/js/app.js", "javascript"),
        ("/dashboard/static/vendor/preact-htm.js", "javascript"),
        ("/dashboard/static/style.css", "text/css"),
    ],
)
async def test_assets_are_served_with_their_type_and_headers(
    webapp: WebApp, path: str, content_type: str
) -> None:
    async with webapp.client.get(path) as response:
        assert response.status == 200
        assert content_type in response.content_type
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/dashboard/static/../dashboard.py", "/dashboard/static/%2e%2e/dashboard.py", "/dashboard/x"],
)
async def test_nothing_outside_the_assets_is_served(webapp: WebApp, path: str) -> None:
    async with webapp.client.get(path) as response:
        assert response.status in (403, 404)
        assert "STATIC_DIR" not in await response.text()


def test_every_file_the_page_loads_exists_and_is_packaged() -> None:
    """index.html's scripts and styles, and every module's imports, resolve to files that the
    ``package-data`` globs of pyproject.toml put in the wheel."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bot.web"]
    package = STATIC_DIR.parent.parent  # bot/web: setuptools globs from there
    packaged = {path for pattern in globs for path in package.glob(pattern) if path.is_file()}
    assert {path for path in STATIC_DIR.rglob("*") if path.is_file()} == packaged
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    loaded = {
        STATIC_DIR / ref.removeprefix("static/")
        for ref in re.findall(r'(?:src|href)="(static/[^"]+)"', html)
    }
    for module in STATIC_DIR.glob("js/*.js"):
        text = module.read_text(encoding="utf-8")
        loaded |= {(module.parent / ref).resolve() for ref in re.findall(r'from "(\.[^"]+)"', text)}
    assert len(loaded) > 5
    assert loaded <= packaged
