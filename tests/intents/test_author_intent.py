"""A flow author adds an intent in YAML, sees it in `bot classify` and triggers a flow with it.

No Python: a copy of the project gets `talk_to_agent` in intents/es.yaml, en.yaml and pt.yaml
and one flow, flows/agent.yaml, that it triggers.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import load_settings
from bot.sessions.sqlite import SqliteStore
from bot.wiring import build_runtime, load_content
from tests.conftest import Harness
from tests.fakes.clock import FakeClock
from tests.fakes.recording_sender import RecordingSender

REPO = Path(__file__).resolve().parents[2]

NEW_INTENT = {
    "es": """
  talk_to_agent:
    examples:
      - quiero hablar con (una persona|un humano|un asesor)
      - (pasame|comunícame) con (una persona|un humano|un asesor)
    keywords: [un humano, un asesor, una persona real]
""",
    "en": """
  talk_to_agent:
    examples:
      - (i want to|let me) (talk|speak) to (a person|a human|an agent)
    keywords: [a human, an agent, a real person]
""",
    "pt": """
  talk_to_agent:
    examples:
      - quero falar com (uma pessoa|um humano|um atendente)
    keywords: [um atendente, um humano]
""",
}

AGENT_FLOW = """
id: agent
description: Hand the conversation over to a person.
triggers:
  intents: [talk_to_agent]
steps:
  - id: ask_topic
    say:
      es: Te paso con una persona. ¿Sobre qué tema?
      en: I'll get you a person. What is it about?
      pt: Vou te passar para uma pessoa. Sobre o que é?
    collect: topic
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's data with the author's intent and flow added."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "config.yaml", root / "config.yaml")
    shutil.copytree(REPO / "locales", root / "locales")
    shutil.copytree(REPO / "intents", root / "intents")
    for lang, block in NEW_INTENT.items():
        path = root / "intents" / f"{lang}.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nintents:\n", "\nintents:" + block, 1), encoding="utf-8")
    (root / "flows").mkdir()
    (root / "flows" / "agent.yaml").write_text(textwrap.dedent(AGENT_FLOW), encoding="utf-8")
    return root


def test_bot_classify_shows_the_new_intent(project: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["classify", "--config", str(project / "config.yaml"), "--env-file", "/nonexistent"],
        input="quiero hablar con un humano\nhi, can I talk to a human?\nadiós\n",
    )

    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert [(a["intent"], a["lang"]) for a in answers] == [
        ("talk_to_agent", "es"),
        ("talk_to_agent", "en"),
        ("goodbye", "es"),
    ]


@pytest.fixture
async def agent_harness(project: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = load_settings(project / "config.yaml", {"SESSION_TIMEOUT_MINUTES": "30"})
    content = load_content(settings, {})
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    clock = FakeClock()
    sender = RecordingSender()
    runtime = build_runtime(settings, content, store, {"whatsapp": sender}, clock)
    yield Harness(runtime=runtime, clock=clock, sender=sender, store=store)
    await store.close()


async def test_the_new_intent_starts_its_flow(agent_harness: Harness) -> None:
    replies = await agent_harness.say("Hola! me pasás con un asesor por favor?")

    # a greeting and a trigger in one message: greeted and started in one reply
    assert replies == ["¡Hola! 👋\n\nTe paso con una persona. ¿Sobre qué tema?"]
    session = await agent_harness.session_of()
    assert (session.flow_id, session.step_id, session.language) == ("agent", "ask_topic", "es")


async def test_the_new_intent_starts_its_flow_in_english(agent_harness: Harness) -> None:
    replies = await agent_harness.say("I want to talk to a human", user="15550001111")

    assert replies == ["I'll get you a person. What is it about?"]


async def test_goodbye_still_closes_the_new_flow(agent_harness: Harness) -> None:
    await agent_harness.say("quiero hablar con una persona")

    await agent_harness.say("gracias, chau")

    session = await agent_harness.session_of()
    assert (session.status.value, session.close_reason) == ("completed", "goodbye")
