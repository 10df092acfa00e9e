"""The ``bot`` command as people run it: real subprocesses, real stdin/stdout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.locales import Locales
from tests.conftest import REPO

LOCALES = Locales.load(REPO / "locales", ["es", "en", "pt"], "es")


def run_bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SESSION_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**clean, **(env or {})},
        check=False,
    )


def test_classify_reads_lines_and_prints_json_lines() -> None:
    result = run_bot(
        "classify", "--env-file", "/nonexistent", stdin="hola\ngracias, adiós\ncancelar\n12345\n"
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["text"], r["intent"], r["lang"]) for r in rows] == [
        ("hola", "greet", "es"),
        ("gracias, adiós", "goodbye", "es"),
        ("cancelar", "cancel", None),  # Spanish and Portuguese both write it: undecided
        ("12345", "none", None),
    ]
    assert all(0 <= r["confidence"] <= 1 for r in rows)


def test_classify_takes_the_text_as_arguments() -> None:
    result = run_bot("classify", "--env-file", "/nonexistent", "thanks, bye")
    row = json.loads(result.stdout)
    assert (row["text"], row["intent"], row["lang"]) == ("thanks, bye", "goodbye", "en")


def test_chat_runs_the_engine_with_timeouts_in_the_terminal() -> None:
    result = run_bot(
        "chat",
        "--env-file",
        "/nonexistent",
        stdin="hola\nquiero una prueba\nAna\n/wait 31\nhello\nchau\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    expected = [
        LOCALES.text("es", "welcome"),
        LOCALES.text("es", "free_trial.ask_name"),
        LOCALES.text("es", "free_trial.ask_email", {"name": "Ana"}),
        LOCALES.text("es", "close.timeout"),
        LOCALES.text("en", "welcome"),
        LOCALES.text("en", "close.goodbye"),
    ]
    positions = [out.find(f"bot> {text}") for text in expected]
    assert -1 not in positions, out
    assert positions == sorted(positions), out


def test_chat_lang_fixes_the_session_language() -> None:
    result = run_bot("chat", "--env-file", "/nonexistent", "--lang", "en", stdin="prueba\n")
    assert f"bot> {LOCALES.text('en', 'free_trial.ask_name')}" in result.stdout


def test_chat_lang_takes_any_served_language_and_names_them_for_another() -> None:
    result = run_bot("chat", "--env-file", "/nonexistent", "--lang", "pt", stdin="teste\n")
    assert f"bot> {LOCALES.text('pt', 'free_trial.ask_name')}" in result.stdout
    refused = run_bot("chat", "--env-file", "/nonexistent", "--lang", "fr", stdin="")
    assert refused.returncode == 2
    assert "'fr' is not served (languages: es, en, pt)" in refused.stderr


def test_validate_accepts_the_shipped_data() -> None:
    result = run_bot("validate", "--env-file", "/nonexistent")
    assert result.returncode == 0, result.stderr
    assert "free_trial" in result.stdout


def test_validate_points_at_the_broken_line(tmp_path: Path) -> None:
    for name in ("config.yaml", "intents", "locales", "flows"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    flow = tmp_path / "flows" / "free_trial.yaml"
    flow.write_text(
        flow.read_text(encoding="utf-8").replace(
            "say: free_trial.ask_email", "say: free_trial.ask_mail"
        ),
        encoding="utf-8",
    )
    result = run_bot(
        "validate", "--config", str(tmp_path / "config.yaml"), "--env-file", "/nonexistent"
    )
    assert result.returncode == 2
    line = next(i for i, text in enumerate(flow.read_text().splitlines(), 1) if "ask_mail" in text)
    assert result.stderr.startswith(f"flows/free_trial.yaml:{line}:")  # relative to the project
    assert "free_trial.ask_mail" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_a_broken_flow_before_training_any_head(tmp_path: Path) -> None:
    """A flow author's typo is reported at once: with an empty cache (a fresh machine, or
    intent files just edited) the semantic head would take minutes to train, and a broken
    project never trains it."""
    project = tmp_path / "project"
    for name in ("config.yaml", "intents", "locales", "flows"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            project.mkdir(exist_ok=True)
            shutil.copy(source, project / name)
    flow = project / "flows" / "order.yaml"
    flow.write_text(
        flow.read_text(encoding="utf-8").replace('"yes": ask_product', '"yes": ask_produce'),
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    result = run_bot(
        "validate",
        "--config",
        str(project / "config.yaml"),
        "--env-file",
        "/nonexistent",
        env={"XDG_CACHE_HOME": str(cache)},
    )
    assert result.returncode == 2
    assert "unknown step 'ask_produce'" in result.stderr
    assert list(cache.rglob("semantic-head-*")) == []  # no head was trained


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SESSION_TIMEOUT_MINUTES": "soon"}, "SESSION_TIMEOUT_MINUTES"),
        ({"WHATSAPP_ACCESS_TOKEN": ""}, "WHATSAPP_ACCESS_TOKEN"),
        ({"PORT": "99999"}, "PORT"),
        ({"DATABASE_URL": "mysql://db"}, "DATABASE_URL"),
    ],
)
def test_serve_stops_with_one_line_naming_a_bad_setting(env: dict[str, str], setting: str) -> None:
    base = {"WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_VERIFY_TOKEN": "v"}
    result = run_bot("serve", "--env-file", "/nonexistent", env={**base, **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {setting}: ")


def test_sessions_cleanup_deletes_what_is_past_retention(tmp_path: Path) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from bot.sessions.model import Session, SessionKey, Status
    from bot.sessions.sqlite import SqliteStore

    now = datetime.now(UTC)

    def closed(sid: str, hours_ago: float) -> Session:
        at = now - timedelta(hours=hours_ago)
        return Session(
            id=sid,
            key=SessionKey("whatsapp", "1", sid),
            status=Status.COMPLETED,
            created_at=at,
            last_activity_at=at,
            expires_at=None,
            closed_at=at,
        )

    async def seed() -> None:
        store = SqliteStore(tmp_path / "bot.db")
        await store.open()
        await store.commit([closed("old", 200), closed("new", 1)], [])
        await store.close()

    async def remaining() -> list[str]:
        store = SqliteStore(tmp_path / "bot.db")
        await store.open()
        from bot.sessions.store import SessionQuery

        ids = [s.id for s in await store.list_sessions(SessionQuery())]
        await store.close()
        return ids

    asyncio.run(seed())
    result = run_bot(
        "sessions",
        "cleanup",
        "--env-file",
        "/nonexistent",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
    )
    assert result.returncode == 0, result.stderr
    assert "deleted 1 sessions" in result.stdout
    assert asyncio.run(remaining()) == ["new"]
