"""Settings: env over config.yaml over defaults; a bad value names its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings, read_environment, require_serve_settings
from bot.errors import ConfigError
from bot.sessions.factory import sqlite_file, store_from_settings
from tests.conftest import REPO

CONFIG = REPO / "config.yaml"


def test_defaults_from_config_yaml() -> None:
    s = load_settings(CONFIG, {})
    assert s.session_timeout_min == 30
    assert s.languages == ("es", "en", "pt")
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


def test_every_missing_setting_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        require_serve_settings(load_settings(CONFIG, {}))
    assert str(caught.value) == (
        "WHATSAPP_ACCESS_TOKEN, WHATSAPP_VERIFY_TOKEN: are not set (put them in .env or the "
        "environment; to serve Twilio only, without the WhatsApp Cloud API, set "
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN instead)"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(CONFIG, {"TWILIO_MESSAGING_SERVICE_SID": "MG1"})
    assert str(caught.value) == (
        "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: are not set, but other TWILIO_* settings are "
        "(set all or none)"
    )


def test_a_sqlite_folder_that_does_not_exist_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    settings = load_settings(CONFIG, {"DATABASE_URL": f"sqlite:///{missing}/bot.db"})
    with pytest.raises(ConfigError) as caught:
        store_from_settings(settings)
    assert str(caught.value) == (
        f"DATABASE_URL: the folder {missing} does not exist (create it, or use a path under "
        "the project's data/ folder, which is created)"
    )
    assert not missing.exists()
    existing = load_settings(CONFIG, {"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert sqlite_file(existing) == tmp_path / "bot.db"


def test_a_sqlite_file_under_the_project_data_folder_gets_its_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("flows", "intents", "locales"):
        (tmp_path / name).mkdir()
    settings = load_settings(config, {"DATABASE_URL": "sqlite:///data/day1/bot.db"})
    assert sqlite_file(settings) == tmp_path / "data" / "day1" / "bot.db"
    assert (tmp_path / "data" / "day1").is_dir()


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


def test_the_semantic_layer_is_on_as_shipped_and_config_turns_it_off(tmp_path: Path) -> None:
    assert load_settings(CONFIG, {}).intents_learned is True
    for folder in ("flows", "intents", "locales"):
        (tmp_path / folder).symlink_to(REPO / folder)
    text = CONFIG.read_text(encoding="utf-8")
    assert "  learned: true" in text
    off = tmp_path / "config.yaml"
    off.write_text(text.replace("  learned: true", "  learned: false"), encoding="utf-8")
    assert load_settings(off, {}).intents_learned is False
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  learned: true", "  learned: maybe"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, {})
    assert caught.value.setting == "config.yaml: intents.learned"


def test_cache_dir_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert load_settings(CONFIG, {"XDG_CACHE_HOME": str(tmp_path)}).cache_dir == (
        tmp_path / "whatsapp-intent-bot"
    )
    assert load_settings(CONFIG, {}).cache_dir == Path.home() / ".cache" / "whatsapp-intent-bot"
