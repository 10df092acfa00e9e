"""Delivery settings: WHATSAPP_MAX_MPS, retry limits, templates of notices outside the window."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DeliverySettings, NoticeTemplate, load_settings
from bot.errors import ConfigError
from tests.conftest import REPO


def test_defaults_are_metas_throughput_and_a_bounded_backoff() -> None:
    settings = load_settings(REPO / "config.yaml", {})
    assert settings.delivery == DeliverySettings(
        max_mps=80,
        max_attempts=8,
        retry_base_s=1,
        retry_max_s=300,
        concurrency=32,
        shutdown_grace_s=10,
        templates={},
    )


def test_a_faster_number_gets_more_sends_in_flight_unless_set() -> None:
    # Meta's higher tiers: 1,000 messages/s at ~250 ms a send needs ~250 in flight, not 32.
    faster = load_settings(REPO / "config.yaml", {"WHATSAPP_MAX_MPS": "1000"}).delivery
    assert faster.concurrency == 250
    fixed = {"WHATSAPP_MAX_MPS": "1000", "DELIVERY_CONCURRENCY": "40"}
    assert load_settings(REPO / "config.yaml", fixed).delivery.concurrency == 40
    slow = load_settings(REPO / "config.yaml", {"WHATSAPP_MAX_MPS": "20"}).delivery
    assert slow.concurrency == 32


def test_the_environment_sets_rate_retries_and_template_names() -> None:
    settings = load_settings(
        REPO / "config.yaml",
        {
            "WHATSAPP_MAX_MPS": "250",
            "DELIVERY_MAX_ATTEMPTS": "3",
            "DELIVERY_RETRY_BASE_SECONDS": "0.5",
            "DELIVERY_RETRY_MAX_SECONDS": "20",
            "DELIVERY_CONCURRENCY": "8",
            "DELIVERY_SHUTDOWN_GRACE_SECONDS": "2",
            "WHATSAPP_TEMPLATE_CLOSE_TIMEOUT": "session_timed_out",
            "WHATSAPP_TEMPLATE_SESSION_WARNING": "still_there",
        },
    )
    delivery = settings.delivery
    assert (delivery.max_mps, delivery.max_attempts, delivery.concurrency) == (250, 3, 8)
    assert (delivery.retry_base_s, delivery.retry_max_s, delivery.shutdown_grace_s) == (
        0.5,
        20,
        2,
    )
    assert delivery.templates == {
        "close.timeout": NoticeTemplate("session_timed_out"),
        "session.warning": NoticeTemplate("still_there"),
    }


def test_templates_with_parameters_come_from_config_yaml(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"paths: {{flows: {REPO / 'flows'}, intents: {REPO / 'intents'}, "
        f"locales: {REPO / 'locales'}}}\n"
        "delivery:\n"
        "  templates:\n"
        "    close.timeout: {name: closed, parameters: [name], languages: {es: es_MX}}\n"
        "    session.warning: still_there\n",
        encoding="utf-8",
    )
    settings = load_settings(config, {"WHATSAPP_TEMPLATE_CLOSE_TIMEOUT": "closed_v2"})
    assert settings.delivery.templates == {
        "close.timeout": NoticeTemplate("closed_v2", ("name",), {"es": "es_MX"}),
        "session.warning": NoticeTemplate("still_there"),
    }


def test_a_template_without_a_name_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"paths: {{flows: {REPO / 'flows'}, intents: {REPO / 'intents'}, "
        f"locales: {REPO / 'locales'}}}\n"
        "delivery: {templates: {close.timeout: {parameters: [name]}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"delivery.templates.close.timeout: needs a name"):
        load_settings(config, {})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WHATSAPP_MAX_MPS": "fast"}, "WHATSAPP_MAX_MPS: must be a number, got 'fast'"),
        ({"WHATSAPP_MAX_MPS": "0"}, "WHATSAPP_MAX_MPS: must be greater than 0"),
        ({"DELIVERY_MAX_ATTEMPTS": "2.5"}, "DELIVERY_MAX_ATTEMPTS: must be a whole number"),
        ({"DELIVERY_MAX_ATTEMPTS": "0"}, "DELIVERY_MAX_ATTEMPTS: must be at least 1"),
        (
            {"DELIVERY_RETRY_BASE_SECONDS": "10", "DELIVERY_RETRY_MAX_SECONDS": "5"},
            "DELIVERY_RETRY_MAX_SECONDS: must be at least DELIVERY_RETRY_BASE_SECONDS",
        ),
        ({"WHATSAPP_TEMPLATE_TIMEOUT": "x"}, "WHATSAPP_TEMPLATE_TIMEOUT: expected"),
    ],
)
def test_a_bad_value_names_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(REPO / "config.yaml", env)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "name",
    [
        "WHATSAPP_MAX_MPS",
        "DELIVERY_MAX_ATTEMPTS",
        "DELIVERY_RETRY_BASE_SECONDS",
        "DELIVERY_RETRY_MAX_SECONDS",
        "DELIVERY_CONCURRENCY",
        "DELIVERY_SHUTDOWN_GRACE_SECONDS",
        "WHATSAPP_TEMPLATE_",
    ],
)
def test_each_setting_is_documented(name: str) -> None:
    assert name in (REPO / ".env.example").read_text(encoding="utf-8")
    assert f"`{name}" in (REPO / "README.md").read_text(encoding="utf-8")
