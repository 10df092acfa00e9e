"""The flow runner on its own: triggers, prompts, validation, slots, actions, ends."""

from __future__ import annotations

from bot.flows import FlowRunner
from bot.wiring import Content


def runner(content: Content) -> FlowRunner:
    return FlowRunner(content.flows, content.locales)


def test_keywords_trigger_with_accents_case_and_small_typos(content: Content) -> None:
    r = runner(content)
    for text in [
        "prueba",
        "Quiero la PRUEBA!",
        "una pruebá",
        "free trial please",
        "demo",
        "triall",
    ]:
        flow = r.match_trigger(text, None)
        assert flow is not None and flow.id == "free_trial", text
    for text in ["hola", "precio", "", "probar"]:
        assert r.match_trigger(text, None) is None, text


def test_an_intent_triggers_its_flow(content: Content) -> None:
    flow = runner(content).match_trigger("algo", "request_trial")
    assert flow is not None and flow.id == "free_trial"


def test_walk_the_free_trial_flow(content: Content) -> None:
    r = runner(content)
    flow = content.flows["free_trial"]
    turn = r.start(flow, "en", {})
    assert (turn.flow_id, turn.step_id) == ("free_trial", "ask_name")
    assert [x.text for x in turn.replies] == [content.locales.text("en", "free_trial.ask_name")]

    turn = r.answer("free_trial", "ask_name", "   ", "en", turn.data)
    assert turn.step_id == "ask_name"
    assert [x.text for x in turn.replies] == [content.locales.text("en", "invalid.text")]

    turn = r.answer("free_trial", "ask_name", " Ada  Lovelace ", "en", turn.data)
    assert turn.data == {"name": "Ada Lovelace"}
    assert turn.step_id == "ask_email"

    turn = r.answer("free_trial", "ask_email", "Ada@Example.COM", "en", turn.data)
    assert turn.end_reason == "credentials_delivered"
    assert turn.flow_id is None and turn.step_id is None
    assert turn.data["email"] == "Ada@example.com"
    assert len(turn.data["password"]) == 12
    assert turn.data["username"].startswith("adalovelace")
    assert turn.data["password"] in turn.replies[0].text


def test_a_session_whose_step_disappeared_leaves_the_flow(content: Content) -> None:
    turn = runner(content).answer("free_trial", "gone", "x", "es", {"a": 1})
    assert turn.flow_id is None and turn.replies == [] and turn.data == {"a": 1}
