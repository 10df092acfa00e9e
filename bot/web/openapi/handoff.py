"""The handoff part of the OpenAPI document (issue 19): the shapes and operations of
:mod:`bot.web.admin.handoffs` (and the ``handoff`` field the session shape gains)."""

from __future__ import annotations

from typing import Any

from bot.web.openapi.fragments import (
    NULLABLE_STR,
    NULLABLE_TIME,
    TIME,
    error,
    int_param,
    json_response,
    param,
    ref,
    time_param,
)
from bot.web.openapi.limits import (
    MAX_AGENT_LENGTH,
    MAX_AGENT_TEXT_LENGTH,
    MAX_HANDOFFS,
    MAX_MESSAGES,
    MAX_SESSION_ID_LENGTH,
    NOT_BLANK_PATTERN,
    REASON_PATTERN,
)

_AGENT = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_AGENT_LENGTH,
    "pattern": NOT_BLANK_PATTERN,
    "description": "The agent's name as the team knows it (recorded as who holds the session).",
}
_SESSION_ID = param(
    "session_id", "path", "Session id (hex).", type="string", maxLength=MAX_SESSION_ID_LENGTH
)
_COMMON = {"401": error("Missing or wrong bearer token."), "400": error("Bad request.")}
_CONFLICT = json_response(
    ref("Conflict"),
    "Another agent holds the session (`agent` names them), or the session is closed or not "
    "in handoff (`agent` null).",
)


def handoff_schemas() -> dict[str, Any]:
    """``components/schemas`` of the handoff calls."""
    return {
        "Handoff": {
            "type": ["object", "null"],
            "description": "The session's latest handoff to a person (kept after it ends; "
            "null when never handed off).",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "`user_request` (the user asked), `agent` (an agent took "
                    "an active session) or a flow's handoff action reason.",
                },
                "since": TIME,
                "flow": NULLABLE_STR,
                "step": {**NULLABLE_STR, "description": "The step it came from."},
                "agent": {**NULLABLE_STR, "description": "Who holds it (null: nobody yet)."},
                "taken_at": NULLABLE_TIME,
                "first_reply_at": NULLABLE_TIME,
                "ended_at": {**NULLABLE_TIME, "description": "Given back or closed."},
            },
        },
        "QueuedSession": {
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
                "user_id": {"type": "string"},
                "user_masked": {"type": "string"},
                "display_name": NULLABLE_STR,
                "channel": {"type": "string"},
                "bot_id": {"type": "string"},
                "language": NULLABLE_STR,
                "reason": {"type": "string"},
                "flow": NULLABLE_STR,
                "step": NULLABLE_STR,
                "since": TIME,
                "waiting_s": {"type": "number", "description": "Seconds since the handoff."},
                "agent": NULLABLE_STR,
                "taken_at": NULLABLE_TIME,
                "last_inbound_text": NULLABLE_STR,
                "last_inbound_at": NULLABLE_TIME,
                "last_message_id": {"type": ["integer", "null"]},
                "cancel_requested": {
                    "type": "boolean",
                    "description": "The user asked to cancel since the handoff (passed to the "
                    "agent; the session stays open).",
                },
                "expires_at": NULLABLE_TIME,
                "updated_at": {
                    **TIME,
                    "description": "The newest of: last activity, handoff, take, last message.",
                },
            },
            "required": ["session_id", "user_id", "channel", "reason", "since", "waiting_s"],
        },
        "HandoffQueue": {
            "type": "object",
            "properties": {
                "handoffs": {"type": "array", "items": ref("QueuedSession")},
                "ids": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Every session in the queue now (at most 500), oldest "
                    "first; `handoffs` holds the first `limit` of them (with `since`, only "
                    "the changed ones).",
                },
                "total": {"type": "integer"},
                "now": TIME,
            },
            "required": ["handoffs", "ids", "total", "now"],
        },
        "TakeRequest": {
            "type": "object",
            "properties": {
                "agent": _AGENT,
                "reason": {
                    "type": "string",
                    "pattern": f"^{REASON_PATTERN}$",
                    "description": "Recorded when an active session is taken (default `agent`).",
                },
            },
            "required": ["agent"],
        },
        "AgentRequest": {
            "type": "object",
            "properties": {"agent": _AGENT},
            "required": ["agent"],
        },
        "AgentMessageRequest": {
            "type": "object",
            "properties": {
                "agent": _AGENT,
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_AGENT_TEXT_LENGTH,
                    "pattern": NOT_BLANK_PATTERN,
                },
            },
            "required": ["agent", "text"],
        },
        "AgentMessage": {
            "allOf": [
                ref("Message"),
                {
                    "type": "object",
                    "properties": {
                        "message_id": {"type": "integer"},
                        "session_id": {"type": "string"},
                    },
                    "required": ["message_id", "session_id"],
                },
            ]
        },
        "MessagesAfter": {
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
                "status": {"type": "string"},
                "agent": NULLABLE_STR,
                "messages": {"type": "array", "items": ref("Message")},
            },
            "required": ["session_id", "status", "messages"],
        },
        "Conflict": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "status": {
                    "type": "string",
                    "description": "The session's status now (`handoff`, `active` or a "
                    "closed status).",
                },
                "agent": NULLABLE_STR,
            },
            "required": ["error", "status"],
        },
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


def handoff_paths() -> dict[str, Any]:
    """``paths`` of the handoff calls."""
    return {
        "/v1/handoffs": {
            "get": {
                "summary": "Sessions in handoff (waiting for or held by a person), oldest first",
                "description": "Poll it to follow the queue without reloading: with `since` "
                "(the `now` of the previous answer) `handoffs` holds only the sessions changed "
                "since, and `ids` every session in the queue now.",
                "parameters": [
                    time_param("since", "Only sessions changed at or after this."),
                    int_param(
                        "limit",
                        f"Most sessions (0-{MAX_HANDOFFS}, default 100).",
                        100,
                        MAX_HANDOFFS,
                    ),
                ],
                "responses": {
                    "200": json_response(ref("HandoffQueue"), "The queue."),
                    **_COMMON,
                },
            }
        },
        "/v1/sessions/{session_id}/handoff": {
            "post": {
                "summary": "Take a session: an active one moves to handoff (the user gets the "
                "localized notice), a waiting one is assigned to the agent",
                "description": "One agent per session, across workers: of two agents taking "
                "it at once, one gets 200 and the other 409 naming the holder. Taking a "
                "session one already holds answers 200 and changes nothing.",
                "parameters": [_SESSION_ID],
                "requestBody": _body("TakeRequest"),
                "responses": {
                    "200": json_response(ref("Session"), "The session, with its handoff."),
                    "404": error("No such session."),
                    "409": _CONFLICT,
                    **_COMMON,
                },
            }
        },
        "/v1/sessions/{session_id}/messages": {
            "get": {
                "summary": "A session's messages after a message id (polling)",
                "description": "Delivery statuses change on messages already seen: ask again "
                "from just before the oldest one not yet `delivered`/`read`/`failed`.",
                "parameters": [
                    _SESSION_ID,
                    int_param("after", "Only messages with a greater id (default 0).", 0, 2**53),
                    int_param("limit", "Most messages (default 200).", 200, MAX_MESSAGES),
                ],
                "responses": {
                    "200": json_response(ref("MessagesAfter"), "The messages, oldest first."),
                    "404": error("No such session."),
                    **_COMMON,
                },
            },
            "post": {
                "summary": "An agent's message to the user, sent through the outbox",
                "description": "Stored first (202 with its id), then sent after the user's "
                "pending messages: paced, retried, its delivery statuses stored; `agent` in "
                "the history. An agent who writes to a session nobody holds takes it.",
                "parameters": [_SESSION_ID],
                "requestBody": _body("AgentMessageRequest"),
                "responses": {
                    "202": json_response(ref("AgentMessage"), "Stored and queued."),
                    "404": error("No such session."),
                    "409": _CONFLICT,
                    **_COMMON,
                },
            },
        },
        "/v1/sessions/{session_id}/return": {
            "post": {
                "summary": "Give the session back to the bot",
                "description": "The flow resumes at its stored step (its question asked "
                "again), or the bot greets again when there is no flow to resume.",
                "parameters": [_SESSION_ID],
                "requestBody": _body("AgentRequest"),
                "responses": {
                    "200": json_response(ref("Session"), "The session, active again."),
                    "404": error("No such session."),
                    "409": _CONFLICT,
                    **_COMMON,
                },
            }
        },
    }
