"""The benchmark's conversations get, from the real engine, the replies the benchmark waits for.

``make bench`` counts a message as fully handled when its replies were accepted by the fake
Graph API; if a flow or intent change altered how many replies a scripted message gets, the
benchmark would wait for the wrong number. This runs every kind of script through the engine.
"""

from __future__ import annotations

import argparse

import pytest

from bench import workload
from bench.loadgen import _target, percentiles_ms
from bot.channels.whatsapp import parse_webhook, verify_signature
from tests.conftest import Harness
from tests.fakes.cloud_payloads import signed


async def test_every_scripted_message_gets_the_replies_the_benchmark_waits_for(
    harness: Harness,
) -> None:
    batch = workload.scripts(0, 40, seed=7)
    assert {s.kind for s in batch} == {"signup", "signup_bye", "cancel", "goodbye"}
    assert {s.lang for s in batch} == {"es", "en"}
    assert any(step.tap for s in batch for step in s.steps)
    for item, step in workload.interleaved(batch):
        raw, _ = signed(workload.webhook_body(item, step), workload.APP_SECRET)
        (message,) = parse_webhook(raw).messages
        before = len(harness.sender.sent)
        await harness.runtime.engine.handle(message)
        replies = [s.text for s in harness.sender.sent[before:] if s.to == item.wa_id]
        assert len(replies) == step.replies, (item.kind, item.lang, step.text, replies)
    assert workload.expected_replies(batch) == len(harness.sender.sent)


def test_requests_are_signed_unique_and_complete() -> None:
    item = workload.script(1, seed=7)
    first = workload.request_bytes("127.0.0.1:8080", workload.webhook_body(item, item.steps[0]))
    again = workload.request_bytes("127.0.0.1:8080", workload.webhook_body(item, item.steps[0]))
    head, _, body = first.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert head.startswith(b"POST /webhook/whatsapp HTTP/1.1")
    assert int(headers["Content-Length"]) == len(body)
    assert verify_signature(workload.APP_SECRET, body, headers["X-Hub-Signature-256"])
    assert first != again  # a fresh wamid each time


@pytest.mark.parametrize("address", ["10.0.0.1:80", "example.com:80", "0.0.0.0:8080"])
def test_load_generator_refuses_targets_other_than_localhost(address: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"only 127\.0\.0\.1"):
        _target(address)
    assert _target("127.0.0.1:8080") == ("127.0.0.1", 8080)


def test_percentiles() -> None:
    assert percentiles_ms([i / 1000 for i in range(1, 101)]) == {
        "p50": 51.0,
        "p95": 96.0,
        "p99": 100.0,
        "max": 100.0,
    }
    assert percentiles_ms([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
