"""The handoff calls of the operators' API, in process (real engine, SQLite, fake Graph API):
the queue, take (one holder, 409 naming them), an agent's messages (202, sent, in the
history with ``agent``), polling after an id, give back, close, stats and bad input."""

from __future__ import annotations

import pytest

from bot.wiring import Content
from tests.web.conftest import WebApp

ANA = "5491155550001"
BEN = "5491155550002"


def t(content: Content, key: str, lang: str = "es") -> str:
    return content.locales.text(lang, key, {})


async def session_id(webapp: WebApp, user: str) -> str:
    status, body = await webapp.admin("GET", f"/v1/sessions?user={user}&limit=1")
    assert status == 200
    sid: str = body["sessions"][0]["id"]
    return sid


async def test_the_queue_oldest_first_with_what_the_user_said(
    webapp: WebApp, content: Content
) -> None:
    await webapp.whatsapp_text(ANA, "quiero hablar con una persona")
    webapp.clock.advance(seconds=60)
    await webapp.whatsapp_text(BEN, "talk to a human")
    webapp.clock.advance(seconds=30)
    await webapp.whatsapp_text(ANA, "es por una factura")
    assert webapp.graph.texts_to(ANA) == [t(content, "handoff.notice")]  # no reply after
    webapp.clock.advance(seconds=1)
    status, body = await webapp.admin("GET", "/v1/handoffs")
    assert status == 200
    assert [h["user_id"] for h in body["handoffs"]] == [ANA, BEN]
    assert body["ids"] == [h["session_id"] for h in body["handoffs"]] and body["total"] == 2
    first = body["handoffs"][0]
    assert (first["reason"], first["agent"], first["flow"], first["step"]) == (
        "user_request",
        None,
        None,
        None,
    )
    assert (first["waiting_s"], first["last_inbound_text"]) == (91.0, "es por una factura")
    assert first["language"] == "es" and body["handoffs"][1]["language"] == "en"
    status, one = await webapp.admin("GET", "/v1/handoffs?limit=1")  # the oldest waiting
    assert [h["user_id"] for h in one["handoffs"]] == [ANA] and one["ids"] == body["ids"]
    # polling: only what changed at or after the previous answer's `now`; ids names all
    webapp.clock.advance(seconds=5)
    since = body["now"].replace("+00:00", "Z")
    await webapp.whatsapp_text(BEN, "hello?")
    status, changed = await webapp.admin("GET", f"/v1/handoffs?since={since}")
    assert [h["user_id"] for h in changed["handoffs"]] == [BEN]
    assert len(changed["ids"]) == 2


async def post(webapp: WebApp, sid: str, action: str, **body: object) -> tuple[int, dict]:
    status, answer = await webapp.admin("POST", f"/v1/sessions/{sid}/{action}", json=body)
    return status, answer


async def test_take_write_poll_and_return(webapp: WebApp, content: Content) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    sid = await session_id(webapp, ANA)
    status, body = await post(webapp, sid, "messages", agent="ana", text="hola")
    assert (status, body["agent"], body["status"]) == (409, None, "active")
    assert "not in handoff" in body["error"]
    status, body = await post(webapp, sid, "handoff", agent="ana")
    assert status == 200
    handoff = body["handoff"]
    assert (body["status"], handoff["agent"], handoff["reason"]) == ("handoff", "ana", "agent")
    await webapp.runtime.outbox.join()
    assert webapp.graph.texts_to(ANA)[-1] == t(content, "handoff.notice")
    status, body = await post(webapp, sid, "handoff", agent="beto")
    assert (status, body["agent"], body["status"]) == (409, "ana", "handoff")
    status, body = await post(webapp, sid, "messages", agent="ana", text="Soy Ana, ¿te ayudo?")
    assert status == 202 and isinstance(body["message_id"], int)
    assert (body["agent"], body["status"], body["direction"]) == ("ana", "pending", "out")
    await webapp.runtime.outbox.join()
    assert webapp.graph.texts_to(ANA)[-1] == "Soy Ana, ¿te ayudo?"
    status, other = await post(webapp, sid, "messages", agent="beto", text="yo")
    assert (status, other["agent"]) == (409, "ana")
    await webapp.whatsapp_text(ANA, "cancelar")
    status, polled = await webapp.admin(
        "GET", f"/v1/sessions/{sid}/messages?after={body['message_id']}"
    )
    assert status == 200 and (polled["status"], polled["agent"]) == ("handoff", "ana")
    assert [(m["direction"], m["text"], m["flag"]) for m in polled["messages"]] == [
        ("in", "cancelar", "cancel")
    ]
    status, detail = await webapp.admin("GET", f"/v1/sessions/{sid}")
    sent = [m for m in detail["messages"] if m["id"] == body["message_id"]]
    assert sent[0]["agent"] == "ana" and sent[0]["status"] == "sent"
    status, body = await post(webapp, sid, "return", agent="ana")
    assert (status, body["status"], body["handoff"]["ended_at"] is not None) == (
        200,
        "active",
        True,
    )
    await webapp.runtime.outbox.join()
    assert webapp.graph.texts_to(ANA)[-1] == (
        f"{t(content, 'handoff.returned')}\n\n{t(content, 'welcome')}"
    )
    status, body = await post(webapp, sid, "return", agent="ana")
    assert status == 409


async def test_close_with_or_without_the_notice(webapp: WebApp, content: Content) -> None:
    await webapp.whatsapp_text(ANA, "un asesor por favor")
    sid = await session_id(webapp, ANA)
    status, body = await post(webapp, sid, "close", notify=False)
    assert (status, body["status"], body["notified"]) == (200, "completed", False)
    await webapp.runtime.outbox.join()
    assert webapp.graph.texts_to(ANA) == [t(content, "handoff.notice")]
    await webapp.whatsapp_text(BEN, "un asesor por favor")
    sid = await session_id(webapp, BEN)
    status, body = await post(webapp, sid, "close", notify=True, reason="resolved")
    assert (status, body["close_reason"], body["notified"]) == (200, "resolved", True)
    await webapp.runtime.outbox.join()
    assert webapp.graph.texts_to(BEN)[-1] == t(content, "close.completed")
    status, body = await post(webapp, sid, "handoff", agent="ana")
    assert (status, body["status"]) == (409, "completed") and "already completed" in body["error"]


async def test_stats_count_handoffs_and_time_to_first_reply(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "quiero hablar con una persona")
    sid = await session_id(webapp, ANA)
    webapp.clock.advance(seconds=120)
    assert (await post(webapp, sid, "messages", agent="ana", text="Hola"))[0] == 202
    status, stats = await webapp.admin("GET", "/v1/stats")
    assert status == 200
    assert stats["handoffs"] == {
        "total": 1,
        "by_reason": {"user_request": 1},
        "by_flow_step": [{"flow": None, "step": None, "reason": "user_request", "sessions": 1}],
        "replied": 1,
        "avg_first_reply_s": 120.0,
    }


@pytest.mark.parametrize(
    ("action", "body", "reason"),
    [
        ("handoff", {}, "agent must be a name of 1-128 characters"),
        ("handoff", {"agent": "  "}, "agent must be a name of 1-128 characters"),
        ("handoff", {"agent": "a" * 129}, "agent must be a name of 1-128 characters"),
        ("handoff", {"agent": "ana", "reason": "Bad Reason"}, "reason must be 1-64 lowercase"),
        ("messages", {"agent": "ana"}, "text must be 1-4096 characters, not blank"),
        ("messages", {"agent": "ana", "text": "x" * 4097}, "text must be 1-4096 characters"),
        ("return", {"agent": 5}, "agent must be a name of 1-128 characters"),
    ],
)
async def test_bad_bodies_get_400_with_the_reason(
    webapp: WebApp, action: str, body: dict[str, object], reason: str
) -> None:
    status, answer = await post(webapp, "abc", action, **body)
    assert status == 400 and answer["error"].startswith(reason)


@pytest.mark.parametrize("action", ["handoff", "messages", "return"])
async def test_an_unknown_session_is_404(webapp: WebApp, action: str) -> None:
    status, answer = await post(webapp, "nope", action, agent="ana", text="hola")
    assert (status, answer) == (404, {"error": "no such session"})
    assert (await webapp.admin("GET", "/v1/sessions/nope/messages"))[0] == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/handoffs"),
        ("POST", "/v1/sessions/abc/handoff"),
        ("GET", "/v1/sessions/abc/messages"),
        ("POST", "/v1/sessions/abc/messages"),
        ("POST", "/v1/sessions/abc/return"),
        ("POST", "/v1/sessions/abc/close"),
    ],
)
async def test_every_handoff_call_needs_the_token(webapp: WebApp, method: str, path: str) -> None:
    assert await webapp.admin(method, path, token="wrong") == (
        401,
        {"error": "missing or invalid bearer token"},
    )


async def test_metrics_count_handoffs_per_flow_step_and_time_to_first_reply(
    webapp: WebApp,
) -> None:
    for text in ("necesito soporte", "Marta", "marta@example.com", "Facturación", "x", "y"):
        await webapp.whatsapp_text(ANA, text)
    await webapp.whatsapp_text(BEN, "talk to a human")
    sid = await session_id(webapp, ANA)
    webapp.clock.advance(seconds=75)
    assert (await post(webapp, sid, "messages", agent="ana", text="Hola"))[0] == 202
    async with webapp.client.get("/metrics") as response:
        exposition = await response.text()
    assert (
        'bot_handoffs_total{channel="whatsapp",flow="support",reason="invoice_not_found",'
        'step="to_person"} 1.0' in exposition
    )
    assert (
        'bot_handoffs_total{channel="whatsapp",flow="none",reason="user_request",step="none"} 1.0'
        in exposition
    )
    assert 'bot_handoff_first_reply_seconds_count{channel="whatsapp"} 1.0' in exposition
    assert 'bot_handoff_first_reply_seconds_sum{channel="whatsapp"} 75.0' in exposition
    assert 'bot_handoff_first_reply_seconds_bucket{channel="whatsapp",le="60.0"} 0.0' in exposition
    assert 'bot_handoff_first_reply_seconds_bucket{channel="whatsapp",le="120.0"} 1.0' in exposition


async def test_a_users_current_session_may_be_one_a_person_has(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "quiero hablar con una persona")
    status, body = await webapp.admin("GET", f"/v1/users/{ANA}/session")
    assert status == 200
    assert body["session"]["status"] == "handoff"
    assert body["session"]["handoff"]["reason"] == "user_request"
