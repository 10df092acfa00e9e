"""Settings: env over config.yaml over defaults; a bad value names its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings, read_environment, require_serve_settings
from bot.errors import ConfigError
from tests.conftest import REPO

CONFIG = REPO / "config.yaml"


def test_defaults_from_config_yaml() -> None:
    s = load_settings(CONFIG, {})
    assert s.session_timeout_min == 30
    assert s.languages == ("es", "en")
    assert s.sqlite_path() == REPO / "data" / "bot.db"
    assert s.whatsapp.api_url == "https://graph.facebook.com/v21.0"


def test_environment_overrides_config() -> None:
    s = load_settings(
        CONFIG,
        {
            "SESSION_TIMEOUT_MINUTES": "0.05",
            "DATABASE_URL": "sqlite:////tmp/x/bot.db",
            "PORT": "9090",
            "WHATSAPP_API_URL": "http://127.0.0.1:1/v21.0/",
            "WHATSAPP_ACCESS_TOKEN": "secret-token",
        },
    )
    assert s.session_timeout_s == pytest.approx(3.0)
    assert s.sqlite_path() == Path("/tmp/x/bot.db")
    assert s.port == 9090
    assert s.whatsapp.api_url == "http://127.0.0.1:1/v21.0"
    assert "secret-token" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_TIMEOUT_MINUTES", "soon"),
        ("SESSION_TIMEOUT_MINUTES", "0"),
        ("SESSION_TIMEOUT_MINUTES", "-1"),
        ("PORT", "http"),
        ("PORT", "70000"),
        ("DATABASE_URL", "postgres://db/bot"),
        ("DATABASE_URL", "redis://:99999/0"),
        ("DATABASE_URL", "sqlite:/relative"),
        ("WHATSAPP_API_URL", "graph.facebook.com"),
        ("LOG_LEVEL", "LOUD"),
        ("DEFAULT_LANGUAGE", "fr"),
    ],
)
def test_an_invalid_setting_is_named_in_the_error(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(CONFIG, {name: value})
    assert caught.value.setting == name
    assert str(caught.value).startswith(f"{name}: ")


def test_serve_requires_the_whatsapp_tokens() -> None:
    with pytest.raises(ConfigError, match="WHATSAPP_ACCESS_TOKEN"):
        require_serve_settings(load_settings(CONFIG, {}))
    with pytest.raises(ConfigError, match="WHATSAPP_VERIFY_TOKEN"):
        require_serve_settings(load_settings(CONFIG, {"WHATSAPP_ACCESS_TOKEN": "t"}))


def test_serve_on_twilio_only_needs_no_whatsapp_tokens() -> None:
    twilio = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret"}
    settings = load_settings(CONFIG, twilio)
    require_serve_settings(settings)  # does not raise
    assert not settings.whatsapp.enabled
    # A half-configured Cloud API is still an error, Twilio or not.
    with pytest.raises(ConfigError, match="WHATSAPP_ACCESS_TOKEN"):
        require_serve_settings(load_settings(CONFIG, {**twilio, "WHATSAPP_VERIFY_TOKEN": "v"}))


def test_dotenv_file_is_read_under_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_TOKEN=from-file  # comment\nPORT=1234\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "4321")
    env = read_environment(env_file)
    assert env["ADMIN_TOKEN"] == "from-file"
    assert env["PORT"] == "4321"


def test_the_example_env_file_documents_every_public_setting() -> None:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    for name in [
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_API_URL",
        "SESSION_TIMEOUT_MINUTES",
        "DATABASE_URL",
        "ADMIN_TOKEN",
        "HOST",
        "PORT",
    ]:
        assert f"{name}=" in text, name
