"""The authors' conversation tests (flows/tests/*.yaml) run in the suite, and ``bot test``,
``bot validate`` and ``bot serve`` report like a flow author needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.flows import InvalidFlows
from bot.flowtests import Case, default_test_files, load_cases, run_case
from bot.wiring import Content
from tests.conftest import REPO

CASES = [case for path in default_test_files(REPO / "flows" / "tests") for case in load_cases(path)]


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.path).stem}: {c.name}" for c in CASES])
async def test_shipped_conversation(case: Case, repo_settings: Settings, content: Content) -> None:
    result = await run_case(repo_settings, content, case)
    assert result.failures == []


def test_every_sample_flow_has_conversation_tests() -> None:
    tested = {Path(c.path).stem for c in CASES}
    assert tested >= {"free_trial", "order", "support"}


def run_bot(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SESSION_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--env-file", "/nonexistent"],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


def test_bot_test_runs_the_shipped_files() -> None:
    result = run_bot("test")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{len(CASES)} passed, 0 failed"
    assert lines[0].startswith("PASS flows/tests/free_trial.yaml:3: ")


def test_a_failing_conversation_names_the_turn_and_what_differed(tmp_path: Path) -> None:
    test_file = tmp_path / "wrong.yaml"
    test_file.write_text(
        "tests:\n"
        "  - name: expects the wrong question\n"
        "    lang: en\n"
        "    turns:\n"
        "      - user: trial\n"
        "        bot: What's your email?\n"
        "  - name: passes\n"
        "    lang: en\n"
        "    turns:\n"
        "      - user: trial\n"
        "        bot: {contains: name}\n",
        encoding="utf-8",
    )
    result = run_bot("test", str(test_file))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"FAIL {test_file}:2: expects the wrong question",
        '    turn 1 (line 5): reply 1: expected "What\'s your email?", got '
        "\"Great! I'll set you up with a free trial. What's your name?\"",
        f"PASS {test_file}:7: passes",
        "1 passed, 1 failed",
    ]


def test_an_invalid_test_file_points_at_the_line(tmp_path: Path) -> None:
    test_file = tmp_path / "bad.yaml"
    test_file.write_text(
        "tests:\n  - name: x\n    turns:\n      - usr: hola\n      - wait: soon\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidFlows) as caught:
        load_cases(test_file)
    assert [str(p) for p in caught.value.problems] == [
        f"{test_file}:4:9: a turn has exactly one of user:, tap:, wait:, agent:, return:",
        f"{test_file}:5:15: wait is a duration: 30s, 31m, 2h",
    ]


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A copy of the repository's data with two mistakes in flows/order.yaml."""
    for name in ("config.yaml", "intents", "locales", "flows"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    flow = tmp_path / "flows" / "order.yaml"
    text = flow.read_text(encoding="utf-8")
    text = text.replace('"yes": ask_product', '"yes": ask_produce')
    text = text.replace("pattern: '.*\\d.*'", "pattern: '.*\\d.*('")
    flow.write_text(text, encoding="utf-8")
    return tmp_path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


def test_validate_prints_every_problem_with_file_line_and_column(broken_copy: Path) -> None:
    flow = broken_copy / "flows" / "order.yaml"
    result = run_bot("validate", "--config", str(broken_copy / "config.yaml"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"flows/order.yaml:{line_of(flow, 'ask_produce')}:14: unknown step 'ask_produce' in "
        "flow 'order'; did you mean 'ask_product'?",
        f"flows/order.yaml:{line_of(flow, 'pattern:')}:21: bad regular expression: missing ), "
        "unterminated subpattern at position 6",
        "error: 2 problems found",
    ]
    assert result.stdout == ""


def test_serve_refuses_to_start_with_the_same_messages(broken_copy: Path) -> None:
    result = run_bot(
        "serve",
        "--config",
        str(broken_copy / "config.yaml"),
        WHATSAPP_ACCESS_TOKEN="t",
        WHATSAPP_VERIFY_TOKEN="v",
        PORT="0",
    )
    assert result.returncode == 2
    problems = [line for line in result.stderr.splitlines() if "order.yaml:" in line]
    assert len(problems) == 2
    assert result.stderr.rstrip().endswith("error: 2 problems found")
    assert "Traceback" not in result.stderr


def test_chat_shows_buttons_and_lists_as_numbered_options() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SESSION_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--env-file", "/nonexistent", "--lang", "es"],
        input="prueba\nAna\nana@example.com\n2\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env=clean,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "bot> ¿Qué plan quieres probar, Ana?\n     \n     1. Básico\n     2. Pro\n     3. Empresa\n"
        in (result.stdout)
    )
    assert "Estas son tus credenciales de prueba del plan Pro" in result.stdout
