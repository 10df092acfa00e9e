"""The operations (``paths``) of the operators' API: per route of :mod:`bot.web.admin`, its
parameters with their limits (:mod:`bot.web.openapi.limits`, the ones the handlers check),
its body and its answers."""

from __future__ import annotations

from typing import Any

from bot.web.openapi.fragments import (
    SESSION_STATUS_MAPPING,
    USER_ID,
    error,
    int_param,
    json_response,
    param,
    ref,
    text_param,
    time_param,
)
from bot.web.openapi.limits import (
    CHANNELS,
    MAX_HEALTH_HOURS,
    MAX_LIMIT,
    MAX_MESSAGES,
    MAX_OFFSET,
    MAX_SESSION_ID_LENGTH,
    STATUSES,
)

_CHANNEL = "(?:" + "|".join(CHANNELS) + ")"
_LIMIT = int_param("limit", f"Page size (0-{MAX_LIMIT}, default 50).", 50, MAX_LIMIT)
_OFFSET = int_param("offset", "Rows to skip (default 0).", 0, MAX_OFFSET)
_CREATED_FROM = time_param("created_from", "Created at or after.")
_CREATED_TO = time_param("created_to", "Created before.")
_FILTERS = [
    text_param("user", "query", "User id as stored (Cloud API wa_id digits; Twilio +E.164)."),
    param(
        "channel",
        "query",
        f"{', '.join(CHANNELS)}; several comma-separated match any.",
        type="string",
        pattern=f"^(?:{_CHANNEL}(?:,{_CHANNEL})*)?$",
    ),
    text_param("bot", "query", "Business number id."),
    text_param("flow", "query", "Flow the session is in or ran."),
    param(
        "opted_out",
        "query",
        "true: only sessions of users who opted out of messages now; false: the others.",
        type="string",
        enum=["true", "false"],
    ),
    _CREATED_FROM,
    _CREATED_TO,
    time_param("last_activity_from", "Last activity at or after."),
    time_param("last_activity_to", "Last activity before."),
    _LIMIT,
    _OFFSET,
]
_SESSION_ID = param(
    "session_id", "path", "Session id (hex).", type="string", maxLength=MAX_SESSION_ID_LENGTH
)
_BOT_ID = text_param("bot_id", "path", "Business number id (Cloud API phone_number_id or +E.164).")
_COMMON = {"401": error("Missing or wrong bearer token."), "400": error("Bad request.")}
_CLOSE_BODY = {
    "required": False,
    "content": {"application/json": {"schema": ref("CloseRequest")}},
}


def paths() -> dict[str, Any]:
    return {
        "/v1/sessions": {
            "get": {
                "summary": "List sessions, newest first",
                "parameters": [
                    param(
                        "status",
                        "query",
                        "active, completed, cancelled, timeout or handoff (a person has it).",
                        type="string",
                        enum=list(STATUSES),
                    ),
                    *_FILTERS,
                ],
                "responses": {
                    "200": json_response(ref("SessionList"), "A page of sessions."),
                    **_COMMON,
                },
            }
        },
        "/v1/sessions/active": {
            "get": {
                "summary": "Active sessions",
                "parameters": _FILTERS,
                "responses": {
                    "200": json_response(ref("ActiveSessions"), "Active sessions."),
                    **_COMMON,
                },
            }
        },
        "/v1/sessions/{session_id}": {
            "get": {
                "summary": "A session with its message history",
                "parameters": [
                    _SESSION_ID,
                    int_param(
                        "limit", "Newest messages to include (default 200).", 200, MAX_MESSAGES
                    ),
                ],
                "responses": {
                    "200": json_response(ref("SessionDetail"), "The session and its messages."),
                    "404": error("No such session."),
                    **_COMMON,
                },
            }
        },
        **{
            f"/v1/sessions/{{session_id}}/{action}": {
                "post": {
                    "summary": f"Close an open session (active or in handoff) as {status}; "
                    "the user gets the localized close notice unless notify is false",
                    "parameters": [_SESSION_ID],
                    "requestBody": _CLOSE_BODY,
                    "responses": {
                        "200": json_response(ref("ClosedSession"), "The closed session."),
                        "404": error("No such session."),
                        "409": error("The session is closed."),
                        **_COMMON,
                    },
                }
            }
            for action, status in (
                ("complete", "completed"),
                ("close", "completed"),
                ("cancel", "cancelled"),
            )
        },
        "/v1/users/{user}/session": {
            "get": {
                "summary": "A user's current session (with history) and recent sessions",
                "parameters": [
                    text_param("user", "path", "User id as stored."),
                    param(
                        "channel",
                        "query",
                        "Only this channel.",
                        type="string",
                        pattern=f"^{_CHANNEL}?$",
                    ),
                    text_param("bot", "query", "Only this business number."),
                    int_param(
                        "limit", "Messages of the current session (default 50).", 50, MAX_MESSAGES
                    ),
                    int_param("sessions", "Recent sessions to list (default 10).", 10, MAX_LIMIT),
                ],
                "responses": {
                    "200": json_response(ref("UserSession"), "The user's sessions."),
                    "404": error("No session for this user."),
                    **_COMMON,
                },
            }
        },
        "/v1/stats": {
            "get": {
                "summary": "Aggregates over sessions created in a range",
                "parameters": [_CREATED_FROM, _CREATED_TO],
                "responses": {"200": json_response(ref("Stats"), "The aggregates."), **_COMMON},
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
                "responses": {"200": json_response(ref("FlowSteps"), "The flows."), **_COMMON},
            }
        },
        "/v1/health": {
            "get": {
                "summary": "Store status, active sessions, sweeper lag, send errors, and "
                "sessions opened and closed per hour",
                "parameters": [
                    {
                        **int_param(
                            "hours",
                            f"Hours to cover (1-{MAX_HEALTH_HOURS}, default 24).",
                            24,
                            MAX_HEALTH_HOURS,
                        ),
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_HEALTH_HOURS,
                            "default": 24,
                        },
                    }
                ],
                "responses": {"200": json_response(ref("Health"), "The figures."), **_COMMON},
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
                    "content": {"application/json": {"schema": ref("ClearSessionRequest")}},
                },
                "responses": {
                    "200": json_response(ref("ClearSessionResponse"), "What each flag did."),
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
                        **param("userId", "query", "The user (digits or +E.164).", **USER_ID),
                        "required": True,
                    },
                ],
                "responses": {
                    "200": json_response(ref("SessionStatus"), "The status."),
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
