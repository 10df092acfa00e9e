"""Building blocks of the OpenAPI document: references, responses, parameters, common types."""

from __future__ import annotations

from typing import Any

from bot.web.openapi.limits import DATE_TIME_PATTERN, MAX_ID_LENGTH

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
TIME = {"type": "string", "format": "date-time"}
USER_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": "[^ \\t]"}
"""A ``userId``: not only spaces and tabs (stripped around it)."""

SESSION_STATUS_MAPPING = (
    "`status` mapping, from the user's newest session at the bot (any channel): "
    "`failed` when the newest message the bot sent in it failed to deliver; "
    "`inactive` when there is no session or it is closed; "
    "`connecting` when it is active but the bot's newest message is still pending "
    "(or the bot has not answered yet); `active` otherwise."
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return json_response(ref("Error"), description)


def param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def text_param(name: str, where: str, description: str) -> dict[str, Any]:
    """A free-text parameter (ids): at most :data:`MAX_ID_LENGTH` characters; empty in a query
    means no filter."""
    return param(name, where, description, type="string", maxLength=MAX_ID_LENGTH)


def int_param(name: str, description: str, default: int, maximum: int) -> dict[str, Any]:
    return param(
        name, "query", description, type="integer", minimum=0, maximum=maximum, default=default
    )


def time_param(name: str, description: str) -> dict[str, Any]:
    return param(
        name,
        "query",
        f"{description} RFC 3339 with a zone (2026-01-31T12:00:00Z), years 0002-9998.",
        type="string",
        format="date-time",
        pattern=DATE_TIME_PATTERN,
    )
