"""The shapes (``components/schemas``) of the operators' API: what each handler of
:mod:`bot.web.admin` answers, and the request bodies it takes."""

from __future__ import annotations

from typing import Any

from bot.sessions.model import Delivery, Direction
from bot.web.openapi.fragments import (
    NULLABLE_STR,
    NULLABLE_TIME,
    SESSION_STATUS_MAPPING,
    TIME,
    USER_ID,
    ref,
)
from bot.web.openapi.limits import REASON_PATTERN, STATUSES


def schemas() -> dict[str, Any]:
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
            "display_name": NULLABLE_STR,
            "status": {"type": "string", "enum": list(STATUSES)},
            "close_reason": NULLABLE_STR,
            "flow_id": NULLABLE_STR,
            "step_id": NULLABLE_STR,
            "language": NULLABLE_STR,
            "data": {"type": "object"},
            "created_at": TIME,
            "last_activity_at": TIME,
            "expires_at": NULLABLE_TIME,
            "closed_at": NULLABLE_TIME,
            "confirming": {
                **NULLABLE_STR,
                "description": "The closing intent (goodbye, cancel) the bot asked the user "
                "to confirm with a yes/no question, until they answer.",
            },
            "opted_out": {
                "type": "boolean",
                "description": "The user opted out of messages (no proactive message reaches "
                "them until they write START / ALTA).",
            },
            "opted_out_at": NULLABLE_TIME,
            "handoff": ref("Handoff"),
        },
        "required": ["id", "channel", "bot_id", "user_id", "status", "created_at"],
    }
    message = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "direction": {"type": "string", "enum": [d.value for d in Direction]},
            "kind": {"type": "string"},
            "text": NULLABLE_STR,
            "step_id": NULLABLE_STR,
            "created_at": TIME,
            "provider_id": NULLABLE_STR,
            "status": {
                "type": "string",
                "enum": [d.value for d in Delivery],
                "description": "`pending` until the provider accepts it (retries included); "
                "`failed` with the provider's `error_code`; `skipped_window`: not sent, the "
                "user's 24-hour window had closed and no template is configured for it; "
                "`sending`: an attempt started, its result not stored yet (one the service "
                "stopped during waits for the provider's status, then is sent again); "
                "`skipped_opt_out`: a proactive message (warning, timeout notice, template) "
                "not sent because the user opted out of messages",
            },
            "error_code": {"type": ["integer", "null"]},
            "error_detail": NULLABLE_STR,
            "attempts": {"type": "integer", "description": "sends tried (outbound)"},
            "next_attempt_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "a pending message's next retry",
            },
            "agent": {**NULLABLE_STR, "description": "outbound: the agent who wrote it"},
            "flag": {
                **NULLABLE_STR,
                "description": "inbound: `cancel` when the user asked to cancel while a "
                "person had the session (passed to the agent, not acted on)",
            },
        },
    }
    counts = {"type": "object", "additionalProperties": {"type": "integer"}}
    detail = {
        "allOf": [
            ref("Session"),
            {
                "type": "object",
                "properties": {"messages": {"type": "array", "items": ref("Message")}},
            },
        ]
    }
    listed = {
        "allOf": [
            ref("Session"),
            {
                "type": "object",
                "properties": {
                    "messages_in": {"type": "integer"},
                    "messages_out": {"type": "integer"},
                    "last_message_at": NULLABLE_TIME,
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
                "sessions": {"type": "array", "items": ref("ListedSession")},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "total": {"type": "integer"},
            },
        },
        "ActiveSessions": {
            "type": "object",
            "properties": {
                "active_sessions": {"type": "array", "items": ref("ListedSession")},
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
                "reason": {"type": "string", "pattern": f"^{REASON_PATTERN}$"},
            },
        },
        "ClosedSession": {
            "allOf": [
                ref("Session"),
                {"type": "object", "properties": {"notified": {"type": "boolean"}}},
            ]
        },
        "UserSession": {
            "type": "object",
            "properties": {
                "user_id": {"type": "string"},
                "opted_out": {"type": "boolean"},
                "opted_out_at": NULLABLE_TIME,
                "session": {"oneOf": [ref("SessionDetail"), {"type": "null"}]},
                "recent_sessions": {"type": "array", "items": ref("Session")},
            },
        },
        "Stats": {
            "type": "object",
            "properties": {
                "created_from": NULLABLE_TIME,
                "created_to": NULLABLE_TIME,
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
                "handoffs": {
                    "type": "object",
                    "description": "Sessions handed to a person (their latest handoff).",
                    "properties": {
                        "total": {"type": "integer"},
                        "by_reason": counts,
                        "by_flow_step": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "flow": NULLABLE_STR,
                                    "step": NULLABLE_STR,
                                    "reason": {"type": "string"},
                                    "sessions": {"type": "integer"},
                                },
                            },
                        },
                        "replied": {"type": "integer"},
                        "avg_first_reply_s": {"type": ["number", "null"]},
                    },
                },
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
                "userId": USER_ID,
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
                "lastSeen": NULLABLE_TIME,
                "phoneNumber": {"type": "string"},
                "displayName": NULLABLE_STR,
                "sessionId": NULLABLE_STR,
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
                "now": TIME,
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
                "handoff_sessions": {
                    **nullable_int,
                    "description": "Sessions in handoff: a person has them or should take them.",
                },
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
                            "start": TIME,
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
                "created_from": NULLABLE_TIME,
                "created_to": NULLABLE_TIME,
                "flows": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "flow_id": {"type": "string"},
                            "description": NULLABLE_STR,
                            "sessions": {"type": "integer"},
                            "active": {"type": "integer"},
                            "completed": {"type": "integer"},
                            "completion_rate": {"type": ["number", "null"]},
                            "steps": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "step_id": NULLABLE_STR,
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
