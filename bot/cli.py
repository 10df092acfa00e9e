"""The ``bot`` command: ``serve``, ``chat``, ``classify``, ``validate``.

Every expected failure (a bad setting, a broken data file) ends with one line on stderr that
names the setting or the ``file:line``, and exit status 2; never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings, read_environment, require_serve_settings
from bot.errors import BotError

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.yaml"),
    show_default=True,
    help="The service's config.yaml.",
)
env_file_option = click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".env"),
    show_default=True,
    help="Environment file read under the process environment (ignored when missing).",
)


def _fail_cleanly(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BotError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _settings(config_path: Path, env_file: Path, **overrides: str | None) -> Settings:
    env = read_environment(env_file)
    env.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(config_path, env)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@click.group()
@click.version_option(package_name="whatsapp-intent-bot")
def main() -> None:
    """Intent-aware WhatsApp bot service."""


@main.command()
@config_option
@env_file_option
@click.option("--host", default=None, help="Listen address (overrides HOST).")
@click.option("--port", default=None, help="Listen port (overrides PORT).")
@_fail_cleanly
def serve(config_path: Path, env_file: Path, host: str | None, port: str | None) -> None:
    """Run the webhook service."""
    from aiohttp import web

    from bot.web.app import create_app
    from bot.wiring import load_content

    settings = _settings(config_path, env_file, HOST=host, PORT=port)
    require_serve_settings(settings)
    _setup_logging(settings.log_level)
    log = logging.getLogger("bot")
    if not settings.whatsapp.app_secret:
        log.warning("WHATSAPP_APP_SECRET is not set: webhook signatures are NOT checked")
    if not settings.admin_token:
        log.warning("ADMIN_TOKEN is not set: the admin API answers 401 to everyone")
    content = load_content(settings)
    app = create_app(settings, content)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=15.0,
    )


@main.command()
@config_option
@env_file_option
@click.option(
    "--user", "user_id", default="5490000000000", show_default=True, help="User id to chat as."
)
@click.option(
    "--lang", type=click.Choice(["es", "en"]), default=None, help="Fix the session language."
)
@_fail_cleanly
def chat(config_path: Path, env_file: Path, user_id: str, lang: str | None) -> None:
    """Talk to the bot in the terminal (the same engine, an in-memory store)."""
    from bot.chat import run_chat
    from bot.wiring import load_content

    settings = _settings(config_path, env_file)
    _setup_logging("WARNING")
    content = load_content(settings)
    asyncio.run(run_chat(settings, content, user_id, lang))


@main.command()
@config_option
@env_file_option
@click.option("--lang", default=None, help="Language hint (the session's language).")
@click.argument("text", nargs=-1)
@_fail_cleanly
def classify(config_path: Path, env_file: Path, lang: str | None, text: tuple[str, ...]) -> None:
    """Classify TEXT, or each line of stdin: one JSON object per line."""
    from bot.intents import IntentClassifier

    settings = _settings(config_path, env_file)
    classifier = IntentClassifier.from_directory(
        settings.intents_dir, settings.languages, threshold=settings.intent_threshold
    )
    lines = [" ".join(text)] if text else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        result = classifier.classify(line, lang)
        click.echo(
            json.dumps(
                {
                    "text": line,
                    "intent": result.intent,
                    "confidence": round(result.confidence, 3),
                    "lang": result.lang,
                },
                ensure_ascii=False,
            )
        )


@main.command()
@config_option
@env_file_option
@_fail_cleanly
def validate(config_path: Path, env_file: Path) -> None:
    """Check config, locales, intents and flows; print file:line for the first problem."""
    from bot.wiring import load_content

    settings = _settings(config_path, env_file)
    content = load_content(settings)
    click.echo(
        f"ok: {len(content.flows)} flows ({', '.join(sorted(content.flows))}), "
        f"{len(content.classifier.intents)} intents, languages {', '.join(settings.languages)}"
    )
