"""The flow runner on its own: triggers, questions, retries, branching, actions, versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.flows import FlowRunner, Turn, load_flows
from bot.flows.actions import Actions
from bot.flows.http_action import ActionFailed
from bot.flows.model import HttpCall
from bot.locales import Locales
from bot.sessions.model import Session, SessionKey, Status
from bot.wiring import Content

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class ScriptedHttp:
    """Answers every POST with ``answer``, or fails with ``ActionFailed`` when it is None."""

    def __init__(self, answer: dict[str, Any] | None) -> None:
        self.answer = answer
        self.bodies: list[Mapping[str, Any]] = []

    async def post_json(
        self, call: HttpCall, body: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        self.bodies.append(body)
        if self.answer is None:
            raise ActionFailed("down")
        return self.answer


def runner(content: Content, http: ScriptedHttp | None = None) -> FlowRunner:
    return FlowRunner(content.flows, content.locales, Actions(http), clock=lambda: NOW)


def session(lang: str | None = "es", **fields: Any) -> Session:
    base = Session(
        id="s1",
        key=SessionKey("whatsapp", "bot", "5491155550001"),
        status=Status.ACTIVE,
        created_at=NOW,
        last_activity_at=NOW,
        expires_at=NOW,
        language=lang,
    )
    return replace(base, **fields)


def after(s: Session, turn: Turn) -> Session:
    """The session as the engine leaves it after ``turn``."""
    return replace(
        s,
        flow_id=turn.flow_id,
        step_id=turn.step_id,
        flow_version=turn.version,
        step_retries=turn.retries,
        data=turn.data,
        language=turn.language or s.language,
    )


def texts(turn: Turn) -> list[str]:
    return [r.text for r in turn.replies]


def test_keywords_trigger_with_accents_case_and_small_typos(content: Content) -> None:
    r = runner(content)
    for text, flow_id in [
        ("prueba", "free_trial"),
        ("Quiero la PRUEBA!", "free_trial"),
        ("free trial please", "free_trial"),
        ("triall", "free_trial"),
        ("quiero hacer un pedido", "order"),
        ("necesito soporte técnico", "support"),
    ]:
        flow = r.match_trigger(text, None)
        assert flow is not None and flow.id == flow_id, text
    for text in ["hola", "precio", "", "probar"]:
        assert r.match_trigger(text, None) is None, text


def test_an_intent_triggers_its_flow(content: Content) -> None:
    flow = runner(content).match_trigger("algo", "request_trial")
    assert flow is not None and flow.id == "free_trial"


async def test_walk_the_free_trial_flow(content: Content) -> None:
    r = runner(content)
    s = session("en")
    turn = await r.start(content.flows["free_trial"], s)
    assert (turn.flow_id, turn.step_id) == ("free_trial", "ask_name")
    assert texts(turn) == [content.locales.text("en", "free_trial.ask_name")]

    s = after(s, turn)
    turn = await r.answer(s, "   ")
    assert (turn.step_id, turn.retries) == ("ask_name", 1)
    assert texts(turn) == [content.locales.text("en", "invalid.text")]

    s = after(s, turn)
    turn = await r.answer(s, " Ada  Lovelace ")
    assert turn.data == {"name": "Ada Lovelace"}
    assert (turn.step_id, turn.retries) == ("ask_email", 0)

    s = after(s, await r.answer(after(s, turn), "Ada@Example.COM"))
    assert s.step_id == "ask_plan"
    turn = await r.answer(s, "Pro", payload="pro")
    assert (turn.end_reason, turn.end_status, turn.step_id) == (
        "credentials_delivered",
        "completed",
        None,
    )
    assert turn.data["email"] == "Ada@example.com"
    assert (turn.data["plan"], turn.data["plan_label"]) == ("pro", "Pro")
    assert turn.data["username"].startswith("adalovelace")
    assert turn.data["password"] in turn.replies[0].text


async def test_a_choice_question_offers_its_options(content: Content) -> None:
    r = runner(content)
    s = session("es", data={"name": "Ana", "email": "ana@example.com"})
    turn = await r.start(content.flows["free_trial"], s)  # name and email known: skips to plan
    assert turn.step_id == "ask_plan"
    reply = turn.replies[0]
    assert [(c.id, c.title) for c in reply.choices] == [
        ("basic", "Básico"),
        ("pro", "Pro"),
        ("enterprise", "Empresa"),
    ]
    assert reply.payload == {
        "choices": [
            {"id": "basic", "title": "Básico", "description": None},
            {"id": "pro", "title": "Pro", "description": None},
            {"id": "enterprise", "title": "Empresa", "description": None},
        ],
        "list_button": "Ver opciones",
    }
    again = await r.answer(after(s, turn), "el rojo")
    assert texts(again) == [content.locales.text("es", "invalid.choice")]
    assert again.replies[0].choices == reply.choices  # the options come again


async def test_retries_run_out_then_the_flow_is_cancelled(content: Content) -> None:
    r = runner(content)
    s = session("es", data={"name": "Ana", "email": "ana@example.com"})
    s = after(s, await r.start(content.flows["free_trial"], s))
    for attempt in (1, 2, 3):
        turn = await r.answer(s, "ninguno")
        assert (turn.retries, turn.end_reason) == (attempt, None)
        s = after(s, turn)
    turn = await r.answer(s, "tampoco")
    assert (turn.end_reason, turn.end_status) == ("too_many_retries", "cancelled")
    assert turn.replies == []


async def test_branching_by_answer_and_jumping_to_another_flow(content: Content) -> None:
    r = runner(content)
    s = session("en", data={"name": "Bo", "email": "bo@example.com"})
    s = after(s, await r.start(content.flows["support"], s))
    s = after(s, await r.answer(s, "Bo"))
    s = after(s, await r.answer(s, "bo@example.com"))
    billing = await r.answer(s, "Billing")
    assert billing.step_id == "ask_invoice"
    technical = await r.answer(s, "technical problem")
    assert technical.step_id == "ask_device"
    plans = await r.answer(s, "Plans and pricing", payload="plans")
    assert (plans.flow_id, plans.step_id) == ("free_trial", "ask_plan")
    assert plans.version == content.flows["free_trial"].version
    assert texts(plans) == [content.locales.text("en", "free_trial.ask_plan", {"name": "Bo"})]


async def test_set_templates_expressions_and_conditions(content: Content) -> None:
    r = runner(content)
    s = session("en")
    s = after(s, await r.start(content.flows["order"], s))
    assert s.data == {"items": "", "pizzas": 0}
    s = after(s, await r.answer(s, "Pepperoni", "pepperoni"))
    s = after(s, await r.answer(s, "2 please"))
    assert s.data["items"] == "• 2 × Pepperoni\n"
    assert s.data["pizzas"] == 2
    s = after(s, await r.answer(s, "Yes", "yes"))  # "yes" branches back to the product
    assert s.step_id == "ask_product"
    s = after(s, await r.answer(s, "veggie"))
    turn = await r.answer(s, "1")
    assert turn.data["pizzas"] == 3
    assert texts(turn) == ["Noted: 1 × Veggie. That's 3 pizzas so far. Anything else?"]


async def test_a_failed_action_apologizes_and_ends_or_goes_on_error(content: Content) -> None:
    r = runner(content, ScriptedHttp(None))
    s = session("es", flow_id="order", step_id="confirm", data={"items": "", "pizzas": 1})
    turn = await r.answer(s, "sí")
    assert texts(turn) == [content.locales.text("es", "order.failed")]
    assert (turn.end_reason, turn.end_status) == ("action_failed", "cancelled")

    s = session("es", flow_id="support", step_id="describe", data={"name": "Ana"})
    turn = await r.answer(s, "no anda")
    assert texts(turn) == [
        content.locales.text("es", "action_failed"),
        content.locales.text("es", "support.contact_email"),
    ]
    assert turn.end_reason == "referred_to_email"  # a finalization keyword was sent


async def test_the_http_action_saves_fields_of_the_reply(content: Content) -> None:
    http = ScriptedHttp({"ticket": {"id": "T-9"}})
    r = runner(content, http)
    s = session("en", flow_id="support", step_id="describe", data={"name": "Bo", "email": "b@x"})
    turn = await r.answer(s, "It crashes")
    assert turn.data["ticket_id"] == "T-9"
    assert turn.end_reason == "ticket_created"
    assert http.bodies == [
        {
            "session_id": "s1",
            "user": "5491155550001",
            "flow": "support",
            "step": "open_ticket",
            "language": "en",
            "data": {"name": "Bo", "email": "b@x", "description": "It crashes"},
        }
    ]


def test_per_flow_cancel_keywords_timeouts_and_timeout_messages(content: Content) -> None:
    r = runner(content)
    in_order = session("es", flow_id="order", step_id="ask_address")
    assert r.is_cancel_keyword(in_order, "uy, NO TENGO hambre!")
    assert not r.is_cancel_keyword(in_order, "no tengo hambres")  # whole words only
    in_trial = session("es", flow_id="free_trial", step_id="ask_name")
    assert not r.is_cancel_keyword(in_trial, "no tengo hambre")
    assert r.timeout_s(in_order) == 15 * 60
    assert r.timeout_s(session("es", flow_id="free_trial", step_id="ask_name")) is None
    assert r.timeout_notice(in_order) == content.locales.text("es", "order.timeout")
    assert r.timeout_notice(session("es")) is None


async def test_a_running_conversation_keeps_its_flow_version(
    tmp_path: Path, content: Content
) -> None:
    locales: Locales = content.locales
    flow_file = tmp_path / "f.yaml"
    flow_file.write_text(
        "id: f\ntriggers: {keywords: [menu]}\nsteps:\n"
        "  - id: ask\n    say: {es: '¿Uno?', en: 'One?', pt: 'Um?'}\n    collect: one\n"
        "  - id: done\n    say: {es: 'Versión uno', en: 'Version one', pt: 'Versão um'}\n"
        "    end: done\n",
        encoding="utf-8",
    )
    r = FlowRunner(load_flows(tmp_path, locales), locales)
    old = after(session("es"), await r.start(r.flows["f"], session("es")))

    flow_file.write_text(
        flow_file.read_text(encoding="utf-8").replace("Versión uno", "Versión dos"),
        encoding="utf-8",
    )
    r = FlowRunner(load_flows(tmp_path, locales), locales, earlier=r)  # a hot reload
    new = after(session("es"), await r.start(r.flows["f"], session("es")))
    assert old.flow_version != new.flow_version

    assert texts(await r.answer(old, "sí")) == ["Versión uno"]
    assert texts(await r.answer(new, "sí")) == ["Versión dos"]
    forgotten = replace(old, flow_version="0000")  # e.g. after a restart: the current version
    assert texts(await r.answer(forgotten, "sí")) == ["Versión dos"]


async def test_a_session_whose_step_disappeared_leaves_the_flow(content: Content) -> None:
    turn = await runner(content).answer(
        session(flow_id="free_trial", step_id="gone", data={"a": 1}), "x"
    )
    assert turn.flow_id is None and turn.step_id is None
    assert turn.replies == [] and turn.data == {"a": 1}


@pytest.mark.parametrize("answer", ["muchas", "0", "21", "veintiuna", "1,5", "dos o tres"])
async def test_number_bounds_and_integers(content: Content, answer: str) -> None:
    s = session("es", flow_id="order", step_id="ask_quantity", data={"product_label": "Fugazzeta"})
    turn = await runner(content).answer(s, answer)
    assert texts(turn) == [content.locales.text("es", "order.invalid_quantity")]


async def test_a_flow_with_a_fixed_language_speaks_it(tmp_path: Path, content: Content) -> None:
    (tmp_path / "f.yaml").write_text(
        "id: f\nlanguage: en\ntriggers: {keywords: [menu]}\nsteps:\n"
        "  - id: ask\n    say: {en: 'Ready?'}\n    collect: ready\n    type: yes_no\n",
        encoding="utf-8",
    )
    r = FlowRunner(load_flows(tmp_path, content.locales), content.locales)
    turn = await r.start(r.flows["f"], session("es"))
    assert turn.language == "en"
    assert texts(turn) == ["Ready?"]
    assert [c.title for c in turn.replies[0].choices] == ["Yes", "No"]
