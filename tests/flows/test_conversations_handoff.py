"""``bot test`` files express a handoff (issue 19): ``agent:`` and ``return:`` turns and the
``handoff`` check; a wrong expectation or an agent turn out of a handoff names the turn."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.flowtests import load_cases, run_case
from bot.wiring import Content


async def failures(tmp_path: Path, text: str, settings: Settings, content: Content) -> list[str]:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    [case] = load_cases(path)
    return (await run_case(settings, content, case)).failures


async def test_an_agent_turn_outside_a_handoff_fails_with_the_reason(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> None:
    text = "tests:\n  - turns:\n      - user: hola\n      - agent: Soy Ana\n"
    [failure] = await failures(tmp_path, text, repo_settings, content)
    assert failure.startswith("turn 2 (line 4): agent: session ") and "not in handoff" in failure


async def test_the_handoff_check_compares_the_reason(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> None:
    text = (
        "tests:\n  - lang: en\n    turns:\n      - user: talk to a human\n"
        "        handoff: invoice_not_found\n"
    )
    assert await failures(tmp_path, text, repo_settings, content) == [
        "turn 1 (line 4): handoff: expected 'invoice_not_found', got 'user_request'"
    ]


async def test_an_agent_message_is_what_the_user_gets_and_return_greets(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> None:
    welcome = content.locales.text("en", "welcome", {})
    text = (
        "tests:\n  - lang: en\n    turns:\n      - user: agent please\n"
        "      - agent: Hi, Ana here\n        bot: Hi, Ana here\n        status: handoff\n"
        f"      - return: bot\n        bot: {{contains: {welcome[:20]!r}}}\n"
        "        status: active\n"
    )
    assert await failures(tmp_path, text, repo_settings, content) == []
