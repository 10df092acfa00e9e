"""What the SQLite store keeps in memory stays true to the file: after restarts and failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.config import load_settings
from bot.sessions.factory import store_from_settings
from bot.sessions.model import Direction, MessageRecord
from bot.sessions.redis import RedisStore
from bot.sessions.sqlite import SqliteStore, to_iso
from bot.sessions.store import DuplicateInbound
from tests.conftest import REPO
from tests.sessions.test_store import KEY, T0, inbound, session

CONFIG = REPO / "config.yaml"


def message(wamid: str, text: str = "hola") -> InboundMessage:
    return InboundMessage(
        channel=KEY.channel,
        bot_id=KEY.bot_id,
        user_id=KEY.user_id,
        message_id=wamid,
        kind=InboundKind.TEXT,
        text=text,
        timestamp=T0,
    )


async def test_the_inbox_survives_a_restart_in_order(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    assert await store.enqueue_inbound(message("w1", "primero"))
    assert await store.enqueue_inbound(message("w2", "segundo"))
    await store.commit([], [], consumed=message("w1"))
    await store.close()

    again = SqliteStore(tmp_path / "bot.db")
    await again.open()
    assert await again.inbox_keys(10) == [KEY]
    first = await again.next_inbound(KEY)
    assert first is not None and (first.message_id, first.text) == ("w2", "segundo")
    assert not await again.enqueue_inbound(message("w2")), "still known as a duplicate"
    await again.commit([], [], consumed=first)
    assert await again.next_inbound(KEY) is None
    assert await again.inbox_keys(10) == []
    await again.close()


async def test_a_failed_commit_leaves_the_stored_session(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    await store.commit([session()], [inbound("w1")])
    active = await store.get_active(KEY)
    assert active is not None
    active.data["name"] = "changed"
    with pytest.raises(DuplicateInbound):
        await store.commit([active], [inbound("w1")])  # the same wamid again
    reread = await store.get_active(KEY)
    assert reread is not None and reread.data == {"name": "José"}
    await store.close()


async def test_forget_cached_drops_an_uncommitted_change(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    await store.commit([session()], [])
    active = await store.get_active(KEY)
    assert active is not None
    active.step_id = "half-done"
    store.forget_cached(KEY)
    reread = await store.get_active(KEY)
    assert reread is not None and reread.step_id is None
    await store.close()


async def test_what_memory_answers_matches_the_file_after_a_restart(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db", cache_size=1)
    await store.open()
    later = inbound("w2")
    later.created_at = T0 + timedelta(minutes=5)
    system = MessageRecord(
        session_id="s1",
        key=KEY,
        direction=Direction.IN,
        kind="system",
        text=None,
        created_at=T0 + timedelta(minutes=9),
    )
    await store.commit([session()], [inbound("w1"), later, system])
    warm = (await store.get_active(KEY), await store.last_inbound_at(KEY))
    await store.close()

    cold = SqliteStore(tmp_path / "bot.db")
    await cold.open()
    assert (await cold.get_active(KEY), await cold.last_inbound_at(KEY)) == warm
    assert warm[1] == T0 + timedelta(minutes=5), "system messages do not open the window"
    await cold.close()


async def test_delete_user_forgets_the_cached_session(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    await store.commit([session()], [inbound("w1")])
    assert await store.get_active(KEY) is not None
    await store.delete_user(KEY.bot_id, KEY.user_id)
    assert await store.get_active(KEY) is None
    assert await store.last_inbound_at(KEY) is None
    await store.close()


async def test_inbound_ids_are_remembered_seven_days_of_the_stores_clock(tmp_path: Path) -> None:
    now = [T0]
    store = SqliteStore(tmp_path / "bot.db", clock=lambda: now[0])
    await store.open()
    try:
        assert await store.enqueue_inbound(message("w1"))
        await store.commit([], [], consumed=message("w1"))
        now[0] = T0 + timedelta(days=6)
        await store.purge_closed(now[0])
        assert await store.seen_inbound(KEY.channel, "w1")  # within 7 days: still a duplicate
        now[0] = T0 + timedelta(days=8)
        await store.purge_closed(now[0])
        assert not await store.seen_inbound(KEY.channel, "w1")
        await store.check_writable()
        probe = await (await store.db.execute("SELECT written_at FROM store_probe")).fetchone()
        assert probe is not None and probe[0] == to_iso(now[0])
    finally:
        await store.close()


def test_the_factory_gives_the_store_the_apps_clock(tmp_path: Path) -> None:
    def clock() -> datetime:
        return T0

    for url in (f"sqlite:///{tmp_path}/bot.db", "redis://127.0.0.1:1/0"):
        settings = load_settings(CONFIG, {"DATABASE_URL": url})
        store = store_from_settings(settings, clock)
        assert isinstance(store, SqliteStore | RedisStore)
        assert store.clock is clock
