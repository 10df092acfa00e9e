"""Metrics hooks: the no-op default and the Prometheus registry of each app."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bot.metrics import NO_METRICS, PrometheusMetrics


def test_the_default_hooks_record_nothing_anywhere() -> None:
    from prometheus_client import REGISTRY, generate_latest

    NO_METRICS.inbound("whatsapp", "text")
    NO_METRICS.send_error("whatsapp", None)
    NO_METRICS.webhook_latency("/webhook/whatsapp", 200, 0.01)
    assert b"bot_" not in generate_latest(REGISTRY)


def test_each_instance_has_its_own_registry_not_the_global_one() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.inbound("sms", "text")
    first.send_error("sms", 21610)
    first.send_error("sms", None)
    first.sweeper_lag(-3.0)
    assert first.registry is not second.registry
    assert (
        first.registry.get_sample_value(
            "bot_inbound_messages_total", {"channel": "sms", "kind": "text"}
        )
        == 1
    )
    assert (
        second.registry.get_sample_value(
            "bot_inbound_messages_total", {"channel": "sms", "kind": "text"}
        )
        is None
    )
    assert (
        first.registry.get_sample_value(
            "bot_send_errors_total", {"channel": "sms", "code": "21610"}
        )
        == 1
    )
    assert (
        first.registry.get_sample_value("bot_send_errors_total", {"channel": "sms", "code": "none"})
        == 1
    )
    assert first.registry.get_sample_value("bot_sweeper_lag_seconds") == 0.0
    assert (
        REGISTRY.get_sample_value("bot_inbound_messages_total", {"channel": "sms", "kind": "text"})
        is None
    )
    assert b"# TYPE bot_webhook_latency_seconds histogram" in first.render()


def test_cleanup_failures_are_counted() -> None:
    from prometheus_client import CollectorRegistry

    from bot.metrics import PrometheusMetrics

    metrics = PrometheusMetrics(CollectorRegistry())
    metrics.cleanup_failed()
    metrics.cleanup_failed()
    assert b"bot_cleanup_failures_total 2.0" in metrics.render()
