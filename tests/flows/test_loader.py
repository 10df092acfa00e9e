"""Flow files: the shipped ones load; broken ones point at file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import FlowError
from bot.flows import load_flows
from bot.locales import Locales
from tests.conftest import REPO


@pytest.fixture(scope="module")
def locales() -> Locales:
    return Locales.load(REPO / "locales", ["es", "en"], "es")


def test_the_sample_free_trial_flow_loads(locales: Locales) -> None:
    flows = load_flows(REPO / "flows", locales, {"request_trial", "greet"})
    flow = flows["free_trial"]
    assert flow.intents == ("request_trial",)
    assert set(flow.keywords) >= {"prueba", "trial", "demo"}
    assert [s.id for s in flow.steps] == ["ask_name", "ask_email", "deliver"]
    assert flow.steps[-1].end == "credentials_delivered"


GOOD_STEP = "  - id: ask\n    say: free_trial.ask_name\n    collect: name\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: f\nsteps:\n  - id: a\n    say: no.such.key\n", 4, "unknown locale key 'no.such.key'"),
        ("id: f\nsteps:\n" + GOOD_STEP + "  - id: ask\n    say: welcome\n", 6, "duplicate step id"),
        ("id: f\nsteps:\n  - id: a\n    sya: welcome\n", 4, "unknown step key 'sya'"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    validate: phone\n", 6, "unknown validator 'phone'"),
        ("id: f\nsteps:\n  - id: a\n    action: launch\n", 4, "unknown action 'launch'"),
        ("id: f\nsteps:\n  - id: a\n    say: {es: hola}\n", 4, "no text for en"),
        ("id: f\ntriggers:\n  intents: [nope]\nsteps:\n" + GOOD_STEP, 1, "'nope' is not defined"),
        ("id: f\nsteps: [\n", 3, "expected"),
        ("steps:\n" + GOOD_STEP, 1, "a flow needs an id"),
    ],
)
def test_a_broken_flow_points_at_file_and_line(
    tmp_path: Path, locales: Locales, text: str, line: int, message: str
) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path, locales, {"request_trial"})
    assert str(caught.value).startswith(f"{tmp_path / 'broken.yaml'}:{line}")
    assert message in str(caught.value)


def test_inline_texts_per_language_are_accepted(tmp_path: Path, locales: Locales) -> None:
    (tmp_path / "f.yaml").write_text(
        "id: f\ntriggers: {keywords: [menu]}\nsteps:\n  - id: a\n"
        "    say: {es: 'Hola {name}', en: 'Hi {name}'}\n    end: shown\n",
        encoding="utf-8",
    )
    flow = load_flows(tmp_path, locales)["f"]
    assert flow.steps[0].say is not None
    assert flow.steps[0].say.inline == {"es": "Hola {name}", "en": "Hi {name}"}
