"""Twilio, PUBLIC_BASE_URL and LOG_FORMAT settings: enabled only when complete, fail loudly."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from tests.conftest import REPO

SID = "AC" + "0" * 32


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(REPO / "config.yaml", env)


def test_twilio_is_off_by_default() -> None:
    s = settings()
    assert not s.twilio.enabled
    assert (s.public_base_url, s.log_format) == ("", "text")


def test_a_complete_twilio_account() -> None:
    s = settings(
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN="secret-token",
        TWILIO_API_URL="http://127.0.0.1:9999/",
        TWILIO_MESSAGING_SERVICE_SID="MG1",
        PUBLIC_BASE_URL="https://bot.example.com/",
        LOG_FORMAT="JSON",
    )
    assert s.twilio.enabled
    assert (s.twilio.api_url, s.twilio.messaging_service_sid) == ("http://127.0.0.1:9999", "MG1")
    assert (s.public_base_url, s.log_format) == ("https://bot.example.com", "json")
    assert "secret-token" not in repr(s)
    assert settings(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN="t").twilio.api_url == (
        "https://api.twilio.com"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TWILIO_ACCOUNT_SID": SID},
            "TWILIO_AUTH_TOKEN: is not set, but other TWILIO_* settings are (set all or none)",
        ),
        (
            {"TWILIO_AUTH_TOKEN": "t"},
            "TWILIO_ACCOUNT_SID: is not set, but other TWILIO_* settings are (set all or none)",
        ),
        (
            {"TWILIO_MESSAGING_SERVICE_SID": "MG1"},  # both missing: both named at once
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: are not set, but other TWILIO_* settings are "
            "(set all or none)",
        ),
        (
            {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "t"},
            "TWILIO_ACCOUNT_SID: must be AC and 32 hex digits, got 'AC123'",
        ),
        (
            {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t", "TWILIO_API_URL": "api.twilio"},
            "TWILIO_API_URL: must be an http(s) URL, got 'api.twilio'",
        ),
        (
            {"PUBLIC_BASE_URL": "bot.example.com"},
            "PUBLIC_BASE_URL: must be an http(s) URL, got 'bot.example.com'",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: must be one of text, json, got 'xml'"),
    ],
)
def test_bad_settings_name_themselves(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**env)
    assert str(raised.value) == message
