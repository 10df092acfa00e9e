"""The operators' API under ``/v1`` (``Authorization: Bearer $ADMIN_TOKEN``, JSON).

Sessions: ``GET /v1/sessions`` (filters, pagination, ``total``), ``GET /v1/sessions/active``,
``GET /v1/sessions/{id}`` (with ``messages``), ``POST /v1/sessions/{id}/complete`` and
``/cancel`` (the user gets the localized close notice unless ``{"notify": false}``),
``GET /v1/users/{user}/session`` and ``GET /v1/stats``. For the dashboard (issue #8):
``GET /v1/health`` (store, active sessions, sweeper lag, send errors, opens and closes per
hour) and ``GET /v1/stats/flows`` (completion and where users stop, per step). For existing
frontends, exactly:
``POST /v1/whatsapp/clear-session/{botId}`` and ``GET /v1/whatsapp/session-status/{botId}``.
The OpenAPI document (:mod:`bot.web.openapi`) describes every one, with its shapes, and is
served without a token at ``GET /v1/openapi.json``.

401 without the right token (compared in constant time, over the bytes sent), 400 with a reason
for a bad filter, path or body (every parameter is checked against the limits the OpenAPI
document declares: formats, ranges, lengths, enums), 404 for an unknown id, 409 for closing a
session that is not active.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.engine import SessionAlreadyClosed
from bot.errors import BadRequest
from bot.flows.model import Flow
from bot.flows.runner import FLOW_COMPLETED
from bot.privacy import mask_phone
from bot.sessions.model import Delivery, Direction, MessageRecord, Session, Status
from bot.sessions.store import (
    QueryStore,
    SessionLookup,
    SessionQuery,
    SessionStats,
    StepExit,
    StoreUnavailable,
)
from bot.web.body import header_bytes, read_body
from bot.web.keys import RUNTIME, SETTINGS
from bot.web.observability import METRICS
from bot.web.openapi import (
    CHANNELS,
    DATE_TIME_PATTERN,
    MAX_ID_LENGTH,
    MAX_SESSION_ID_LENGTH,
    document,
)

routes = web.RouteTableDef()
MAX_LIMIT = 500
MAX_MESSAGES = 10_000
MAX_HEALTH_HOURS = 168
OPERATOR_REASON = "operator"
CLEARED_REASON = "cleared"
MAX_OFFSET = 10**9
_REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")
_STATUSES = tuple(s.value for s in Status)
_BLANK = " \t"
"""What is stripped around a ``userId`` (exactly what the OpenAPI pattern ``[^ \\t]`` means)."""
_WHOLE = re.compile(r"-?[0-9]{1,12}")
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def session_json(session: Session, opted_out_at: datetime | None = None) -> dict[str, Any]:
    """The public JSON shape of a session; ``opted_out_at``: when its user opted out of
    messages (``SessionLookup.opted_out_at``), ``None`` when they did not."""
    return {
        "id": session.id,
        "channel": session.key.channel,
        "bot_id": session.key.bot_id,
        "user_id": session.key.user_id,
        "user_masked": display_phone(session.key.user_id),
        "display_name": session.display_name,
        "status": session.status.value,
        "close_reason": session.close_reason,
        "flow_id": session.flow_id,
        "step_id": session.step_id,
        "language": session.language,
        "data": session.data,
        "created_at": _iso(session.created_at),
        "last_activity_at": _iso(session.last_activity_at),
        "expires_at": _iso(session.expires_at),
        "closed_at": _iso(session.closed_at),
        "confirming": session.confirming,
        "opted_out": opted_out_at is not None,
        "opted_out_at": _iso(opted_out_at),
    }


async def sessions_json(store: SessionLookup, sessions: list[Session]) -> list[dict[str, Any]]:
    """:func:`session_json` of each of ``sessions``, with their users' opt-outs (one query)."""
    opted = await store.opt_outs([s.key for s in sessions])
    return [session_json(s, opted.get(s.key)) for s in sessions]


def display_phone(user_id: str) -> str:
    """The user's number masked as in the logs, always with ``+`` (Cloud API ids are bare
    digits): ``"5491155550089"`` → ``"+54911****89"``."""
    return mask_phone(f"+{user_id}" if user_id.isdigit() else user_id)


async def listed_json(store: QueryStore, sessions: list[Session]) -> list[dict[str, Any]]:
    """Sessions as listed: :func:`session_json` plus ``messages_in``, ``messages_out`` and
    ``last_message_at`` (``null`` without messages)."""
    summaries = await store.message_summaries([s.id for s in sessions])
    opted = await store.opt_outs([s.key for s in sessions])
    out = []
    for session in sessions:
        summary = summaries.get(session.id)
        out.append(
            {
                **session_json(session, opted.get(session.key)),
                "messages_in": summary.messages_in if summary else 0,
                "messages_out": summary.messages_out if summary else 0,
                "last_message_at": _iso(summary.last_message_at) if summary else None,
            }
        )
    return out


def message_json(message: MessageRecord) -> dict[str, Any]:
    """The public JSON shape of a history message."""
    return {
        "id": message.id,
        "direction": message.direction.value,
        "kind": message.kind,
        "text": message.text,
        "step_id": message.step_id,
        "created_at": _iso(message.created_at),
        "provider_id": message.provider_id,
        "status": message.status.value,
        "error_code": message.error_code,
        "error_detail": message.error_detail,
        "attempts": message.attempts,
        "next_attempt_at": _iso(message.next_attempt_at),
    }


def _authorize(request: web.Request) -> None:
    """Raises BadRequest (401) unless ``Authorization: Bearer <ADMIN_TOKEN>``; the bytes sent
    are compared (a header byte that is not UTF-8 is simply a wrong token)."""
    token = request.app[SETTINGS].admin_token
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(header_bytes(given.strip()), token.encode())
    ):
        raise BadRequest("missing or invalid bearer token", status=401)


def _int(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw):
        raise BadRequest(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if not 0 <= value <= maximum:
        raise BadRequest(f"{name} must be between 0 and {maximum}")
    return value


def _moment(request: web.Request, name: str) -> datetime | None:
    """The query parameter ``name`` as an aware datetime (``None`` when absent).

    Raises:
        BadRequest: 400 unless an RFC 3339 date-time with a zone (``2026-01-31T12:00:00Z``,
            ``...+05:00``) in the years 0002-9998 (in UTC it must stay inside what a
            ``datetime`` holds: ``0001-01-01T00:00:00+05:00`` does not).
    """
    raw = request.query.get(name)
    if raw is None:
        return None
    match = _DATE_TIME.fullmatch(raw)
    if match is None and _naive(raw):
        raise BadRequest(f"{name} must include a time zone (e.g. Z or +00:00), got {raw!r}")
    if match is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 date-time with a zone (e.g. 2026-01-31T12:00:00Z) "
            f"in the years 0002-9998, got {raw!r}"
        )
    date, clock, fraction, zone = match.groups()
    if clock.endswith(":60"):  # a leap second: the last second of that minute
        clock, fraction = clock[:-2] + "59", ".999999"
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{date}T{clock}{(fraction or '')[:7]}{zone}")
    except ValueError:
        raise BadRequest(f"{name} is not a valid date-time, got {raw!r}") from None


def _naive(raw: str) -> bool:
    """True for an ISO-8601 date-time without a zone (``2026-01-01T00:00:00``)."""
    try:
        return datetime.fromisoformat(raw).tzinfo is None
    except ValueError:
        return False


def _text(request: web.Request, name: str) -> str | None:
    """The query parameter ``name`` (``None`` when absent or empty).

    Raises:
        BadRequest: 400 when longer than ``MAX_ID_LENGTH`` characters.
    """
    value = request.query.get(name) or None
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise BadRequest(f"{name} must be at most {MAX_ID_LENGTH} characters")
    return value


def _path(request: web.Request, name: str) -> str:
    """The path parameter ``name``.

    Raises:
        BadRequest: 400 when longer than ``MAX_ID_LENGTH`` characters.
    """
    value = request.match_info[name]
    if len(value) > MAX_ID_LENGTH:
        raise BadRequest(f"{name} must be at most {MAX_ID_LENGTH} characters")
    return value


def _session_id(request: web.Request) -> str:
    """The ``session_id`` path parameter.

    Raises:
        BadRequest: 400 when longer than ``MAX_SESSION_ID_LENGTH`` (ids are 32 hex digits).
    """
    value = request.match_info["session_id"]
    if len(value) > MAX_SESSION_ID_LENGTH:
        raise BadRequest(f"session_id must be at most {MAX_SESSION_ID_LENGTH} characters")
    return value


def _channels(request: web.Request) -> tuple[str, ...]:
    """The ``channel`` filter: known channels, comma-separated (``()`` when absent).

    Raises:
        BadRequest: 400 for a channel that is not one of ``CHANNELS``.
    """
    raw = request.query.get("channel", "")
    if not raw:
        return ()
    channels = tuple(dict.fromkeys(raw.split(",")))
    if any(channel not in CHANNELS for channel in channels):
        raise BadRequest(f"channel must be one or more of {', '.join(CHANNELS)}, comma-separated")
    return channels


def _status(request: web.Request) -> str | None:
    status = request.query.get("status")
    if status is not None and status not in _STATUSES:
        raise BadRequest(f"status must be one of {', '.join(_STATUSES)}")
    return status


def _bool(request: web.Request, name: str) -> bool | None:
    """The query parameter ``name`` as ``true``/``false`` (``None`` when absent).

    Raises:
        BadRequest: 400 for any other value.
    """
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _query(request: web.Request, **fixed: Any) -> SessionQuery:
    """The :class:`SessionQuery` of the request's filters (``fixed`` ones win); ``channel``
    may list several, comma-separated (``whatsapp,twilio_whatsapp``)."""
    channels = _channels(request)
    values: dict[str, Any] = {
        "user_id": _text(request, "user"),
        "status": _status(request),
        "channel": channels[0] if len(channels) == 1 else None,
        "channels": channels if len(channels) > 1 else (),
        "bot_id": _text(request, "bot"),
        "flow_id": _text(request, "flow"),
        "opted_out": _bool(request, "opted_out"),
        "created_from": _moment(request, "created_from"),
        "created_to": _moment(request, "created_to"),
        "active_from": _moment(request, "last_activity_from"),
        "active_to": _moment(request, "last_activity_to"),
        "limit": _int(request, "limit", 50, MAX_LIMIT),
        "offset": _int(request, "offset", 0, MAX_OFFSET),
        **fixed,
    }
    return SessionQuery(**values)


async def _body(request: web.Request, *, required: bool) -> dict[str, Any]:
    """The JSON object in the request body (``{}`` when optional and empty).

    Raises:
        BadRequest: 400 for a body that is not a JSON object in UTF-8, or that holds a lone
            surrogate (``"\\ud800"``: valid JSON, but no store can keep it).
    """
    raw = await read_body(request)
    if not raw.strip():
        if required:
            raise BadRequest("a JSON object body is required")
        return {}
    try:
        data = json.loads(raw)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # lone surrogates raise
    except UnicodeEncodeError:
        raise BadRequest("the body holds a lone surrogate (U+D800-U+DFFF)") from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API (no token needed: it holds no data)."""
    return web.json_response(document())


@routes.get("/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """Sessions matching the filters, newest first, paginated, with the ``total`` count."""
    _authorize(request)
    query = _query(request)
    store = request.app[RUNTIME].store
    sessions = await store.list_sessions(query)
    return web.json_response(
        {
            "sessions": await listed_json(store, sessions),
            "limit": query.limit,
            "offset": query.offset,
            "total": await store.count_sessions(query),
        }
    )


@routes.get("/v1/sessions/active")
async def active_sessions(request: web.Request) -> web.Response:
    """Active sessions (same filters as ``/v1/sessions`` but ``status``), newest first, each
    with ``active_for_s`` (seconds since it was created) and ``expires_in_s`` (seconds until
    its inactivity timeout; negative when due and not swept yet)."""
    _authorize(request)
    query = _query(request, status=Status.ACTIVE.value)
    runtime = request.app[RUNTIME]
    store = runtime.store
    sessions = await store.list_sessions(query)
    now = runtime.engine.clock()
    listed = await listed_json(store, sessions)
    for item, session in zip(listed, sessions, strict=True):
        item["active_for_s"] = round((now - session.created_at).total_seconds(), 1)
        item["expires_in_s"] = (
            round((session.expires_at - now).total_seconds(), 1) if session.expires_at else None
        )
    return web.json_response(
        {
            "active_sessions": listed,
            "total_active": await store.count_sessions(query),
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@routes.get("/v1/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    """One session with its message history (``limit`` newest messages, oldest first)."""
    _authorize(request)
    store = request.app[RUNTIME].store
    session = await store.get(_session_id(request))
    if session is None:
        raise BadRequest("no such session", status=404)
    messages = await store.messages(session.id, _int(request, "limit", 200, MAX_MESSAGES))
    opted_out_at = await store.opted_out_at(session.key)
    return web.json_response(
        {**session_json(session, opted_out_at), "messages": [message_json(m) for m in messages]}
    )


async def _close(request: web.Request, status: Status) -> web.Response:
    _authorize(request)
    session_id = _session_id(request)
    body = await _body(request, required=False)
    notify = _flag(body, "notify", True)
    reason = body.get("reason", OPERATOR_REASON)
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise BadRequest("reason must be 1-64 lowercase letters, digits or _, starting a-z")
    engine = request.app[RUNTIME].engine
    try:
        session = await engine.close_session(session_id, status, reason, notify=notify)
    except SessionAlreadyClosed as exc:
        raise BadRequest(str(exc), status=409) from None
    if session is None:
        raise BadRequest("no such session", status=404)
    opted_out_at = await request.app[RUNTIME].store.opted_out_at(session.key)
    notified = notify and opted_out_at is None  # never a notice to a user who opted out
    return web.json_response({**session_json(session, opted_out_at), "notified": notified})


@routes.post("/v1/sessions/{session_id}/complete")
async def complete_session(request: web.Request) -> web.Response:
    """Close an active session as ``completed`` (body: ``{"notify": bool, "reason": str}``)."""
    return await _close(request, Status.COMPLETED)


@routes.post("/v1/sessions/{session_id}/cancel")
async def cancel_session(request: web.Request) -> web.Response:
    """Close an active session as ``cancelled`` (body: ``{"notify": bool, "reason": str}``)."""
    return await _close(request, Status.CANCELLED)


@routes.get("/v1/users/{user}/session")
async def user_session(request: web.Request) -> web.Response:
    """The user's current (newest active) session with its history, and recent sessions."""
    _authorize(request)
    store = request.app[RUNTIME].store
    user = _path(request, "user")
    channels = _channels(request)
    if len(channels) > 1:
        raise BadRequest("channel must be one channel here")
    base = SessionQuery(
        user_id=user,
        channel=channels[0] if channels else None,
        bot_id=_text(request, "bot"),
        limit=_int(request, "sessions", 10, MAX_LIMIT),
    )
    recent = await store.list_sessions(base)
    if not recent:
        raise BadRequest("no sessions for this user", status=404)
    active = await store.list_sessions(replace(base, status=Status.ACTIVE.value, limit=1))
    current: dict[str, Any] | None = None
    listed = await sessions_json(store, recent)
    if active:
        messages = await store.messages(active[0].id, _int(request, "limit", 50, MAX_MESSAGES))
        opted_out_at = await store.opted_out_at(active[0].key)
        current = {
            **session_json(active[0], opted_out_at),
            "messages": [message_json(m) for m in messages],
        }
    newest = current or listed[0]  # the user's opt-out on the channel they wrote on last
    return web.json_response(
        {
            "user_id": user,
            "opted_out": newest["opted_out"],
            "opted_out_at": newest["opted_out_at"],
            "session": current,
            "recent_sessions": listed,
        }
    )


def _flow_ends(flow: Flow | None) -> set[str]:
    """The close reasons that mean the flow was completed: its steps' ``end`` reasons."""
    return {FLOW_COMPLETED} | ({s.end for s in flow.steps if s.end} if flow else set())


def _flow_stats(request: web.Request, stats: SessionStats) -> dict[str, Any]:
    flows = request.app[RUNTIME].content.flows
    out: dict[str, Any] = {}
    for flow_id, flow_stats in stats.flows.items():
        ends = _flow_ends(flows.get(flow_id))
        completed = sum(n for reason, n in flow_stats.by_close_reason.items() if reason in ends)
        out[flow_id] = {
            "sessions": flow_stats.sessions,
            "completed": completed,
            "completion_rate": completed / flow_stats.sessions if flow_stats.sessions else None,
            "by_close_reason": flow_stats.by_close_reason,
        }
    return out


@routes.get("/v1/stats")
async def stats(request: web.Request) -> web.Response:
    """Aggregates over the sessions created in ``[created_from, created_to)``."""
    _authorize(request)
    created_from, created_to = _moment(request, "created_from"), _moment(request, "created_to")
    result = await request.app[RUNTIME].store.session_stats(created_from, created_to)
    return web.json_response(
        {
            "created_from": _iso(created_from),
            "created_to": _iso(created_to),
            "sessions": {
                "total": result.sessions,
                "by_status": result.by_status,
                "by_close_reason": result.by_close_reason,
            },
            "messages": {"in": result.messages_in, "out": result.messages_out},
            "avg_session_duration_s": result.avg_duration_s,
            "avg_messages_per_session": result.avg_messages,
            "flows": _flow_stats(request, result),
        }
    )


@routes.get("/v1/stats/flows")
async def flow_steps(request: web.Request) -> web.Response:
    """Per flow (every loaded one, and any other sessions ran), over the sessions created in
    ``[created_from, created_to)``: sessions, still active, completed (closed by one of the
    flow's ``end`` reasons), completion rate (completed / sessions), and per step in the
    flow's order where the others are waiting or stopped, by outcome (``active``,
    ``timeout``: went quiet, ``cancel``, ``goodbye``, or another close reason)."""
    _authorize(request)
    created_from, created_to = _moment(request, "created_from"), _moment(request, "created_to")
    exits = await request.app[RUNTIME].store.flow_exits(created_from, created_to)
    flows = request.app[RUNTIME].content.flows
    by_flow: dict[str, list[StepExit]] = {flow_id: [] for flow_id in flows}
    for row in exits:
        by_flow.setdefault(row.flow_id, []).append(row)
    return web.json_response(
        {
            "created_from": _iso(created_from),
            "created_to": _iso(created_to),
            "flows": [
                _flow_steps_json(flow_id, flows.get(flow_id), rows)
                for flow_id, rows in sorted(by_flow.items())
            ],
        }
    )


def _flow_steps_json(flow_id: str, flow: Flow | None, rows: list[StepExit]) -> dict[str, Any]:
    ends = _flow_ends(flow)
    sessions = sum(r.sessions for r in rows)
    completed = sum(r.sessions for r in rows if r.outcome in ends)
    stopped: dict[str | None, dict[str, int]] = {}
    for r in rows:
        if r.outcome not in ends:
            per_step = stopped.setdefault(r.step_id, {})
            per_step[r.outcome] = per_step.get(r.outcome, 0) + r.sessions
    order: list[str | None] = [s.id for s in flow.steps] if flow else []
    order += sorted((s for s in stopped if s not in order), key=lambda s: (s is None, s or ""))
    return {
        "flow_id": flow_id,
        "description": flow.description if flow else None,
        "sessions": sessions,
        "active": sum(r.sessions for r in rows if r.outcome == "active"),
        "completed": completed,
        "completion_rate": completed / sessions if sessions else None,
        "steps": [
            {
                "step_id": step_id,
                "question": _asks(flow, step_id),
                "stopped": sum(stopped.get(step_id, {}).values()),
                "by_outcome": stopped.get(step_id, {}),
            }
            for step_id in order
        ],
    }


def _asks(flow: Flow | None, step_id: str | None) -> bool:
    """True when the step waits for an answer (where a user can go quiet)."""
    step = flow.step(step_id) if flow is not None else None
    return step is not None and step.ask is not None


@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    """What an operator checks first. ``store``: ``ok`` (with the round trip in ms) or
    ``unavailable`` (then the other figures are ``null``); ``active_sessions``;
    ``sweeper_lag_s``: how long the oldest due session has been waiting to be closed (0 when
    none is due), over the whole store; ``send_errors``: failed sends by provider error code,
    counted by this process since it started; ``hours``: the last ``hours`` UTC hours (1-168,
    default 24; the last one is the current, partial hour), oldest first, each with the
    sessions ``opened`` and ``closed`` in it by close reason."""
    _authorize(request)
    hours = _int(request, "hours", 24, MAX_HEALTH_HOURS)
    if hours < 1:
        raise BadRequest(f"hours must be between 1 and {MAX_HEALTH_HOURS}")
    runtime = request.app[RUNTIME]
    store = runtime.store
    now = runtime.engine.clock()
    backend = request.app[SETTINGS].database_url.partition("://")[0]
    body: dict[str, Any] = {
        "now": _iso(now),
        "store": {"status": "ok", "backend": backend},
        "active_sessions": None,
        "sweeper_lag_s": None,
        "send_errors": _send_errors(request),
        "hours": None,
    }
    started = time.perf_counter()
    try:
        await store.ping()
        body["store"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        await store.check_writable()
        body["active_sessions"] = await store.count_sessions(
            SessionQuery(status=Status.ACTIVE.value)
        )
        due = await store.due_sessions(now, 1)
        oldest = due[0].expires_at if due else None
        body["sweeper_lag_s"] = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        first = hour - timedelta(hours=hours - 1)
        activity = await store.hourly_activity(first, hour + timedelta(hours=1))
    except StoreUnavailable as exc:
        body["store"] = {"status": "unavailable", "backend": backend, "detail": str(exc)}
        return web.json_response(body)
    starts = [first + timedelta(hours=i) for i in range(hours)]
    body["hours"] = [
        {
            "start": _iso(start),
            "opened": activity.opened.get(start, 0),
            "closed": activity.closed.get(start, {}),
        }
        for start in starts
    ]
    return web.json_response(body)


def _send_errors(request: web.Request) -> dict[str, Any]:
    """``{"total": N, "by_code": {code: N}}`` from this process's ``bot_send_errors_total``
    (``code``: the provider's error code, ``none`` for no answer)."""
    by_code: dict[str, int] = {}
    metrics = request.app.get(METRICS)
    for family in metrics.registry.collect() if metrics is not None else []:
        if family.name != "bot_send_errors":
            continue
        for sample in family.samples:
            if sample.name == "bot_send_errors_total" and sample.value:
                code = sample.labels["code"]
                by_code[code] = by_code.get(code, 0) + int(sample.value)
    return {"total": sum(by_code.values()), "by_code": by_code}


# --- endpoints existing frontends call, with their exact shapes ------------------------------


def _user_ids(user: str) -> list[str]:
    """``user`` as given, then in the other stored spelling (Cloud API ``549...`` digits,
    Twilio ``+549...``)."""
    other = user[1:] if user.startswith("+") else f"+{user}"
    return [user, other] if other.lstrip("+").isdigit() else [user]


async def _sessions_of(request: web.Request, bot_id: str, user: str) -> list[Session]:
    store = request.app[RUNTIME].store
    for user_id in _user_ids(user):
        found = await store.list_sessions(
            SessionQuery(bot_id=bot_id, user_id=user_id, limit=MAX_LIMIT)
        )
        if found:
            return found
    return []


@routes.post("/v1/whatsapp/clear-session/{bot_id}")
async def clear_session(request: web.Request) -> web.Response:
    """Reset a user at a bot: ``clearSession`` closes the active session(s) as ``cancelled``
    (reason ``cleared``; no notice unless ``"notify": true``); ``clearRedis`` and
    ``clearDatabase`` delete the user's sessions and messages from the backend of that kind
    when it is the one in use (``DATABASE_URL``), and report ``done: false`` otherwise."""
    _authorize(request)
    bot_id = _path(request, "bot_id")
    body = await _body(request, required=True)
    user = body.get("userId")
    if not isinstance(user, str) or not user.strip(_BLANK):
        raise BadRequest("userId must be a non-empty string")
    user = user.strip(_BLANK)
    if len(user) > MAX_ID_LENGTH:
        raise BadRequest(f"userId must be at most {MAX_ID_LENGTH} characters")
    flags = {
        name: _flag(body, name, False) for name in ("clearSession", "clearRedis", "clearDatabase")
    }
    notify = _flag(body, "notify", False)
    runtime = request.app[RUNTIME]
    sessions = await _sessions_of(request, bot_id, user)
    results: dict[str, Any] = {}
    if flags["clearSession"]:
        closed = []
        for session in sessions:
            if session.status is Status.ACTIVE and await _close_quietly(request, session, notify):
                closed.append(session.id)
        results["clearSession"] = {"done": True, "closedSessionIds": closed}
    backend = request.app[SETTINGS].database_url.partition("://")[0]
    for flag, kind in (("clearRedis", "redis"), ("clearDatabase", "sqlite")):
        if not flags[flag]:
            continue
        if backend != kind:
            results[flag] = {"done": False, "detail": f"no {kind} backend in use ({backend})"}
            continue
        keys = sorted({s.key for s in sessions}, key=lambda k: (k.channel, k.bot_id, k.user_id))
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:
                await stack.enter_async_context(runtime.engine.locks.lock(key))
            deleted_sessions = deleted_messages = 0
            for user_id in {s.key.user_id for s in sessions} or {user}:
                counts = await runtime.store.delete_user(bot_id, user_id)
                deleted_sessions += counts.sessions
                deleted_messages += counts.messages
        results[flag] = {
            "done": True,
            "deletedSessions": deleted_sessions,
            "deletedMessages": deleted_messages,
        }
    return web.json_response({"success": True, "botId": bot_id, "userId": user, "results": results})


async def _close_quietly(request: web.Request, session: Session, notify: bool) -> bool:
    try:
        closed = await request.app[RUNTIME].engine.close_session(
            session.id, Status.CANCELLED, CLEARED_REASON, notify=notify
        )
    except SessionAlreadyClosed:
        return False
    return closed is not None


def connection_status(session: Session | None, last_out: MessageRecord | None) -> str:
    """``failed`` when the newest message to the user failed (or was skipped: outside the
    24-hour window); ``connecting`` when the session
    is active but the bot's newest message is still pending (or none was sent yet);
    ``active`` for another active session; ``inactive`` otherwise (closed or none)."""
    if session is None:
        return "inactive"
    if last_out is not None and last_out.status in (Delivery.FAILED, Delivery.SKIPPED_WINDOW):
        return "failed"
    if session.status is not Status.ACTIVE:
        return "inactive"
    if last_out is None or last_out.status is Delivery.PENDING:
        return "connecting"
    return "active"


@routes.get("/v1/whatsapp/session-status/{bot_id}")
async def session_status(request: web.Request) -> web.Response:
    """The user's status at a bot, in the shape existing frontends read."""
    _authorize(request)
    bot_id = _path(request, "bot_id")
    user = (_text(request, "userId") or "").strip(_BLANK)
    if not user:
        raise BadRequest("userId is required")
    sessions = await _sessions_of(request, bot_id, user)
    session = sessions[0] if sessions else None
    last_out: MessageRecord | None = None
    if session is not None:
        history = await request.app[RUNTIME].store.messages(session.id, 50)
        last_out = next((m for m in reversed(history) if m.direction is Direction.OUT), None)
    stored_user = session.key.user_id if session else user
    return web.json_response(
        {
            "success": True,
            "status": connection_status(session, last_out),
            "lastSeen": _iso(session.last_activity_at) if session else None,
            "phoneNumber": stored_user if stored_user.startswith("+") else f"+{stored_user}",
            "displayName": session.display_name if session else None,
            "sessionId": session.id if session else None,
        }
    )
