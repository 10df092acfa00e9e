"""Failover: two real ``bot serve`` workers on a real Redis Cluster of 3 masters with a
replica each; a master is killed (SIGKILL) mid-traffic. While its replica is elected
(``cluster-node-timeout`` 1,000 ms) the webhook answers 503 for the users of its slots (Meta
delivers again), then everything recovers with no restart: every acknowledged message is
processed once and in order, every reply is sent, and each session's timeout is notified
once."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_redis_workers import (
    APP_SECRET,
    PHONE_ID,
    TIMEOUT_NOTICE,
    FakeGraphAPI,
    check_processed_once_in_order,
    fake,  # noqa: F401 - the fake Graph API fixture
    poll,
    start_workers,
)
from tests.fakes.cloud_payloads import envelope, new_wamid, signed, text_message
from tests.redis_cluster import RedisCluster

ELECTION_S = 30.0
"""Longest wait for a replica to take over (it takes about 2 s with a 1 s node timeout)."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """3 masters and 3 replicas of their own (this test kills one)."""
    found = RedisCluster(tmp_path / "cluster", replicas=1, node_timeout_ms=1000)
    found.start()
    yield found
    found.stop()


async def test_a_killed_master_gives_503s_then_recovers_with_nothing_lost(
    tmp_path: Path,
    fake: FakeGraphAPI,  # noqa: F811 - the fixture imported above
    cluster: RedisCluster,
) -> None:
    workers = await start_workers(2, tmp_path, fake, cluster, "0.08")
    answers: collections.Counter[int] = collections.Counter()
    users = [f"54966{i:08d}" for i in range(24)]
    sent: dict[str, list[str]] = {u: [] for u in users}
    masters = cluster.masters()
    assert len(masters) == 3
    victim = masters[0]
    killed = asyncio.Event()
    try:

        async def one_user(http: aiohttp.ClientSession, index: int, user: str) -> None:
            for n in range(12):
                if n == 4 and index == 0:
                    cluster.kill(victim)  # mid-traffic: the others keep sending meanwhile
                    killed.set()
                text = "hola" if n == 0 else f"mensaje {n:02d}"
                body, headers = signed(
                    envelope(
                        text_message(text, wa_id=user, phone_number_id=PHONE_ID, wamid=new_wamid())
                    ),
                    APP_SECRET,
                )
                deadline = asyncio.get_running_loop().time() + ELECTION_S
                attempt = 0
                while True:  # as Meta delivers again what was not acknowledged
                    worker = workers[(index + n + attempt) % 2]
                    attempt += 1
                    try:
                        async with http.post(
                            f"{worker.url}/webhook/whatsapp", data=body, headers=headers
                        ) as response:
                            status = response.status
                    except aiohttp.ClientError:
                        status = 0
                    answers[status] += 1
                    if status == 200:
                        break
                    assert asyncio.get_running_loop().time() < deadline, (user, text, answers)
                    await asyncio.sleep(0.1)
                sent[user].append(text)
                if n >= 4:
                    await killed.wait()  # the rest of the traffic comes during the election
                    await asyncio.sleep(0.05)

        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(one_user(http, i, u) for i, u in enumerate(users)))

        assert set(answers) <= {200, 503}, answers  # never a 500, never a dropped request
        assert answers[503] > 0, answers  # the dead master's users were told to come back
        assert answers[200] == sum(len(t) for t in sent.values())
        assert victim not in cluster.masters()  # its replica took over; nothing restarted
        cluster.wait_ok()

        async def all_processed() -> None:
            await check_processed_once_in_order(workers[0], fake, sent)

        await poll(all_processed, timeout_s=60)
        # Every session goes quiet: each gets exactly one timeout notice (4.8 s of quiet).
        await fake.wait_for(
            lambda _: all(TIMEOUT_NOTICE in fake.texts_to(u) for u in users), timeout_s=60
        )
        await asyncio.sleep(1.5)  # several more sweeps on both workers: none may notify again
        for user in users:
            _, listing = await workers[1].admin(f"/v1/sessions?user={user}&limit=100")
            timed_out = [s for s in listing["sessions"] if s["status"] == "timeout"]
            assert fake.texts_to(user).count(TIMEOUT_NOTICE) == len(timed_out) >= 1, user
    finally:
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
