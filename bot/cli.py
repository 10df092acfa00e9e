"""The ``bot`` command: ``serve``, ``chat``, ``classify``, ``validate``, ``test``, ``new``.

Every expected failure (a bad setting, a broken data file) ends with one line on stderr that
names the setting or the ``file:line``, and exit status 2; never a traceback. Paths in those
lines are relative to the project (the folder of ``config.yaml``).

Click prints command docstrings as they are written (``--help``), so they are plain text here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings, read_environment, require_serve_settings
from bot.errors import BotError

F = TypeVar("F", bound=Callable[..., Any])

WATCHDOG_MARGIN_S = 10.0
"""Seconds a stopping ``bot serve`` gets beyond the sum of its shutdown steps' bounds before
the watchdog ends it."""

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


def project_relative(text: str, config_path: Path | None) -> str:
    """``text`` with the project folder (``config_path``'s) taken off the paths in it, so
    ``/home/me/bot/flows/order.yaml:12:5`` reads ``flows/order.yaml:12:5``."""
    if config_path is None:
        return text
    prefix = f"{config_path.resolve().parent}{os.sep}"
    return text.replace(prefix, "")


def _fail_cleanly(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        config_path = kwargs.get("config_path")
        try:
            return func(*args, **kwargs)
        except BotError as exc:
            problems = getattr(exc, "problems", None)  # InvalidFlows: file:line:column each
            if not problems:
                click.echo(f"error: {project_relative(str(exc), config_path)}", err=True)
                sys.exit(2)
            for problem in problems:
                click.echo(project_relative(str(problem), config_path), err=True)
            count = len(problems)
            click.echo(f"error: {count} problem{'s' if count != 1 else ''} found", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _settings(config_path: Path, env_file: Path, **overrides: str | None) -> Settings:
    env = read_environment(env_file)
    env.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(config_path, env)


def _setup_logging(level: str, fmt: str = "text") -> None:
    from bot.logs import setup_logging

    setup_logging(level, fmt, sys.stderr)


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
    """Run the webhook service.

    The address is bound first, then the store is checked: the SQLite file's lock is taken
    (one bot serve per file; its folder must exist unless it is under the project's data/),
    or Redis must answer. A port in use, a missing folder, a file another bot serve holds or
    an unreachable Redis ends it with one line and exit status 2 before the store is opened.
    """
    from bot.sessions.factory import check_redis, sqlite_file
    from bot.sessions.filelock import DatabaseLock
    from bot.web.listen import listen

    settings = _settings(config_path, env_file, HOST=host, PORT=port)
    require_serve_settings(settings)
    sockets = listen(settings.host, settings.port)
    lock: DatabaseLock | None = None
    try:
        if settings.database_url.partition("://")[0] == "sqlite":
            lock = DatabaseLock(sqlite_file(settings))
            lock.acquire()
        else:
            asyncio.run(check_redis(settings))
        _run_service(settings, env_file, sockets)
    finally:
        for sock in sockets:
            sock.close()
        if lock is not None:
            lock.release()


def _run_service(settings: Settings, env_file: Path, sockets: list[socket.socket]) -> None:
    """Load the content and serve on ``sockets`` until a signal stops the service."""
    from aiohttp import web

    from bot.watchdog import ShutdownWatchdog
    from bot.web.app import REQUESTS_GRACE_S, create_app, shutdown_limit_s
    from bot.wiring import load_content

    _setup_logging(settings.log_level, settings.log_format)
    log = logging.getLogger("bot")
    if not settings.whatsapp.enabled:
        log.info("WHATSAPP_ACCESS_TOKEN is not set: serving Twilio only (no /webhook/whatsapp)")
    elif not settings.whatsapp.app_secret:
        log.warning("WHATSAPP_APP_SECRET is not set: webhook signatures are NOT checked")
    if not settings.admin_token:
        log.warning("ADMIN_TOKEN is not set: the admin API answers 401 to everyone")
    if settings.twilio.enabled and not settings.public_base_url:
        log.info("Twilio signatures are checked against the request URL (PUBLIC_BASE_URL unset)")
    env = read_environment(env_file)
    # A head the cache does not hold (a first start, edited intents) trains in the background
    # once the service is up; the lexicon answers alone until then.
    content = load_content(settings, env, train=False)

    app = create_app(
        settings,
        content,
        reload=lambda: load_content(settings, env, train=False),  # an edit applies at once
        train=lambda: load_content(settings, env),  # and a pending head trains behind it
    )
    # Should a stop still hang past every step's bound (the loop, or the interpreter's exit
    # waiting for a thread), the process exits anyway: the timer is a daemon thread.
    watchdog = ShutdownWatchdog(shutdown_limit_s(settings) + WATCHDOG_MARGIN_S)
    app.on_shutdown.append(watchdog.on_shutdown)
    web.run_app(
        app,
        sock=sockets,
        print=None,
        access_log=None,
        shutdown_timeout=REQUESTS_GRACE_S,
        loop=_event_loop(),
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop (libuv; measured here, an aiohttp request's client and server side
    took 111 µs of CPU instead of 142 µs), or asyncio's own where uvloop is not installed
    (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@main.command()
@config_option
@env_file_option
@click.option("--user", "user", default=None, help="The sender's number, digits [5490000000000].")
@click.option("--url", default=None, help="The running bot serve [http://127.0.0.1:PORT].")
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to wait for each message's replies.",
)
@click.argument("texts", nargs=-1, required=True)
@_fail_cleanly
def send(
    config_path: Path,
    env_file: Path,
    user: str | None,
    url: str | None,
    wait_s: float,
    texts: tuple[str, ...],
) -> None:
    """Send TEXTS, in order, to a running bot serve as WhatsApp messages, and print the
    replies under each.

    Each text is posted to /webhook/whatsapp as a Cloud API payload, signed with
    WHATSAPP_APP_SECRET; the replies are read through the admin API with ADMIN_TOKEN (both
    from .env). With WHATSAPP_API_URL=sandbox nothing reaches Meta.
    """
    from bot import sandbox_client as sc

    settings = _settings(config_path, env_file)
    wildcard = settings.host in ("", "0.0.0.0", "::")  # noqa: S104 - not a bind, a comparison
    host = "127.0.0.1" if wildcard else settings.host
    host = f"[{host}]" if ":" in host else host
    asyncio.run(
        sc.send_texts(
            url or f"http://{host}:{settings.port}",
            list(texts),
            app_secret=settings.whatsapp.app_secret,
            admin_token=settings.admin_token,
            phone_number_id=settings.whatsapp.phone_number_id or sc.DEFAULT_PHONE_NUMBER_ID,
            user_id=sc.user_id_of(user or sc.DEFAULT_USER),
            echo=click.echo,
            wait_s=wait_s,
        )
    )


@main.command()
@config_option
@env_file_option
@click.option(
    "--user", "user_id", default="5490000000000", show_default=True, help="User id to chat as."
)
@click.option("--lang", default=None, help="Fix the session language (one of config.yaml's).")
@_fail_cleanly
def chat(config_path: Path, env_file: Path, user_id: str, lang: str | None) -> None:
    """Talk to the bot in the terminal (the same engine, an in-memory store)."""
    from bot.chat import run_chat
    from bot.wiring import load_content

    settings = _settings(config_path, env_file)
    if lang is not None and lang not in settings.languages:
        served = ", ".join(settings.languages)
        message = f"{lang!r} is not served (languages: {served})"
        raise click.BadParameter(message, param_hint="--lang")
    _setup_logging("WARNING")
    content = load_content(settings, read_environment(env_file))
    asyncio.run(run_chat(settings, content, user_id, lang))


@main.command()
@config_option
@env_file_option
@click.option("--lang", default=None, help="Language hint (the session's language).")
@click.option("--free-text", is_flag=True, help="As if a flow waited for a free-text answer.")
@click.option("--explain", is_flag=True, help="Show the normalized text, candidates, matches.")
@click.argument("text", nargs=-1)
@_fail_cleanly
def classify(
    config_path: Path,
    env_file: Path,
    lang: str | None,
    free_text: bool,
    explain: bool,
    text: tuple[str, ...],
) -> None:
    """Classify each TEXT argument, or each line of stdin: one JSON object per line.

    Quote a message of several words ("quiero una pizza"); --explain prints a report instead.
    """
    from bot.wiring import build_classifier

    settings = _settings(config_path, env_file)
    classifier = build_classifier(settings)
    lines = list(text) if text else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        if explain:
            report = classifier.explain(line, lang, expecting_free_text=free_text)
            click.echo("\n".join([*report.lines(), ""]))
            continue
        result = classifier.classify(line, lang, expecting_free_text=free_text)
        click.echo(
            json.dumps(
                {
                    "text": line,
                    "intent": result.intent,
                    "confidence": round(result.confidence, 3),
                    "lang": result.lang,
                    "confirm": result.confirm,
                    "ranked": [[name, round(score, 3)] for name, score in result.ranked],
                },
                ensure_ascii=False,
            )
        )


@main.command("eval")
@config_option
@env_file_option
@click.option("--no-hint", is_flag=True, help="Classify without the session language.")
@click.option("--errors", is_flag=True, help="List each misclassified message.")
@click.argument("data", type=click.Path(path_type=Path, dir_okay=False))
@_fail_cleanly
def eval_command(
    config_path: Path, env_file: Path, no_hint: bool, errors: bool, data: Path
) -> None:
    """Measure the classifier on labelled JSON lines ({"text", "intent", "lang"})."""
    from bot.intents.evaluation import format_run, run_eval
    from bot.wiring import build_classifier

    settings = _settings(config_path, env_file)
    classifier = build_classifier(settings)
    run = run_eval(data, classifier, settings.intents_dir, settings.languages, use_hint=not no_hint)
    click.echo(format_run(run, show_errors=errors))


@main.command()
@config_option
@env_file_option
@_fail_cleanly
def validate(config_path: Path, env_file: Path) -> None:
    """Check config, locales, intents and flows.

    Every problem is printed as file:line:column: message, the path relative to the project
    (unknown step in next, unreachable step, missing locale key, a key missing from one
    language, unknown intent, duplicate trigger, bad regular expression, ...), with the
    closest known name when one is likely meant. The exit status is 2 when there is any.
    Valid files whose semantic head the cache lacks then train it (minutes on a small
    machine), so that `bot serve` starts at once.
    """
    from bot.wiring import build_classifier, load_content

    settings = _settings(config_path, env_file)
    # every problem first: a semantic head the cache lacks (minutes to train) trains only
    # once the files are valid, so a typo is reported at once
    content = load_content(settings, read_environment(env_file), train=False)
    if content.classifier.head_pending:
        build_classifier(settings)  # trains the head and caches it: `bot serve` starts at once
    click.echo(
        f"ok: {len(content.flows)} flows ({', '.join(sorted(content.flows))}), "
        f"{len(content.classifier.intents)} intents, languages {', '.join(settings.languages)}"
    )


@main.command("test")
@config_option
@env_file_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_fail_cleanly
def test_command(config_path: Path, env_file: Path, files: tuple[Path, ...]) -> None:
    """Run conversation tests: FILES, or every flows/tests/*.yaml.

    Prints PASS/FAIL per test (with the first failing turn) and "N passed, M failed"; the exit
    status is 1 when a test failed, 2 when a file is invalid.
    """
    from bot.flowtests import default_test_files, run_files
    from bot.wiring import load_content

    settings = _settings(config_path, env_file)
    _setup_logging("ERROR")
    content = load_content(settings, read_environment(env_file))
    cwd = Path.cwd()
    paths = list(files) or [
        p.relative_to(cwd) if p.is_relative_to(cwd) else p
        for p in default_test_files(settings.flows_dir / "tests")
    ]
    if not paths:
        raise click.UsageError(f"no test files given and none in {settings.flows_dir / 'tests'}")
    results = asyncio.run(run_files(settings, content, paths))
    for result in results:
        case = result.case
        mark = "PASS" if result.passed else "FAIL"
        click.echo(f"{mark} {case.path}:{case.line}: {case.name}")
        for failure in result.failures:
            click.echo(f"    {failure}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.group()
def new() -> None:
    """Create a starting point to edit."""


@new.command("flow")
@config_option
@env_file_option
@click.argument("name")
@_fail_cleanly
def new_flow(config_path: Path, env_file: Path, name: str) -> None:
    """Write flows/NAME.yaml, its texts in every language and a passing test.

    The flow starts on the keyword NAME, asks a name, confirms it and ends. Its texts are
    appended to each locales/<lang>.yaml of config.yaml's languages, and its conversation
    test is flows/tests/NAME.yaml. An invalid or existing name is refused; the project must
    validate before, and the new files are removed again if it does not validate after or
    the new test fails.
    """
    from bot.flowtests import run_files
    from bot.scaffold import ScaffoldError, check_name, write_flow
    from bot.wiring import load_content

    settings = _settings(config_path, env_file)
    _setup_logging("ERROR")
    env = read_environment(env_file)
    content = load_content(settings, env, train=False)  # a keyword starts it: no head needed
    check_name(name, settings, content.locales, content.flows)
    written = write_flow(name, settings, content.locales)
    try:
        new = load_content(settings, env, train=False)
        results = asyncio.run(run_files(settings, new, [written.test_file]))
        failures = [f for result in results for f in result.failures]
        if failures:
            raise ScaffoldError(f"the new flow's test fails, nothing was kept: {failures[0]}")
    except BaseException:
        written.undo()
        raise
    base = config_path.resolve().parent
    for path in written.created:
        click.echo(f"created {path.relative_to(base)}")
    for path in written.appended:
        click.echo(f"added {name}.* texts to {path.relative_to(base)}")
    click.echo(
        "next: edit them, then run\n"
        "  bot validate\n"
        f"  bot test {written.test_file.relative_to(base)}\n"
        f'  bot chat            (type "{name.replace("_", " ")}")'
    )


@main.group()
def sessions() -> None:
    """Operate on stored sessions."""


@sessions.command()
@config_option
@env_file_option
@click.option(
    "--older-than-hours",
    type=float,
    default=None,
    help="Override SESSION_RETENTION_HOURS for this run.",
)
@_fail_cleanly
def cleanup(config_path: Path, env_file: Path, older_than_hours: float | None) -> None:
    """Delete closed sessions (and their messages) past the retention period, now.

    Runs beside a bot serve on the same SQLite file: it takes no lock, since it deletes only
    closed sessions, which the serving process does not keep in memory.
    """
    from bot.clock import utc_now
    from bot.sessions.factory import store_from_settings
    from bot.sessions.maintenance import purge_expired

    settings = _settings(config_path, env_file)
    _setup_logging("WARNING")
    hours = older_than_hours if older_than_hours is not None else settings.retention_h

    async def run() -> None:
        store = store_from_settings(settings)
        await store.open()
        try:
            counts = await purge_expired(store, utc_now, hours)
        finally:
            await store.close()
        click.echo(
            f"deleted {counts.sessions} sessions and {counts.messages} messages "
            f"closed more than {hours:g} h ago"
        )

    asyncio.run(run())
