"""The SQLite store: what it holds after commits, and its guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sessions.model import Delivery, Direction, MessageRecord, Session, SessionKey, Status
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import DuplicateInbound, SessionQuery

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = SessionKey("whatsapp", "123", "5491155550001")


def session(key: SessionKey = KEY, expires_in_min: float = 30, sid: str = "s1") -> Session:
    return Session(
        id=sid,
        key=key,
        status=Status.ACTIVE,
        created_at=T0,
        last_activity_at=T0,
        expires_at=T0 + timedelta(minutes=expires_in_min),
        data={"name": "José"},
        language="es",
    )


def inbound(provider_id: str, sid: str | None = "s1") -> MessageRecord:
    return MessageRecord(
        session_id=sid,
        key=KEY,
        direction=Direction.IN,
        kind="text",
        text="hola",
        created_at=T0,
        provider_id=provider_id,
    )


def outbound(text: str, sid: str = "s1") -> MessageRecord:
    return MessageRecord(
        session_id=sid,
        key=KEY,
        direction=Direction.OUT,
        kind="text",
        text=text,
        created_at=T0,
        status=Delivery.PENDING,
    )


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "nested" / "bot.db")
    await s.open()
    yield s  # type: ignore[misc]
    await s.close()


async def test_a_committed_session_reads_back_equal(store: SqliteStore) -> None:
    original = session()
    await store.commit([original], [inbound("wamid.1"), outbound("hi")])
    assert await store.get_active(KEY) == original
    assert await store.get("s1") == original
    history = await store.messages("s1")
    assert [(m.direction, m.text, m.status) for m in history] == [
        (Direction.IN, "hola", Delivery.RECEIVED),
        (Direction.OUT, "hi", Delivery.PENDING),
    ]


async def test_a_duplicate_inbound_writes_nothing(store: SqliteStore) -> None:
    await store.commit([session()], [inbound("wamid.1")])
    changed = session()
    changed.data = {"changed": True}
    with pytest.raises(DuplicateInbound):
        await store.commit([changed], [inbound("wamid.1"), outbound("again")])
    assert (await store.get("s1")).data == {"name": "José"}  # type: ignore[union-attr]
    assert len(await store.messages("s1")) == 1
    assert await store.seen_inbound("whatsapp", "wamid.1")
    assert not await store.seen_inbound("whatsapp", "wamid.2")


async def test_due_sessions_are_the_active_ones_past_their_deadline(store: SqliteStore) -> None:
    other = SessionKey("whatsapp", "123", "2")
    closed = session(SessionKey("whatsapp", "123", "3"), -10, "s3")
    closed.status = Status.COMPLETED
    await store.commit([session(expires_in_min=5), session(other, -1, "s2"), closed], [])
    due = await store.due_sessions(T0, 10)
    assert [s.id for s in due] == ["s2"]
    assert [s.id for s in await store.due_sessions(T0 + timedelta(minutes=6), 10)] == ["s2", "s1"]


async def test_outbound_results_and_statuses(store: SqliteStore) -> None:
    records = await store.commit([session()], [outbound("a"), outbound("b")])
    assert [m.id for m in await store.pending_outbound(10)] == [r.id for r in records]
    assert records[0].id is not None and records[1].id is not None
    await store.mark_outbound(records[0].id, Delivery.SENT, provider_id="wamid.out1")
    await store.mark_outbound(
        records[1].id, Delivery.FAILED, error_code=131047, error_detail="window"
    )
    assert await store.pending_outbound(10) == []
    assert await store.update_delivery("wamid.out1", Delivery.READ)
    assert await store.update_delivery("wamid.out1", Delivery.DELIVERED)  # late: ignored
    assert not await store.update_delivery("wamid.unknown", Delivery.READ)
    history = await store.messages("s1")
    assert [(m.status, m.error_code) for m in history] == [
        (Delivery.READ, None),
        (Delivery.FAILED, 131047),
    ]


async def test_list_sessions_filters_and_paginates(store: SqliteStore) -> None:
    a = session(sid="a")
    b = session(SessionKey("whatsapp", "123", "2"), sid="b")
    b.created_at = T0 + timedelta(minutes=1)
    b.status = Status.TIMEOUT
    await store.commit([a, b], [])
    assert [s.id for s in await store.list_sessions(SessionQuery())] == ["b", "a"]
    assert [s.id for s in await store.list_sessions(SessionQuery(status="timeout"))] == ["b"]
    assert [s.id for s in await store.list_sessions(SessionQuery(user_id=KEY.user_id))] == ["a"]
    assert [s.id for s in await store.list_sessions(SessionQuery(limit=1, offset=1))] == ["a"]


async def test_data_survives_reopening_the_file(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "bot.db")
    await first.open()
    await first.commit([session()], [inbound("wamid.1")])
    await first.close()
    second = SqliteStore(tmp_path / "bot.db")
    await second.open()
    assert await second.get_active(KEY) == session()
    await second.close()
