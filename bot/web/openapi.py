"""The OpenAPI 3.1 document of the operators' API, served at ``GET /v1/openapi.json``.

Kept next to the handlers in :mod:`bot.web.admin`; a test checks that it is a valid OpenAPI
document and that every ``/v1`` route is in it.
"""

from __future__ import annotations

from typing import Any

from bot import __version__

CHANNELS = ("whatsapp", "twilio_whatsapp", "sms", "voice")
"""Every session channel (the ``channel`` filter takes one or several, comma-separated)."""
MAX_ID_LENGTH = 256
"""The longest user id, bot id, flow id or other free-text parameter accepted."""
MAX_SESSION_ID_LENGTH = 64
"""The longest session id accepted (ids are UUID4 hex: 32 characters)."""
DATE_TIME_PATTERN = (
    "^(?!000[01]-|9999-)([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})"
    "(\\.[0-9]{1,9})?([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""RFC 3339 date-time with a zone, in the years 0002-9998: inside what a ``datetime`` holds
once moved to UTC (``0001-01-01T00:00:00+05:00`` is not). The same regex in ECMA-262 and
Python syntax; groups: date, clock, fraction, zone."""

_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TIME = {"type": "string", "format": "date-time"}

SESSION_STATUS_MAPPING = (
    "`status` mapping, from the user's newest session at the bot (any channel): "
    "`failed` when the newest message the bot sent in it failed to deliver; "
    "`inactive` when there is no session or it is closed; "
    "`connecting` when it is active but the bot's newest message is still pending "
    "(or the bot has not answered yet); `active` otherwise."
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _text_param(name: str, where: str, description: str) -> dict[str, Any]:
    """A free-text parameter (ids): at most :data:`MAX_ID_LENGTH` characters; empty in a query
    means no filter."""
    return _param(name, where, description, type="string", maxLength=MAX_ID_LENGTH)


def _int_param(name: str, description: str, default: int, maximum: int) -> dict[str, Any]:
    return _param(
        name, "query", description, type="integer", minimum=0, maximum=maximum, default=default
    )


def _time_param(name: str, description: str) -> dict[str, Any]:
    return _param(
        name,
        "query",
        f"{description} RFC 3339 with a zone (2026-01-31T12:00:00Z), years 0002-9998.",
        type="string",
        format="date-time",
        pattern=DATE_TIME_PATTERN,
    )


_CHANNEL = "(?:" + "|".join(CHANNELS) + ")"
_LIMIT = _int_param("limit", "Page size (0-500, default 50).", 50, 500)
_OFFSET = _int_param("offset", "Rows to skip (default 0).", 0, 10**9)
_CREATED_FROM = _time_param("created_from", "Created at or after.")
_CREATED_TO = _time_param("created_to", "Created before.")
_FILTERS = [
    _text_param("user", "query", "User id as stored (Cloud API wa_id digits; Twilio +E.164)."),
    _param(
        "channel",
        "query",
        f"{', '.join(CHANNELS)}; several comma-separated match any.",
        type="string",
        pattern=f"^(?:{_CHANNEL}(?:,{_CHANNEL})*)?$",
    ),
    _text_param("bot", "query", "Business number id."),
    _text_param("flow", "query", "Flow the session is in or ran."),
    _param(
        "opted_out",
        "query",
        "true: only sessions of users who opted out of messages now; false: the others.",
        type="string",
        enum=["true", "false"],
    ),
    _CREATED_FROM,
    _CREATED_TO,
    _time_param("last_activity_from", "Last activity at or after."),
    _time_param("last_activity_to", "Last activity before."),
    _LIMIT,
    _OFFSET,
]
_SESSION_ID = _param(
    "session_id", "path", "Session id (hex).", type="string", maxLength=MAX_SESSION_ID_LENGTH
)
_BOT_ID = _text_param("bot_id", "path", "Business number id (Cloud API phone_number_id or +E.164).")
_USER_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": "[^ \\t]"}
"""A ``userId``: not only spaces and tabs (stripped around it)."""
_COMMON = {"401": _error("Missing or wrong bearer token."), "400": _error("Bad request.")}
_CLOSE_BODY = {
    "required": False,
    "content": {"application/json": {"schema": _ref("CloseRequest")}},
}


def _schemas() -> dict[str, Any]:
    session = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "channel": {"type": "string"},
            "bot_id": {"type": "string"},
            "user_id": {"type": "string"},
            "user_masked": {
                "type": "string",
                "description": "The number masked as in the logs: +54911****89.",
            },
            "display_name": _NULLABLE_STR,
            "status": {"type": "string", "enum": ["active", "completed", "cancelled", "timeout"]},
            "close_reason": _NULLABLE_STR,
            "flow_id": _NULLABLE_STR,
            "step_id": _NULLABLE_STR,
            "language": _NULLABLE_STR,
            "data": {"type": "object"},
            "created_at": _TIME,
            "last_activity_at": _TIME,
            "expires_at": _NULLABLE_TIME,
            "closed_at": _NULLABLE_TIME,
            "confirming": {
                **_NULLABLE_STR,
                "description": "The closing intent (goodbye, cancel) the bot asked the user "
                "to confirm with a yes/no question, until they answer.",
            },
            "opted_out": {
                "type": "boolean",
                "description": "The user opted out of messages (no proactive message reaches "
                "them until they write START / ALTA).",
            },
            "opted_out_at": _NULLABLE_TIME,
        },
        "required": ["id", "channel", "bot_id", "user_id", "status", "created_at"],
    }
    message = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "kind": {"type": "string"},
            "text": _NULLABLE_STR,
            "step_id": _NULLABLE_STR,
            "created_at": _TIME,
            "provider_id": _NULLABLE_STR,
            "status": {
                "type": "string",
                "enum": [
                    "received",
                    "pending",
                    "sent",
                    "delivered",
                    "read",
                    "failed",
                    "skipped_window",
                    "sending",
                    "skipped_opt_out",
                ],
                "description": "`pending` until the provider accepts it (retries included); "
                "`failed` with the provider's `error_code`; `skipped_window`: not sent, the "
                "user's 24-hour window had closed and no template is configured for it; "
                "`sending`: an attempt started, its result not stored yet (one the service "
                "stopped during waits for the provider's status, then is sent again); "
                "`skipped_opt_out`: a proactive message (warning, timeout notice, template) "
                "not sent because the user opted out of messages",
            },
            "error_code": {"type": ["integer", "null"]},
            "error_detail": _NULLABLE_STR,
            "attempts": {"type": "integer", "description": "sends tried (outbound)"},
            "next_attempt_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "a pending message's next retry",
            },
        },
    }
    counts = {"type": "object", "additionalProperties": {"type": "integer"}}
    detail = {
        "allOf": [
            _ref("Session"),
            {
                "type": "object",
                "properties": {"messages": {"type": "array", "items": _ref("Message")}},
            },
        ]
    }
    listed = {
        "allOf": [
            _ref("Session"),
            {
                "type": "object",
                "properties": {
                    "messages_in": {"type": "integer"},
                    "messages_out": {"type": "integer"},
                    "last_message_at": _NULLABLE_TIME,
                },
            },
        ]
    }
    return {
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        },
        "Session": session,
        "ListedSession": listed,
        "Message": message,
        "SessionDetail": detail,
        "SessionList": {
            "type": "object",
            "properties": {
                "sessions": {"type": "array", "items": _ref("ListedSession")},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "total": {"type": "integer"},
            },
        },
        "ActiveSessions": {
            "type": "object",
            "properties": {
                "active_sessions": {"type": "array", "items": _ref("ListedSession")},
                "total_active": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
            "required": ["active_sessions", "total_active"],
        },
        "CloseRequest": {
            "type": "object",
            "properties": {
                "notify": {"type": "boolean", "default": True},
                "reason": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
            },
        },
        "ClosedSession": {
            "allOf": [
                _ref("Session"),
                {"type": "object", "properties": {"notified": {"type": "boolean"}}},
            ]
        },
        "UserSession": {
            "type": "object",
            "properties": {
                "user_id": {"type": "string"},
                "opted_out": {"type": "boolean"},
                "opted_out_at": _NULLABLE_TIME,
                "session": {"oneOf": [_ref("SessionDetail"), {"type": "null"}]},
                "recent_sessions": {"type": "array", "items": _ref("Session")},
            },
        },
        "Stats": {
            "type": "object",
            "properties": {
                "created_from": _NULLABLE_TIME,
                "created_to": _NULLABLE_TIME,
                "sessions": {
                    "type": "object",
                    "properties": {
                        "total": {"type": "integer"},
                        "by_status": counts,
                        "by_close_reason": counts,
                    },
                },
                "messages": {
                    "type": "object",
                    "properties": {"in": {"type": "integer"}, "out": {"type": "integer"}},
                },
                "avg_session_duration_s": {"type": ["number", "null"]},
                "avg_messages_per_session": {"type": ["number", "null"]},
                "flows": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "sessions": {"type": "integer"},
                            "completed": {"type": "integer"},
                            "completion_rate": {"type": ["number", "null"]},
                            "by_close_reason": counts,
                        },
                    },
                },
            },
        },
        **_dashboard_schemas(counts),
        "ClearSessionRequest": {
            "type": "object",
            "properties": {
                "userId": _USER_ID,
                "clearSession": {"type": "boolean", "default": False},
                "clearRedis": {"type": "boolean", "default": False},
                "clearDatabase": {"type": "boolean", "default": False},
                "notify": {"type": "boolean", "default": False},
            },
            "required": ["userId"],
        },
        "ClearSessionResponse": {
            "type": "object",
            "properties": {
                "success": {"type": "boolean"},
                "botId": {"type": "string"},
                "userId": {"type": "string"},
                "results": {
                    "type": "object",
                    "description": "One entry per flag that was true: done, and what was done "
                    "(closedSessionIds; deletedSessions and deletedMessages) or why not "
                    "(detail: that backend is not the one in use).",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
        "SessionStatus": {
            "type": "object",
            "description": SESSION_STATUS_MAPPING,
            "properties": {
                "success": {"type": "boolean"},
                "status": {
                    "type": "string",
                    "enum": ["active", "inactive", "connecting", "failed"],
                },
                "lastSeen": _NULLABLE_TIME,
                "phoneNumber": {"type": "string"},
                "displayName": _NULLABLE_STR,
                "sessionId": _NULLABLE_STR,
            },
        },
    }


def _dashboard_schemas(counts: dict[str, Any]) -> dict[str, Any]:
    """Shapes of ``/v1/health`` and ``/v1/stats/flows`` (the dashboard's calls)."""
    nullable_int = {"type": ["integer", "null"]}
    return {
        "Health": {
            "type": "object",
            "properties": {
                "now": _TIME,
                "store": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "unavailable"]},
                        "backend": {"type": "string"},
                        "latency_ms": {"type": "number"},
                        "detail": {"type": "string"},
                    },
                },
                "active_sessions": nullable_int,
                "sweeper_lag_s": {
                    "type": ["number", "null"],
                    "description": "How long the oldest due session has been due (0: none).",
                },
                "send_errors": {
                    "type": "object",
                    "description": "Failed sends counted by this process since it started.",
                    "properties": {"total": {"type": "integer"}, "by_code": counts},
                },
                "hours": {
                    "type": ["array", "null"],
                    "description": "Oldest first; the last is the current, partial hour.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "start": _TIME,
                            "opened": {"type": "integer"},
                            "closed": counts,
                        },
                    },
                },
            },
        },
        "FlowSteps": {
            "type": "object",
            "properties": {
                "created_from": _NULLABLE_TIME,
                "created_to": _NULLABLE_TIME,
                "flows": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "flow_id": {"type": "string"},
                            "description": _NULLABLE_STR,
                            "sessions": {"type": "integer"},
                            "active": {"type": "integer"},
                            "completed": {"type": "integer"},
                            "completion_rate": {"type": ["number", "null"]},
                            "steps": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "step_id": _NULLABLE_STR,
                                        "question": {"type": "boolean"},
                                        "stopped": {"type": "integer"},
                                        "by_outcome": counts,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def _paths() -> dict[str, Any]:
    return {
        "/v1/sessions": {
            "get": {
                "summary": "List sessions, newest first",
                "parameters": [
                    _param(
                        "status",
                        "query",
                        "active, completed, cancelled or timeout.",
                        type="string",
                        enum=["active", "completed", "cancelled", "timeout"],
                    ),
                    *_FILTERS,
                ],
                "responses": {"200": _json(_ref("SessionList"), "A page of sessions."), **_COMMON},
            }
        },
        "/v1/sessions/active": {
            "get": {
                "summary": "Active sessions",
                "parameters": _FILTERS,
                "responses": {
                    "200": _json(_ref("ActiveSessions"), "Active sessions."),
                    **_COMMON,
                },
            }
        },
        "/v1/sessions/{session_id}": {
            "get": {
                "summary": "A session with its message history",
                "parameters": [
                    _SESSION_ID,
                    _int_param("limit", "Newest messages to include (default 200).", 200, 10_000),
                ],
                "responses": {
                    "200": _json(_ref("SessionDetail"), "The session and its messages."),
                    "404": _error("No such session."),
                    **_COMMON,
                },
            }
        },
        **{
            f"/v1/sessions/{{session_id}}/{action}": {
                "post": {
                    "summary": f"Close an active session as {status}; the user gets the "
                    "localized close notice unless notify is false",
                    "parameters": [_SESSION_ID],
                    "requestBody": _CLOSE_BODY,
                    "responses": {
                        "200": _json(_ref("ClosedSession"), "The closed session."),
                        "404": _error("No such session."),
                        "409": _error("The session is not active."),
                        **_COMMON,
                    },
                }
            }
            for action, status in (("complete", "completed"), ("cancel", "cancelled"))
        },
        "/v1/users/{user}/session": {
            "get": {
                "summary": "A user's current session (with history) and recent sessions",
                "parameters": [
                    _text_param("user", "path", "User id as stored."),
                    _param(
                        "channel",
                        "query",
                        "Only this channel.",
                        type="string",
                        pattern=f"^{_CHANNEL}?$",
                    ),
                    _text_param("bot", "query", "Only this business number."),
                    _int_param(
                        "limit", "Messages of the current session (default 50).", 50, 10_000
                    ),
                    _int_param("sessions", "Recent sessions to list (default 10).", 10, 500),
                ],
                "responses": {
                    "200": _json(_ref("UserSession"), "The user's sessions."),
                    "404": _error("No session for this user."),
                    **_COMMON,
                },
            }
        },
        "/v1/stats": {
            "get": {
                "summary": "Aggregates over sessions created in a range",
                "parameters": [_CREATED_FROM, _CREATED_TO],
                "responses": {"200": _json(_ref("Stats"), "The aggregates."), **_COMMON},
            }
        },
        "/v1/stats/flows": {
            "get": {
                "summary": "Per flow: completion, and per step where users wait or stopped",
                "description": "Over the sessions created in the range. A closed session "
                "stopped at the step of its newest message that has one; outcomes are "
                "`active` (still there), `timeout` (went quiet), `cancel`, `goodbye` or "
                "another close reason. Completed sessions are not counted at any step.",
                "parameters": [_CREATED_FROM, _CREATED_TO],
                "responses": {"200": _json(_ref("FlowSteps"), "The flows."), **_COMMON},
            }
        },
        "/v1/health": {
            "get": {
                "summary": "Store status, active sessions, sweeper lag, send errors, and "
                "sessions opened and closed per hour",
                "parameters": [
                    {
                        **_int_param("hours", "Hours to cover (1-168, default 24).", 24, 168),
                        "schema": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24},
                    }
                ],
                "responses": {"200": _json(_ref("Health"), "The figures."), **_COMMON},
            }
        },
        "/v1/whatsapp/clear-session/{bot_id}": {
            "post": {
                "summary": "Reset a user at a bot (existing frontends' call)",
                "description": "clearSession closes the active session(s) as cancelled with "
                "reason `cleared` (no notice unless notify is true); clearRedis and "
                "clearDatabase delete the user's sessions and messages from that backend "
                "when it is the one in use (DATABASE_URL), else report done: false.",
                "parameters": [_BOT_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ClearSessionRequest")}},
                },
                "responses": {
                    "200": _json(_ref("ClearSessionResponse"), "What each flag did."),
                    **_COMMON,
                },
            }
        },
        "/v1/whatsapp/session-status/{bot_id}": {
            "get": {
                "summary": "A user's status at a bot (existing frontends' call)",
                "description": SESSION_STATUS_MAPPING,
                "parameters": [
                    _BOT_ID,
                    {
                        **_param("userId", "query", "The user (digits or +E.164).", **_USER_ID),
                        "required": True,
                    },
                ],
                "responses": {
                    "200": _json(_ref("SessionStatus"), "The status."),
                    **_COMMON,
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "summary": "This document (no token needed)",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document."}},
            }
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a new dict on every call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "whatsapp-intent-bot operators' API",
            "version": __version__,
            "description": "Sessions, history, manual closes and statistics. Every call but "
            "this document needs `Authorization: Bearer $ADMIN_TOKEN`. Errors are "
            '`{"error": reason}` with 400 (bad input), 401 (token), 404 (unknown id) or '
            "409 (session not active).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "paths": _paths(),
    }
