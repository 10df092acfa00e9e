"""The operators' API calls the dashboard makes (issue #8), in process: several channels in
one filter, what a listed session carries, ``/v1/health`` and ``/v1/stats/flows``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sessions.store import StoreUnavailable
from bot.wiring import Content
from tests.web.conftest import TWILIO_NUMBER as TWILIO
from tests.web.conftest import WebApp
from tests.web.test_twilio_messaging import incoming, send

ANA = "5491155550001"
BEN = "5491155550002"
CAL = "5491155550003"
DAN = "5491155550004"
SMS_USER = "+5491155550089"


async def test_a_channel_filter_may_name_several_channels(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    await send(webapp, incoming("hola", sender=f"whatsapp:{SMS_USER}", to=f"whatsapp:{TWILIO}"))
    await send(webapp, incoming("hola", sender=SMS_USER))
    await webapp.twilio.wait_texts(SMS_USER, 1)
    await webapp.twilio.wait_texts(f"whatsapp:{SMS_USER}", 1)

    _, whatsapp = await webapp.admin("GET", "/v1/sessions?channel=whatsapp,twilio_whatsapp")
    assert sorted(s["channel"] for s in whatsapp["sessions"]) == ["twilio_whatsapp", "whatsapp"]
    assert whatsapp["total"] == 2
    _, sms = await webapp.admin("GET", "/v1/sessions?channel=sms")
    assert [s["user_masked"] for s in sms["sessions"]] == ["+54911****89"]


async def test_a_listed_session_carries_its_masked_number_and_message_counts(
    webapp: WebApp,
) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    webapp.clock.advance(minutes=2)
    await webapp.whatsapp_text(ANA, "quiero una prueba")

    _, body = await webapp.admin("GET", "/v1/sessions")
    (listed,) = body["sessions"]
    assert listed["user_id"] == ANA
    assert listed["user_masked"] == "+54911****01"
    assert (listed["messages_in"], listed["messages_out"]) == (2, 2)
    assert listed["last_message_at"] == webapp.clock().isoformat()
    _, active = await webapp.admin("GET", "/v1/sessions/active")
    assert active["active_sessions"][0]["messages_in"] == 2
    _, detail = await webapp.admin("GET", f"/v1/sessions/{listed['id']}")
    assert detail["user_masked"] == "+54911****01"


async def test_health_reports_the_store_sessions_and_opens_and_closes_per_hour(
    webapp: WebApp,
) -> None:
    await webapp.whatsapp_text(ANA, "hola")  # 12:00
    await webapp.whatsapp_text(BEN, "hola")
    webapp.clock.advance(minutes=65)  # 13:05: both are 35 minutes past their deadline
    _, before = await webapp.admin("GET", "/v1/health?hours=3")
    assert before["sweeper_lag_s"] == pytest.approx(35 * 60)
    assert await webapp.runtime.sweeper.run_once() == 2
    await webapp.whatsapp_text(CAL, "hola")
    await webapp.whatsapp_text(CAL, "chau")
    await webapp.whatsapp_text(DAN, "quiero hablar con una persona")

    status, health = await webapp.admin("GET", "/v1/health?hours=3")
    assert status == 200
    assert health["now"] == webapp.clock().isoformat()
    assert health["store"]["status"] == "ok"
    assert health["store"]["backend"] == "sqlite"
    assert (health["active_sessions"], health["handoff_sessions"]) == (0, 1)
    assert health["sweeper_lag_s"] == 0.0
    assert [(h["start"][11:16], h["opened"], h["closed"]) for h in health["hours"]] == [
        ("11:00", 0, {}),
        ("12:00", 2, {}),
        ("13:00", 2, {"timeout": 2, "goodbye": 1}),
    ]
    _, default = await webapp.admin("GET", "/v1/health")
    assert len(default["hours"]) == 24


async def test_health_counts_send_errors_by_code(webapp: WebApp) -> None:
    webapp.graph.fail_next(code=131047)
    await webapp.whatsapp_text(ANA, "hola")
    _, health = await webapp.admin("GET", "/v1/health")
    assert health["send_errors"] == {"total": 1, "by_code": {"131047": 1}}


async def test_health_says_when_the_store_is_unavailable(
    webapp: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down() -> None:
        raise StoreUnavailable("sqlite: disk I/O error")

    monkeypatch.setattr(webapp.runtime.store, "ping", down)
    status, health = await webapp.admin("GET", "/v1/health")
    assert status == 200
    assert health["store"] == {
        "status": "unavailable",
        "backend": "sqlite",
        "detail": "sqlite: disk I/O error",
    }
    assert (health["active_sessions"], health["hours"]) == (None, None)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("hours=0", "hours must be between 1 and 168"),
        ("hours=x", "hours must be a whole number, got 'x'"),
    ],
)
async def test_health_refuses_a_bad_range(webapp: WebApp, query: str, reason: str) -> None:
    assert await webapp.admin("GET", f"/v1/health?{query}") == (400, {"error": reason})


@pytest.mark.parametrize("path", ["/v1/health", "/v1/stats/flows"])
async def test_the_dashboard_calls_need_the_token(webapp: WebApp, path: str) -> None:
    assert (await webapp.admin("GET", path, token="wrong"))[0] == 401


async def test_flow_steps_show_completion_and_where_users_stop(
    webapp: WebApp, content: Content
) -> None:
    await webapp.whatsapp_free_trial(ANA, content.locales)  # completed
    await webapp.whatsapp_text(BEN, "quiero una prueba")
    await webapp.whatsapp_text(BEN, "Ben")
    await webapp.whatsapp_text(BEN, "cancelar")  # stops at ask_email
    await webapp.whatsapp_text(CAL, "quiero una prueba")  # waits at ask_name, then goes quiet
    webapp.clock.advance(minutes=31)
    await webapp.runtime.sweeper.run_once()
    await webapp.whatsapp_text("5491155550004", "quiero una prueba")  # waiting at ask_name

    status, body = await webapp.admin("GET", "/v1/stats/flows")
    assert status == 200
    flows = {f["flow_id"]: f for f in body["flows"]}
    assert set(flows) == set(content.flows)
    trial = flows["free_trial"]
    assert (trial["sessions"], trial["active"], trial["completed"]) == (4, 1, 1)
    assert trial["completion_rate"] == 0.25
    steps = {s["step_id"]: s for s in trial["steps"]}
    assert [s["step_id"] for s in trial["steps"]] == [
        s.id for s in content.flows["free_trial"].steps
    ]
    assert steps["ask_name"]["by_outcome"] == {"timeout": 1, "active": 1}
    assert steps["ask_name"]["stopped"] == 2
    assert steps["ask_name"]["question"] is True
    assert steps["ask_email"]["by_outcome"] == {"cancel": 1}
    assert steps["deliver"] == {
        "step_id": "deliver",
        "question": False,
        "stopped": 0,
        "by_outcome": {},
    }
    assert flows["order"]["sessions"] == 0 and flows["order"]["completion_rate"] is None

    later = (webapp.clock() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    _, none = await webapp.admin("GET", f"/v1/stats/flows?created_from={later}")
    assert {f["flow_id"]: f["sessions"] for f in none["flows"]} == dict.fromkeys(content.flows, 0)
