"""The store's admin queries (issue #6), run against every backend of ``test_store.py``:
filters with a total count, statistics, and deleting a user's data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.sessions.model import SessionKey, Status
from bot.sessions.store import DeletedCounts, FlowStats, SessionQuery, SessionStore
from tests.sessions.test_store import T0 as NOW
from tests.sessions.test_store import inbound, outbound, session

pytest_plugins = ("tests.sessions.test_store",)  # its `store` fixture: every backend
ANA = SessionKey("whatsapp", "bot1", "549111")
BEN = SessionKey("sms", "+1415", "+549222")


async def seed(store: SessionStore) -> None:
    """Ana: a completed free trial (2 min) and an active session; Ben: a goodbye in the flow."""
    done = replace(session(ANA, sid="a1"), flow_id="free_trial")
    done.status, done.close_reason = Status.COMPLETED, "credentials_delivered"
    done.closed_at, done.expires_at = NOW + timedelta(minutes=2), None
    active = replace(session(ANA, sid="a2"), created_at=NOW + timedelta(minutes=5))
    active.last_activity_at = active.created_at
    bye = replace(
        session(BEN, sid="b1"), flow_id="free_trial", created_at=NOW + timedelta(minutes=1)
    )
    bye.status, bye.close_reason = Status.COMPLETED, "goodbye"
    bye.closed_at, bye.expires_at = NOW + timedelta(minutes=5), None
    bye.last_activity_at = bye.created_at
    await store.commit([done], [inbound("w1", "a1"), outbound("hi", "a1"), outbound("bye", "a1")])
    await store.commit([bye], [replace(inbound("w2", "b1"), key=BEN)])
    await store.commit([active], [inbound("w3", "a2")])


async def test_filters_and_the_total_count(store: SessionStore) -> None:
    await seed(store)
    query = SessionQuery(user_id=ANA.user_id, limit=1)
    assert [s.id for s in await store.list_sessions(query)] == ["a2"]
    assert await store.count_sessions(query) == 2
    assert await store.count_sessions(SessionQuery(channel="sms")) == 1
    assert await store.count_sessions(SessionQuery(bot_id="bot1", status="active")) == 1
    assert {s.id for s in await store.list_sessions(SessionQuery(flow_id="free_trial"))} == {
        "a1",
        "b1",
    }
    later = SessionQuery(created_from=NOW + timedelta(minutes=1))
    assert {s.id for s in await store.list_sessions(later)} == {"a2", "b1"}
    window = SessionQuery(
        active_from=NOW + timedelta(minutes=1), active_to=NOW + timedelta(minutes=5)
    )
    assert [s.id for s in await store.list_sessions(window)] == ["b1"]


async def test_stats(store: SessionStore) -> None:
    await seed(store)
    stats = await store.session_stats()
    assert stats.sessions == 3
    assert stats.by_status == {"completed": 2, "active": 1}
    assert stats.by_close_reason == {"credentials_delivered": 1, "goodbye": 1}
    assert (stats.messages_in, stats.messages_out) == (3, 2)
    assert stats.avg_duration_s == pytest.approx(180.0)
    assert stats.avg_messages == pytest.approx(5 / 3)
    assert stats.flows == {
        "free_trial": FlowStats(
            sessions=2, by_close_reason={"credentials_delivered": 1, "goodbye": 1}
        )
    }
    recent = await store.session_stats(created_from=NOW + timedelta(minutes=1))
    assert (recent.sessions, recent.messages_in) == (2, 2)
    assert recent.avg_duration_s == pytest.approx(240.0)
    empty = await store.session_stats(created_to=NOW - timedelta(days=1))
    assert (empty.sessions, empty.avg_duration_s, empty.avg_messages, empty.flows) == (
        0,
        None,
        None,
        {},
    )


async def test_delete_a_user_at_one_bot(store: SessionStore) -> None:
    await seed(store)
    assert await store.delete_user("bot1", ANA.user_id) == DeletedCounts(sessions=2, messages=4)
    assert await store.get("a1") is None and await store.get_active(ANA) is None
    assert await store.messages("a1") == []
    assert await store.get("b1") is not None
    assert await store.delete_user("bot1", ANA.user_id) == DeletedCounts(sessions=0, messages=0)
