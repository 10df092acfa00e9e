"""/metrics after a conversation, /healthz, /readyz and the webhook latency histogram."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import PrometheusMetrics
from bot.web.keys import RUNTIME
from bot.wiring import Content
from tests.web.conftest import WebApp

ANA = "5491155550001"
JOHN = "15550000001"


async def scrape(webapp: WebApp) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``/metrics`` as {(sample name, labels): value}."""
    async with webapp.client.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_what_a_conversation_caused(webapp: WebApp, content: Content) -> None:
    walk = await webapp.whatsapp_free_trial(ANA, content.locales)
    await webapp.whatsapp_text(JOHN, "hello")
    webapp.graph.fail_next(status=400, code=131047)
    await webapp.whatsapp_text(JOHN, "bye")
    webapp.clock.advance(minutes=45)
    await webapp.runtime.sweeper.run_once()

    samples = await scrape(webapp)
    inbound = len(walk.said) + 2
    assert value(samples, "bot_inbound_messages_total", channel="whatsapp", kind="text") == inbound
    outbound = sum(
        value(samples, "bot_outbound_messages_total", channel="whatsapp", kind=kind)
        for kind in ("text", "interactive")
    )
    assert outbound == len(walk.heard) + 1  # John's goodbye notice failed
    assert value(samples, "bot_send_errors_total", channel="whatsapp", code="131047") == 1
    assert value(samples, "bot_intents_total", intent="greet") == 1
    assert value(samples, "bot_intents_total", intent="request_trial") == 1
    assert value(samples, "bot_intents_total", intent="goodbye") == 1
    assert value(samples, "bot_sessions_opened_total", channel="whatsapp") == 2
    assert (
        value(
            samples,
            "bot_sessions_closed_total",
            channel="whatsapp",
            status="completed",
            reason="credentials_delivered",
        )
        == 1
    )
    assert (
        value(
            samples,
            "bot_sessions_closed_total",
            channel="whatsapp",
            status="completed",
            reason="goodbye",
        )
        == 1
    )
    assert value(samples, "bot_sweeper_lag_seconds") == 0.0  # nothing was due: both closed


async def test_the_sweeper_lag_is_how_late_the_oldest_due_session_was(webapp: WebApp) -> None:
    await webapp.whatsapp_text(ANA, "hola")
    webapp.clock.advance(minutes=30, seconds=12)  # the timeout is 30 min
    await webapp.runtime.sweeper.run_once()
    samples = await scrape(webapp)
    assert value(samples, "bot_sweeper_lag_seconds") == 12.0
    assert (
        value(
            samples,
            "bot_sessions_closed_total",
            channel="whatsapp",
            status="timeout",
            reason="timeout",
        )
        == 1
    )


async def test_webhook_latency_is_observed_per_route_and_status(webapp: WebApp) -> None:
    async with webapp.client.post("/webhook/whatsapp", data=b"{}") as response:
        assert response.status == 400
    async with webapp.client.get("/webhook/whatsapp?hub.mode=subscribe") as response:
        assert response.status == 403
    samples = await scrape(webapp)
    assert (
        value(samples, "bot_webhook_latency_seconds_count", route="/webhook/whatsapp", status="400")
        == 1
    )
    assert (
        value(samples, "bot_webhook_latency_seconds_count", route="/webhook/whatsapp", status="403")
        == 1
    )
    assert (
        value(samples, "bot_webhook_latency_seconds_count", route="/v1/sessions", status="401") == 0
    )


async def test_two_apps_in_one_process_keep_separate_registries(webapp: WebApp) -> None:
    other = PrometheusMetrics()
    other.inbound("sms", "text")
    await webapp.whatsapp_text(ANA, "hola")
    samples = await scrape(webapp)
    assert value(samples, "bot_inbound_messages_total", channel="sms", kind="text") == 0
    assert value(samples, "bot_inbound_messages_total", channel="whatsapp", kind="text") == 1


async def test_healthz_and_readyz(webapp: WebApp, content: Content) -> None:
    async with webapp.client.get("/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})
    async with webapp.client.get("/readyz") as response:
        assert (response.status, await response.json()) == (
            200,
            {"status": "ready", "flows": len(content.flows)},
        )


async def test_readyz_is_503_when_the_store_is_unreachable(webapp: WebApp) -> None:
    store = webapp.client.app[RUNTIME].store  # type: ignore[index]
    await store.close()
    try:
        async with webapp.client.get("/readyz") as response:
            body = await response.json()
            assert response.status == 503
            assert body["status"] == "not ready"
            assert body["reason"].startswith("store unreachable")
    finally:
        await store.open()
