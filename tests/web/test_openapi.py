"""The OpenAPI document: valid OpenAPI 3.1, served without a token, and complete."""

from __future__ import annotations

from aiohttp.web import RouteDef
from openapi_spec_validator import validate

from bot.web.admin import routes
from bot.web.openapi import document
from tests.web.conftest import WebApp


def test_the_document_is_valid_openapi() -> None:
    validate(document())  # raises with the offending path when invalid


def test_every_v1_route_is_documented_with_its_method() -> None:
    documented = {
        (method.upper(), path) for path, item in document()["paths"].items() for method in item
    }
    served = {(route.method, route.path) for route in routes if isinstance(route, RouteDef)}
    assert served == documented


async def test_it_is_served_at_v1_openapi_json_without_a_token(webapp: WebApp) -> None:
    async with webapp.client.get("/v1/openapi.json") as response:
        assert response.status == 200
        assert await response.json() == document()


_LIMITS = {"maxLength", "maximum", "enum", "pattern"}


def test_every_parameter_declares_its_limits() -> None:
    unbounded = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if not _LIMITS & set(parameter["schema"])
    ]
    assert unbounded == []


def test_date_time_parameters_declare_their_format_and_range() -> None:
    dates = [
        parameter["schema"]
        for item in document()["paths"].values()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"].endswith(("_from", "_to"))
    ]
    assert len(dates) == 12  # 4 filters on both listings, 2 on both stats
    for schema in dates:
        assert schema["format"] == "date-time"
        assert schema["pattern"].startswith("^(?!000[01]-|9999-)")
