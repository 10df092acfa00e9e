"""The commands a newcomer uses to find a mistake (issue #17, "tools that point at the fix"):
each output is asserted exactly where it is stable."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.locales import Locales
from bot.scaffold import locale_block
from tests.conftest import REPO
from tests.test_cli import run_bot

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
TOKENS = {"WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_VERIFY_TOKEN": "v"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's project (config.yaml and its data folders), the lexicon
    alone: these tools do not need the semantic head, whose training for the copy's intent
    files takes minutes where the cache lacks it (a fresh machine, an edited intent file)."""
    for name in ("config.yaml", "intents", "locales", "flows"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    config = tmp_path / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "\n  learned: true" in text
    config.write_text(text.replace("\n  learned: true", "\n  learned: false", 1), encoding="utf-8")
    return tmp_path


def invoke(project: Path, *args: str) -> Result:
    """``bot ARGS --config <project>/config.yaml`` in this process, from the project folder."""
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(project)
    try:
        return runner.invoke(
            main, [*args, "--config", str(project / "config.yaml"), "--env-file", "/nonexistent"]
        )
    finally:
        os.chdir(old)


def line_of(path: Path, text: str) -> tuple[int, int]:
    """1-based line and column of the first ``text`` in ``path``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


def test_classify_answers_each_argument_on_its_own_line() -> None:
    result = run_bot("classify", "--env-file", "/nonexistent", "hola", "thanks, bye", "12345")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '{"text": "hola", "intent": "greet", "confidence": 1.0, "lang": "es", "confirm": null,'
        ' "ranked": [["greet", 1.0]]}\n'
        '{"text": "thanks, bye", "intent": "goodbye", "confidence": 1.0, "lang": "en",'
        ' "confirm": null, "ranked": [["goodbye", 1.0]]}\n'
        '{"text": "12345", "intent": "none", "confidence": 0.0, "lang": null, "confirm": null,'
        ' "ranked": []}\n'
    )


def test_chat_with_piped_input_reads_as_a_transcript_with_each_close() -> None:
    result = run_bot(
        "chat",
        "--env-file",
        "/nonexistent",
        stdin="quiero una prueba\n/wait 31\nhello\n/wait x\nbye\n/quit\nnot read\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join(
        [
            "Chatting as 5490000000000 (session timeout 30 min). Commands: /wait MINUTES, /quit.",
            "you> quiero una prueba",
            f"bot> {LOCALES.text('es', 'free_trial.ask_name')}",
            "you> /wait 31",
            f"bot> {LOCALES.text('es', 'close.timeout')}",
            "[session timeout: timeout]",
            "you> hello",
            f"bot> {LOCALES.text('en', 'welcome')}",
            "you> /wait x",
            "usage: /wait MINUTES",
            "you> bye",
            f"bot> {LOCALES.text('en', 'close.goodbye')}",
            "[session completed: goodbye]",
            "you> /quit",
            "",
        ]
    )


def test_validate_prints_project_paths_and_the_name_meant(project: Path) -> None:
    flow = project / "flows" / "free_trial.yaml"
    flow.write_text(
        flow.read_text(encoding="utf-8").replace(
            "say: free_trial.ask_email", "say: free_trial.ask_mail"
        ),
        encoding="utf-8",
    )
    line, column = line_of(flow, "free_trial.ask_mail")
    result = invoke(project, "validate")
    assert result.exit_code == 2
    assert result.stderr == (
        f"flows/free_trial.yaml:{line}:{column}: unknown locale key 'free_trial.ask_mail' in "
        "say; did you mean 'free_trial.ask_email'?\n"
        "error: 1 problem found\n"
    )


def test_validate_gives_one_error_for_a_wrong_step_reference(project: Path) -> None:
    flow = project / "flows" / "support.yaml"
    flow.write_text(
        flow.read_text(encoding="utf-8").replace("billing: ask_invoice", "billing: ask_invoce"),
        encoding="utf-8",
    )
    line, column = line_of(flow, "ask_invoce")
    result = invoke(project, "validate")
    assert result.exit_code == 2
    assert result.stderr == (
        f"flows/support.yaml:{line}:{column}: unknown step 'ask_invoce' in flow 'support'; "
        "did you mean 'ask_invoice'?\n"
        "error: 1 problem found\n"
    )


def test_validate_reports_a_key_missing_from_one_locale_at_its_line(project: Path) -> None:
    en = project / "locales" / "en.yaml"
    en.write_text(
        "".join(
            line
            for line in en.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("  ask_plan:")
        ),
        encoding="utf-8",
    )
    line, column = line_of(project / "locales" / "es.yaml", "ask_plan:")
    result = invoke(project, "validate")
    assert result.exit_code == 2
    assert result.stderr == (
        f"locales/es.yaml:{line}:{column}: 'free_trial.ask_plan' has no en text: add it to "
        "locales/en.yaml\n"
        "error: 1 problem found\n"
    )


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_help_is_plain_text(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "``" not in result.output
    assert ":class:" not in result.output


def test_serve_names_every_missing_token_in_one_line() -> None:
    result = run_bot("serve", "--env-file", "/nonexistent", env={"PORT": "0"})
    assert result.returncode == 2
    assert result.stderr == (
        "error: WHATSAPP_ACCESS_TOKEN, WHATSAPP_VERIFY_TOKEN: are not set (put them in .env or "
        "the environment; to serve Twilio only, without the WhatsApp Cloud API, set "
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN instead)\n"
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_an_unreachable_redis_names_database_url() -> None:
    port = _closed_port()
    result = run_bot(
        "serve",
        "--env-file",
        "/nonexistent",
        env={
            **TOKENS,
            "HOST": "127.0.0.1",
            "PORT": str(_closed_port()),
            "DATABASE_URL": f"redis://:secret@127.0.0.1:{port}/0",
        },
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "WARNING" not in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        f"error: DATABASE_URL: cannot reach Redis at redis://:***@127.0.0.1:{port}/0 ("
    ), result.stderr
    assert "secret" not in result.stderr


def test_serve_with_a_sqlite_folder_that_does_not_exist_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "tpyo"
    result = run_bot(
        "serve",
        "--env-file",
        "/nonexistent",
        env={
            **TOKENS,
            "HOST": "127.0.0.1",
            "PORT": str(_closed_port()),
            "DATABASE_URL": f"sqlite:///{folder}/bot.db",
        },
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: DATABASE_URL: the folder {folder} does not exist (create it, or use a path "
        "under the project's data/ folder, which is created)\n"
    )
    assert not folder.exists()


def test_new_flow_writes_a_flow_its_texts_and_a_passing_test(project: Path) -> None:
    locales = {lang: (project / "locales" / f"{lang}.yaml") for lang in ("es", "en", "pt")}
    before = {lang: path.read_text(encoding="utf-8") for lang, path in locales.items()}
    result = invoke(project, "new", "flow", "table_booking")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "created flows/table_booking.yaml\n"
        "created flows/tests/table_booking.yaml\n"
        "added table_booking.* texts to locales/es.yaml\n"
        "added table_booking.* texts to locales/en.yaml\n"
        "added table_booking.* texts to locales/pt.yaml\n"  # English ones, to translate
        "next: edit them, then run\n"
        "  bot validate\n"
        "  bot test flows/tests/table_booking.yaml\n"
        '  bot chat            (type "table booking")\n'
    )
    for lang, path in locales.items():  # appended: the file's comments and layout are kept
        assert path.read_text(encoding="utf-8") == before[lang] + locale_block(
            "table_booking", lang
        )
    validated = invoke(project, "validate")
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith("ok: 4 flows (free_trial, order, support, table_booking)")
    tested = invoke(project, "test", "flows/tests/table_booking.yaml")
    assert tested.exit_code == 0, tested.output
    assert tested.stdout == (
        "PASS flows/tests/table_booking.yaml:3: es: asks the name, confirms and ends\n"
        "PASS flows/tests/table_booking.yaml:16: en: asks the name, confirms and ends\n"
        "PASS flows/tests/table_booking.yaml:29: pt: asks the name, confirms and ends\n"
        "PASS flows/tests/table_booking.yaml:42: a no cancels\n"
        "4 passed, 0 failed\n"
    )


@pytest.mark.parametrize(
    ("name", "stderr"),
    [
        ("order", "error: flow 'order' already exists (flows/order.yaml)\n"),
        (
            "Table-Booking",
            "error: 'Table-Booking' is not a valid flow name: use lowercase letters, digits and "
            "_, starting with a letter (at most 40)\n",
        ),
        ("help", "error: locales/es.yaml already has texts under 'help'; choose another name\n"),
        # A valid name whose keyword the engine answers first (cancel): its test would fail.
        ("cancelar", None),
    ],
)
def test_new_flow_refuses_a_taken_or_invalid_name_and_keeps_nothing(
    project: Path, name: str, stderr: str | None
) -> None:
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = invoke(project, "new", "flow", name)
    assert result.exit_code == 2
    if stderr is not None:
        assert result.stderr == stderr
    else:
        assert result.stderr.startswith("error: the new flow's test fails, nothing was kept: ")
        assert len(result.stderr.splitlines()) == 1
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_a_language_without_starting_texts_gets_the_english_ones() -> None:
    assert locale_block("x", "pt") == locale_block("x", "en").replace(
        "locales/en.yaml", "locales/pt.yaml"
    )
