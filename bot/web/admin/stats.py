"""The admin API's statistics: ``/v1/stats`` (aggregates over sessions created in a range,
handoffs to a person included) and
``/v1/stats/flows`` (per flow, completion and where users stop, per step)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.flows.model import Flow
from bot.flows.runner import FLOW_COMPLETED
from bot.sessions.store import SessionStats, StepExit
from bot.web.admin import params
from bot.web.admin.auth import authorize
from bot.web.admin.shapes import iso
from bot.web.keys import RUNTIME

routes = web.RouteTableDef()


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
    authorize(request)
    created_from, created_to = (
        params.moment(request, "created_from"),
        params.moment(request, "created_to"),
    )
    result = await request.app[RUNTIME].store.session_stats(created_from, created_to)
    return web.json_response(
        {
            "created_from": iso(created_from),
            "created_to": iso(created_to),
            "sessions": {
                "total": result.sessions,
                "by_status": result.by_status,
                "by_close_reason": result.by_close_reason,
            },
            "messages": {"in": result.messages_in, "out": result.messages_out},
            "avg_session_duration_s": result.avg_duration_s,
            "avg_messages_per_session": result.avg_messages,
            "flows": _flow_stats(request, result),
            "handoffs": _handoff_stats(result),
        }
    )


def _handoff_stats(stats: SessionStats) -> dict[str, Any]:
    """Sessions handed to a person (their latest handoff): in all, by reason, per flow and
    step they came from, and the mean time to the first agent message."""
    rows = stats.handoffs
    by_reason: dict[str, int] = {}
    for row in rows:
        by_reason[row.reason] = by_reason.get(row.reason, 0) + row.sessions
    replied = sum(r.replied for r in rows)
    return {
        "total": sum(r.sessions for r in rows),
        "by_reason": by_reason,
        "by_flow_step": [
            {"flow": r.flow_id, "step": r.step_id, "reason": r.reason, "sessions": r.sessions}
            for r in sorted(rows, key=lambda r: (r.flow_id or "", r.step_id or "", r.reason))
        ],
        "replied": replied,
        "avg_first_reply_s": (
            round(sum(r.first_reply_s for r in rows) / replied, 1) if replied else None
        ),
    }


@routes.get("/v1/stats/flows")
async def flow_steps(request: web.Request) -> web.Response:
    """Per flow (every loaded one, and any other sessions ran), over the sessions created in
    ``[created_from, created_to)``: sessions, still active, completed (closed by one of the
    flow's ``end`` reasons), completion rate (completed / sessions), and per step in the
    flow's order where the others are waiting or stopped, by outcome (``active``,
    ``timeout``: went quiet, ``cancel``, ``goodbye``, or another close reason)."""
    authorize(request)
    created_from, created_to = (
        params.moment(request, "created_from"),
        params.moment(request, "created_to"),
    )
    exits = await request.app[RUNTIME].store.flow_exits(created_from, created_to)
    flows = request.app[RUNTIME].content.flows
    by_flow: dict[str, list[StepExit]] = {flow_id: [] for flow_id in flows}
    for row in exits:
        by_flow.setdefault(row.flow_id, []).append(row)
    return web.json_response(
        {
            "created_from": iso(created_from),
            "created_to": iso(created_to),
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
