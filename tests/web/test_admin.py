"""The operators' API, in process: every endpoint, its auth failures and its bad input.

Conversations are driven through the real engine (Cloud API channel, replies reach the fake
Graph API); assertions are on what the API answers and on what users were sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sessions.model import Delivery, Direction, MessageRecord, Session, SessionKey, Status
from bot.web.admin.frontends import connection_status
from bot.wiring import Content
from tests.fakes.clock import FakeClock
from tests.web.conftest import WA_BOT, WebApp

ANA = "5491155550001"
BEN = "5491155550002"
JOHN = "15550000001"


def t(content: Content, lang: str, key: str, **values: str) -> str:
    return content.locales.text(lang, key, values)


async def newest(webapp: WebApp, user: str) -> dict[str, object]:
    status, body = await webapp.admin("GET", f"/v1/sessions?user={user}&limit=1")
    assert status == 200
    session: dict[str, object] = body["sessions"][0]
    return session


ENDPOINTS = [
    ("GET", "/v1/sessions"),
    ("GET", "/v1/sessions/active"),
    ("GET", "/v1/sessions/abc"),
    ("POST", "/v1/sessions/abc/complete"),
    ("POST", "/v1/sessions/abc/cancel"),
    ("GET", "/v1/users/549/session"),
    ("GET", "/v1/stats"),
    ("POST", f"/v1/whatsapp/clear-session/{WA_BOT}"),
    ("GET", f"/v1/whatsapp/session-status/{WA_BOT}?userId=549"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_every_endpoint_answers_401_without_the_right_token(
    webapp: WebApp, method: str, path: str, token: str | None
) -> None:
    status, body = await webapp.admin(method, path, token=token)
    assert status == 401
    assert body == {"error": "missing or invalid bearer token"}


async def test_a_basic_scheme_is_refused(webapp: WebApp) -> None:
    async with webapp.client.get(
        "/v1/sessions", headers={"Authorization": "Basic test-admin-token"}
    ) as response:
        assert response.status == 401


async def test_list_filters_paginates_and_counts(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    webapp.clock.advance(minutes=1)
    await webapp.whatsapp_text(BEN, "quiero una prueba")
    webapp.clock.advance(minutes=1)
    await webapp.whatsapp_text(JOHN, "hello")
    await webapp.whatsapp_text(JOHN, "bye")

    status, body = await webapp.admin("GET", "/v1/sessions?limit=2")
    assert status == 200
    assert (body["limit"], body["offset"], body["total"]) == (2, 0, 3)
    assert [s["user_id"] for s in body["sessions"]] == [JOHN, BEN]
    _, page2 = await webapp.admin("GET", "/v1/sessions?limit=2&offset=2")
    assert [s["user_id"] for s in page2["sessions"]] == [ANA]

    _, completed = await webapp.admin("GET", "/v1/sessions?status=completed")
    assert [(s["user_id"], s["close_reason"]) for s in completed["sessions"]] == [(JOHN, "goodbye")]
    _, in_flow = await webapp.admin("GET", "/v1/sessions?flow=free_trial")
    assert [s["user_id"] for s in in_flow["sessions"]] == [BEN]
    assert in_flow["sessions"][0]["step_id"] == "ask_name"
    _, by_channel = await webapp.admin("GET", f"/v1/sessions?channel=whatsapp&bot={WA_BOT}")
    assert by_channel["total"] == 3
    _, other_channel = await webapp.admin("GET", "/v1/sessions?channel=sms")
    assert other_channel == {"sessions": [], "limit": 50, "offset": 0, "total": 0}

    start = webapp.clock() - timedelta(minutes=2)
    created = f"created_from={(start + timedelta(seconds=30)).isoformat()}".replace("+", "%2B")
    _, later = await webapp.admin("GET", f"/v1/sessions?{created}")
    assert {s["user_id"] for s in later["sessions"]} == {BEN, JOHN}
    until = (start + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    _, earlier = await webapp.admin("GET", f"/v1/sessions?last_activity_to={until}")
    assert [s["user_id"] for s in earlier["sessions"]] == [BEN, ANA]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("status=open", "status must be one of active, completed, cancelled, timeout, handoff"),
        ("limit=ten", "limit must be a whole number, got 'ten'"),
        ("limit=501", "limit must be between 0 and 500"),
        ("offset=-1", "offset must be between 0 and 1000000000"),
        (
            "created_from=yesterday",
            "created_from must be an RFC 3339 date-time with a zone (e.g. "
            "2026-01-31T12:00:00Z) in the years 0002-9998, got 'yesterday'",
        ),
        (
            "last_activity_to=2026-01-01T00:00:00",
            "last_activity_to must include a time zone (e.g. Z or +00:00), "
            "got '2026-01-01T00:00:00'",
        ),
    ],
)
async def test_bad_filters_get_400_with_the_reason(webapp: WebApp, query: str, reason: str) -> None:
    assert await webapp.admin("GET", f"/v1/sessions?{query}") == (400, {"error": reason})


async def test_active_sessions_and_their_total(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    await webapp.whatsapp_text(BEN, "hola")
    await webapp.whatsapp_text(BEN, "chau")
    status, body = await webapp.admin("GET", "/v1/sessions/active")
    assert status == 200
    assert body["total_active"] == 1
    assert [(s["user_id"], s["status"]) for s in body["active_sessions"]] == [(ANA, "active")]


async def test_active_sessions_say_how_long_they_ran_and_have_left(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    webapp.clock.advance(minutes=10)
    _, body = await webapp.admin("GET", "/v1/sessions/active")
    [session] = body["active_sessions"]
    assert session["active_for_s"] == 600.0
    assert session["expires_in_s"] == 20 * 60.0


async def test_one_session_with_its_history_and_a_limit(webapp: WebApp, content: Content) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    await webapp.whatsapp_text(ANA, "quiero una prueba")
    session_id = (await newest(webapp, ANA))["id"]
    status, body = await webapp.admin("GET", f"/v1/sessions/{session_id}")
    assert status == 200
    assert [(m["direction"], m["text"]) for m in body["messages"]] == [
        ("in", "hola"),
        ("out", t(content, "es", "welcome")),
        ("in", "quiero una prueba"),
        ("out", t(content, "es", "free_trial.ask_name")),
    ]
    assert body["messages"][1]["status"] == "sent"
    _, last = await webapp.admin("GET", f"/v1/sessions/{session_id}?limit=1")
    assert [m["text"] for m in last["messages"]] == [t(content, "es", "free_trial.ask_name")]
    assert await webapp.admin("GET", "/v1/sessions/nope") == (404, {"error": "no such session"})
    assert (await webapp.admin("GET", f"/v1/sessions/{session_id}?limit=x"))[0] == 400


@pytest.mark.parametrize(
    ("action", "status", "notice_key"),
    [("complete", "completed", "close.completed"), ("cancel", "cancelled", "close.cancelled")],
)
async def test_manual_close_notifies_the_user_in_their_language(
    webapp: WebApp, content: Content, action: str, status: str, notice_key: str
) -> None:
    await webapp.whatsapp_text(JOHN, "hello")
    session_id = (await newest(webapp, JOHN))["id"]
    code, body = await webapp.admin("POST", f"/v1/sessions/{session_id}/{action}")
    assert code == 200
    assert (body["status"], body["close_reason"], body["notified"]) == (status, "operator", True)
    await webapp.graph.wait_for(lambda _: len(webapp.graph.texts_to(JOHN)) >= 2)
    assert webapp.graph.texts_to(JOHN) == [
        t(content, "en", "welcome"),
        t(content, "en", notice_key),
    ]
    again = await webapp.admin("POST", f"/v1/sessions/{session_id}/{action}")
    assert again == (409, {"error": f"session {session_id} is already {status}"})


async def test_manual_close_without_notice_and_with_a_reason(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    session_id = (await newest(webapp, ANA))["id"]
    code, body = await webapp.admin(
        "POST",
        f"/v1/sessions/{session_id}/cancel",
        json={"notify": False, "reason": "fraud_suspected"},
    )
    assert code == 200
    assert (body["status"], body["close_reason"], body["notified"]) == (
        "cancelled",
        "fraud_suspected",
        False,
    )
    assert len(webapp.graph.texts_to(ANA)) == 1  # the welcome only
    _, stored = await webapp.admin("GET", f"/v1/sessions/{session_id}")
    assert [m["direction"] for m in stored["messages"]] == ["in", "out"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "the body is not valid JSON"),
        ("[1]", "the body must be a JSON object"),
        ('{"notify": "no"}', "notify must be true or false, got 'no'"),
        (
            '{"reason": "Bad Reason"}',
            "reason must be 1-64 lowercase letters, digits or _, starting a-z",
        ),
    ],
)
async def test_manual_close_rejects_a_bad_body(webapp: WebApp, body: str, reason: str) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    session_id = (await newest(webapp, ANA))["id"]
    assert await webapp.admin("POST", f"/v1/sessions/{session_id}/complete", data=body) == (
        400,
        {"error": reason},
    )
    assert (await newest(webapp, ANA))["status"] == "active"


async def test_manual_close_of_an_unknown_session_is_404(webapp: WebApp) -> None:
    assert await webapp.admin("POST", "/v1/sessions/nope/complete") == (
        404,
        {"error": "no such session"},
    )


async def test_a_users_current_session_and_recent_history(webapp: WebApp, content: Content) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    await webapp.whatsapp_text(ANA, "adiós")
    await webapp.whatsapp_text(ANA, "quiero una prueba")
    status, body = await webapp.admin("GET", f"/v1/users/{ANA}/session?limit=1")
    assert status == 200
    assert body["user_id"] == ANA
    assert body["session"]["status"] == "active"
    assert [m["text"] for m in body["session"]["messages"]] == [
        t(content, "es", "free_trial.ask_name")
    ]
    assert [(s["status"], s["close_reason"]) for s in body["recent_sessions"]] == [
        ("active", None),
        ("completed", "goodbye"),
    ]
    await webapp.whatsapp_text(ANA, "cancelar")
    _, closed = await webapp.admin("GET", f"/v1/users/{ANA}/session")
    assert closed["session"] is None
    assert await webapp.admin("GET", "/v1/users/000/session") == (
        404,
        {"error": "no sessions for this user"},
    )


async def test_stats_count_sessions_messages_durations_and_flow_completion(
    webapp: WebApp, content: Content
) -> None:
    walk = await webapp.whatsapp_free_trial(ANA, content.locales)  # credentials_delivered
    webapp.clock.advance(minutes=2)
    await webapp.whatsapp_text(BEN, "quiero una prueba")
    webapp.clock.advance(minutes=3)
    await webapp.whatsapp_text(BEN, "chau")  # completed: goodbye mid-flow, after 3 min
    await webapp.whatsapp_text(JOHN, "hello")  # still active
    status, body = await webapp.admin("GET", "/v1/stats")
    assert status == 200
    assert body["sessions"] == {
        "total": 3,
        "by_status": {"active": 1, "completed": 2},
        "by_close_reason": {"credentials_delivered": 1, "goodbye": 1},
    }
    messages_in = len(walk.said) + 2 + 1
    messages_out = len(walk.heard) + 2 + 1
    assert body["messages"] == {"in": messages_in, "out": messages_out}
    assert body["avg_session_duration_s"] == pytest.approx(90.0)  # (0 + 180) / 2
    assert body["avg_messages_per_session"] == pytest.approx((messages_in + messages_out) / 3)
    assert body["flows"] == {
        "free_trial": {
            "sessions": 2,
            "completed": 1,
            "completion_rate": 0.5,
            "by_close_reason": {"credentials_delivered": 1, "goodbye": 1},
        }
    }
    since = webapp.clock().isoformat().replace("+00:00", "Z")
    _, recent = await webapp.admin("GET", f"/v1/stats?created_from={since}")
    assert recent["sessions"]["total"] == 1
    assert recent["created_from"] == webapp.clock().isoformat()
    assert (await webapp.admin("GET", "/v1/stats?created_to=soon"))[0] == 400


async def test_clear_session_closes_quietly_and_clears_the_database(
    webapp: WebApp, content: Content
) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    await webapp.whatsapp_text(ANA, "adiós")
    await webapp.whatsapp_text(ANA, "quiero una prueba")
    active_id = (await newest(webapp, ANA))["id"]
    status, body = await webapp.admin(
        "POST",
        f"/v1/whatsapp/clear-session/{WA_BOT}",
        json={"userId": ANA, "clearSession": True, "clearRedis": True, "clearDatabase": True},
    )
    assert status == 200
    assert body == {
        "success": True,
        "botId": WA_BOT,
        "userId": ANA,
        "results": {
            "clearSession": {"done": True, "closedSessionIds": [active_id]},
            "clearRedis": {"done": False, "detail": "no redis backend in use (sqlite)"},
            "clearDatabase": {"done": True, "deletedSessions": 2, "deletedMessages": 6},
        },
    }
    assert webapp.graph.texts_to(ANA)[-1] == t(content, "es", "free_trial.ask_name")  # no notice
    assert await webapp.admin("GET", f"/v1/sessions/{active_id}") == (
        404,
        {"error": "no such session"},
    )
    await webapp.whatsapp_text(ANA, "hola")  # a fresh start
    assert (await newest(webapp, ANA))["status"] == "active"


async def test_clear_session_only_closes_when_asked_only_that(webapp: WebApp) -> None:
    await webapp.whatsapp_text(f"+{BEN}", "hola")
    status, body = await webapp.admin(
        "POST",
        f"/v1/whatsapp/clear-session/{WA_BOT}",
        json={"userId": BEN, "clearSession": True},  # the other spelling of the number
    )
    assert status == 200
    assert body["results"]["clearSession"]["done"] is True
    assert len(body["results"]["clearSession"]["closedSessionIds"]) == 1
    session = await newest(webapp, f"%2B{BEN}")
    assert (session["status"], session["close_reason"]) == ("cancelled", "cleared")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "a JSON object body is required"),
        ("{}", "userId must be a non-empty string"),
        ('{"userId": 5}', "userId must be a non-empty string"),
        ('{"userId": "549", "clearRedis": "yes"}', "clearRedis must be true or false, got 'yes'"),
    ],
)
async def test_clear_session_rejects_a_bad_body(webapp: WebApp, body: str, reason: str) -> None:
    assert await webapp.admin("POST", f"/v1/whatsapp/clear-session/{WA_BOT}", data=body) == (
        400,
        {"error": reason},
    )


async def test_session_status_in_the_frontends_shape(webapp: WebApp) -> None:
    status, body = await webapp.admin("GET", f"/v1/whatsapp/session-status/{WA_BOT}?userId={ANA}")
    assert status == 200
    assert body == {
        "success": True,
        "status": "inactive",
        "lastSeen": None,
        "phoneNumber": f"+{ANA}",
        "displayName": None,
        "sessionId": None,
    }
    await webapp.whatsapp_text(ANA, "hola")
    session = await newest(webapp, ANA)
    _, active = await webapp.admin("GET", f"/v1/whatsapp/session-status/{WA_BOT}?userId={ANA}")
    assert active == {
        "success": True,
        "status": "active",
        "lastSeen": session["last_activity_at"],
        "phoneNumber": f"+{ANA}",
        "displayName": None,
        "sessionId": session["id"],
    }
    webapp.graph.fail_next(status=400, code=131047)
    await webapp.whatsapp_text(ANA, "quiero una prueba")
    _, failed = await webapp.admin("GET", f"/v1/whatsapp/session-status/{WA_BOT}?userId={ANA}")
    assert failed["status"] == "failed"
    assert await webapp.admin("GET", f"/v1/whatsapp/session-status/{WA_BOT}") == (
        400,
        {"error": "userId is required"},
    )


def _session(status: Status) -> Session:
    now = FakeClock()()
    return Session("s1", SessionKey("whatsapp", "b", "u"), status, now, now, None)


def _out(delivery: Delivery) -> MessageRecord:
    return MessageRecord(
        "s1", SessionKey("whatsapp", "b", "u"), Direction.OUT, "text", "hi", FakeClock()(),
        status=delivery,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("session_status", "last_out", "expected"),
    [
        (None, None, "inactive"),
        (Status.ACTIVE, None, "connecting"),
        (Status.ACTIVE, Delivery.PENDING, "connecting"),
        (Status.ACTIVE, Delivery.SENT, "active"),
        (Status.ACTIVE, Delivery.READ, "active"),
        (Status.ACTIVE, Delivery.FAILED, "failed"),
        (Status.COMPLETED, Delivery.DELIVERED, "inactive"),
        (Status.TIMEOUT, Delivery.FAILED, "failed"),
    ],
)
def test_the_session_status_mapping(
    session_status: Status | None, last_out: Delivery | None, expected: str
) -> None:
    session = _session(session_status) if session_status else None
    assert connection_status(session, _out(last_out) if last_out else None) == expected


@pytest.mark.parametrize(
    "moment",
    [
        "2026-01-31T12:00:00Z",
        "2026-01-31t12:00:00z",
        "2026-01-31T23:59:60Z",
        "2026-01-31T12:00:00.123456789%2B05:30",
        "0002-01-01T00:00:00%2B23:59",
        "9998-12-31T23:59:59-23:59",
    ],
)
async def test_every_rfc_3339_date_time_in_range_is_accepted(webapp: WebApp, moment: str) -> None:
    status, body = await webapp.admin("GET", f"/v1/stats?created_from={moment}")
    assert status == 200, body


async def test_opted_out_users_are_shown_and_filtered(webapp: WebApp) -> None:
    """Issue #14: the opt-out is visible in every session view and filters the lists."""
    await webapp.whatsapp_text(ANA, "hola")
    await webapp.whatsapp_text(BEN, "hola")
    await webapp.whatsapp_text(BEN, "no me manden más mensajes")
    _, body = await webapp.admin("GET", "/v1/sessions?opted_out=true")
    assert [(s["user_id"], s["opted_out"], s["close_reason"]) for s in body["sessions"]] == [
        (BEN, True, "opted_out")
    ]
    assert body["sessions"][0]["opted_out_at"] is not None
    _, body = await webapp.admin("GET", "/v1/sessions?opted_out=false")
    assert [(s["user_id"], s["opted_out"]) for s in body["sessions"]] == [(ANA, False)]
    _, user = await webapp.admin("GET", f"/v1/users/{BEN}/session")
    assert user["opted_out"] is True and user["recent_sessions"][0]["opted_out"] is True
    _, detail = await webapp.admin("GET", f"/v1/sessions/{user['recent_sessions'][0]['id']}")
    assert detail["opted_out"] is True
    assert await webapp.admin("GET", "/v1/sessions?opted_out=yes") == (
        400,
        {"error": "opted_out must be true or false, got 'yes'"},
    )
