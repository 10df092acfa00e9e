"""The store's dashboard queries (issue #8), run against every backend of ``test_store.py``:
several channels at once, message summaries, hourly activity and where flows stop."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.sessions.model import MessageRecord, SessionKey, Status
from bot.sessions.store import HourlyActivity, MessageSummary, SessionQuery, SessionStore, StepExit
from tests.sessions.test_store import T0 as NOON
from tests.sessions.test_store import inbound, outbound, session

pytest_plugins = ("tests.sessions.test_store",)  # its `store` fixture: every backend
WA = SessionKey("whatsapp", "bot1", "549111")
TW = SessionKey("twilio_whatsapp", "+1415", "+549222")
SMS = SessionKey("sms", "+1415", "+549333")


def at_step(message: MessageRecord, step: str | None, minutes: float) -> MessageRecord:
    return replace(message, step_id=step, created_at=NOON + timedelta(minutes=minutes))


async def seed(store: SessionStore) -> None:
    """wa1: free_trial, timed out at ask_email (13:10); tw1: free_trial, cancelled at ask_name
    (12:40); sms1: active in free_trial at ask_plan, created 13:05; wa2: no flow, active."""
    quiet = replace(session(WA, sid="wa1"), flow_id="free_trial")
    quiet.status, quiet.close_reason = Status.TIMEOUT, "timeout"
    quiet.closed_at, quiet.expires_at = NOON + timedelta(minutes=70), None
    await store.commit(
        [quiet],
        [
            at_step(inbound("w1", "wa1"), None, 0),
            at_step(outbound("name?", "wa1"), "ask_name", 0.1),
            at_step(inbound("w2", "wa1"), "ask_name", 1),
            at_step(outbound("email?", "wa1"), "ask_email", 1.1),
            at_step(outbound("closed: timeout", "wa1"), None, 70),
        ],
    )
    gone = replace(
        session(TW, sid="tw1"), flow_id="free_trial", created_at=NOON + timedelta(seconds=30)
    )
    gone.status, gone.close_reason = Status.CANCELLED, "cancel"
    gone.closed_at, gone.expires_at = NOON + timedelta(minutes=40), None
    await store.commit(
        [gone],
        [
            replace(at_step(outbound("name?", "tw1"), "ask_name", 1), key=TW),
            replace(at_step(inbound("t1", "tw1"), "ask_name", 40), key=TW),
        ],
    )
    waiting = replace(
        session(SMS, sid="sms1"),
        flow_id="free_trial",
        step_id="ask_plan",
        created_at=NOON + timedelta(minutes=65),
    )
    await store.commit([waiting], [])
    plain = replace(session(WA, sid="wa2"), created_at=NOON + timedelta(minutes=75))
    await store.commit([plain], [])


async def test_a_query_matches_any_of_several_channels(store: SessionStore) -> None:
    await seed(store)
    whatsapp = SessionQuery(channels=("whatsapp", "twilio_whatsapp"))
    assert [s.id for s in await store.list_sessions(whatsapp)] == ["wa2", "tw1", "wa1"]
    assert await store.count_sessions(whatsapp) == 3
    assert await store.count_sessions(replace(whatsapp, status="active")) == 1
    assert await store.count_sessions(replace(whatsapp, channel="sms")) == 0
    assert [s.id for s in await store.list_sessions(SessionQuery(channels=("sms",)))] == ["sms1"]


async def test_message_summaries(store: SessionStore) -> None:
    await seed(store)
    summaries = await store.message_summaries(["wa1", "tw1", "sms1", "nope"])
    assert summaries == {
        "wa1": MessageSummary(2, 3, NOON + timedelta(minutes=70)),
        "tw1": MessageSummary(1, 1, NOON + timedelta(minutes=40)),
    }
    assert await store.message_summaries([]) == {}


async def test_hourly_activity_counts_opens_and_closes_by_reason(store: SessionStore) -> None:
    await seed(store)
    one = NOON + timedelta(hours=1)
    activity = await store.hourly_activity(NOON, NOON + timedelta(hours=2))
    assert activity == HourlyActivity(
        opened={NOON: 2, one: 2},
        closed={NOON: {"cancel": 1}, one: {"timeout": 1}},
    )
    later = await store.hourly_activity(NOON + timedelta(minutes=50), one + timedelta(minutes=15))
    assert later == HourlyActivity(opened={one: 1}, closed={one: {"timeout": 1}})
    empty = await store.hourly_activity(NOON - timedelta(days=1), NOON)
    assert empty == HourlyActivity(opened={}, closed={})


async def test_flow_exits_name_the_step_each_session_stopped_at(store: SessionStore) -> None:
    await seed(store)
    assert sorted(await store.flow_exits(), key=lambda e: e.outcome) == [
        StepExit("free_trial", "ask_plan", "active", 1),
        StepExit("free_trial", "ask_name", "cancel", 1),
        StepExit("free_trial", "ask_email", "timeout", 1),
    ]
    since = await store.flow_exits(created_from=NOON + timedelta(minutes=1))
    assert since == [StepExit("free_trial", "ask_plan", "active", 1)]


async def test_flow_exits_look_past_a_long_tail_without_steps(store: SessionStore) -> None:
    """A session chatting on after its question: the last step is found further back."""
    long = replace(session(WA, sid="wa9"), flow_id="order")
    long.status, long.close_reason = Status.COMPLETED, "goodbye"
    long.closed_at, long.expires_at = NOON + timedelta(minutes=30), None
    tail = [inbound(f"x{i}", "wa9") for i in range(40)]  # no step: free talk after it
    await store.commit([long], [at_step(outbound("qty?", "wa9"), "ask_quantity", 0), *tail])
    assert await store.flow_exits() == [StepExit("order", "ask_quantity", "goodbye", 1)]
