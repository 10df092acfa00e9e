"""Every key the Redis store writes is declared in :mod:`bot.sessions.redis.keys`, and the
frontends' keys keep their documented names."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest

from bot.sessions.model import Delivery, SessionKey
from bot.sessions.redis import RedisStore
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.tags import strip_tag
from bot.sessions.store import SessionStore
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer
from tests.sessions import test_store, test_store_admin, test_store_dashboard, test_store_handoff
from tests.sessions.test_store import KEY, T0, inbound, outbound, session, text_in

Operations = Callable[[SessionStore], Awaitable[None]]
Server = RedisServer | RedisCluster


@pytest.fixture(params=["redis", "redis-cluster"])
def server(request: pytest.FixtureRequest) -> Server:
    """One Redis, or a Redis Cluster (whose key names carry their partition's hash tag)."""
    found: Server = request.getfixturevalue(
        "redis_server" if request.param == "redis" else "redis_cluster"
    )
    return found


def _conformance(*modules: ModuleType) -> list[Operations]:
    """The conformance suites' tests that take only the ``store`` fixture."""
    return [
        test
        for module in modules
        for name, test in vars(module).items()
        if name.startswith("test_")
        and inspect.iscoroutinefunction(test)
        and list(inspect.signature(test).parameters) == ["store"]
    ]


CONFORMANCE = _conformance(test_store, test_store_admin, test_store_dashboard, test_store_handoff)


async def _written(redis_server: Server, operations: Operations) -> dict[str, str | None]:
    """Each key left in Redis after ``operations`` on a fresh store, with its template."""
    redis_server.flush()
    store = RedisStore(redis_server.url, clock=lambda: T0)
    await store.open()
    try:
        await operations(store)
        return {name: redis_keys.template_of(name) async for name in store.redis.scan_iter()}
    finally:
        await store.close()


async def _while_held(store: RedisStore) -> list[str]:
    """Every key, read while the user's locks are held (they are deleted when let go) and a
    send slot is taken, on WhatsApp and on another channel (whose ``{botId}`` has a colon)."""
    sms = SessionKey("sms", "+1415", "+549222")
    await store.enqueue_inbound(text_in("w1"))
    stray = inbound("w0", sid=None)  # a message that arrived with no session
    sessions = [session(), session(sms, sid="s2")]
    [stored, _] = await store.commit(sessions, [outbound("hola"), stray])
    assert stored.id is not None
    await store.mark_outbound(stored.id, Delivery.SENT, provider_id="wamid.1")
    await store.set_opt_out(sms, T0)
    await store.check_writable()
    await store.send_slots().reserve("sms:+1415", 1.0)
    users, senders = store.user_locks(), store.outbox_locks()
    async with users.lock(KEY), users.lock(sms), senders.lock(KEY), senders.lock(sms):
        return [name async for name in store.redis.scan_iter()]


async def test_every_key_written_by_the_conformance_suites_is_declared(server: Server) -> None:
    redis_server = server
    assert len(CONFORMANCE) > 25
    found: dict[str, str | None] = {}
    for operations in CONFORMANCE:
        written = await _written(redis_server, operations)
        undeclared = [name for name, template in written.items() if template is None]
        assert undeclared == [], operations.__name__
        found.update(written)
    found.update({name: redis_keys.template_of(name) for name in await _held_names(redis_server)})
    assert None not in found.values()
    assert set(found.values()) == set(redis_keys.LAYOUT)  # no template left unused


async def _held_names(redis_server: Server) -> list[str]:
    redis_server.flush()
    store = RedisStore(redis_server.url, clock=lambda: T0)
    await store.open()
    try:
        return await _while_held(store)
    finally:
        await store.close()


async def test_keys_held_for_a_moment_are_declared_and_frontend_keys_keep_their_names(
    server: Server,
) -> None:
    names = await _held_names(server)
    assert [n for n in names if redis_keys.template_of(n) is None] == []
    if isinstance(server, RedisCluster):  # the store's own keys carry the partition's tag
        names = [strip_tag(n) if n.startswith("{") else n for n in names]
    for name in (
        "lock:123:5491155550001",
        "lock:sms:+1415:+549222",
        "outbox:lock:123:5491155550001",
        "outbox:lock:sms:+1415:+549222",
        "outbox:pace:sms:+1415",
        "store:probe",
        # read by frontends: documented in the README ("Sessions")
        "session:123:5491155550001",
        "session:status:123:5491155550001",
        "session:sms:+1415:+549222",
        "session:status:sms:+1415:+549222",
    ):
        assert name in names
    assert redis_keys.template_of("session:123:5491155550001") == "session:{botId}:{userId}"
    assert redis_keys.template_of("session:status:123:549") == "session:status:{botId}:{userId}"
    assert redis_keys.template_of("outbox:pace:sms:+1415") == "outbox:pace:{channel}:{botId}"
    assert redis_keys.template_of("sesion:123:549") is None
