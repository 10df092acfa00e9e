"""Flow files: the shipped ones load; broken ones report every problem at file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import InvalidFlows, load_flows
from bot.flows.model import CredentialsAction, EmailAction, HttpAction, SlotType, Target
from bot.locales import Locales
from tests.conftest import REPO

INTENTS = {"request_trial", "greet", "goodbye", "cancel", "cancel_order", "opt_out"}


@pytest.fixture(scope="module")
def locales() -> Locales:
    return Locales.load(REPO / "locales", ["es", "en"], "es")


def problems_of(folder: Path, locales: Locales, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InvalidFlows) as caught:
        load_flows(folder, locales, INTENTS, env or {})
    return [str(p) for p in caught.value.problems]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_flows_load(locales: Locales) -> None:
    flows = load_flows(REPO / "flows", locales, INTENTS, {})
    assert sorted(flows) == ["free_trial", "order", "support"]
    trial = flows["free_trial"]
    assert trial.intents == ("request_trial",)
    assert [s.id for s in trial.steps] == [
        "start",
        "ask_name",
        "ask_email",
        "ask_plan",
        "deliver",
        "send_email",
        "credentials",
        "credentials_emailed",
    ]
    plan = trial.step("ask_plan")
    assert plan is not None and plan.ask is not None
    assert plan.ask.type is SlotType.CHOICE
    assert [o.value for o in plan.ask.options] == ["basic", "pro", "enterprise"]
    assert isinstance(trial.step("deliver").action, CredentialsAction)  # type: ignore[union-attr]
    email = trial.step("send_email")
    assert email is not None and isinstance(email.action, EmailAction)
    assert email.action.to == "{email}"
    order = flows["order"]
    assert (order.timeout_min, order.cancel_keywords) == (
        15.0,
        ("no tengo hambre", "not hungry", "sem fome"),
    )
    place = order.step("place_order")
    assert place is not None and isinstance(place.action, HttpAction)
    assert place.action.call.url == "http://127.0.0.1:8089/orders"  # the ${VAR:-default}
    support = flows["support"]
    issue = support.step("ask_issue")
    assert issue is not None
    assert [(r.value, r.target) for r in issue.next] == [
        ("billing", Target("step", "ask_invoice")),
        ("technical", Target("step", "ask_device")),
        ("plans", Target("flow", "free_trial")),
    ]
    assert len({f.version for f in flows.values()}) == 3


def test_environment_variables_fill_urls(locales: Locales) -> None:
    flows = load_flows(REPO / "flows", locales, INTENTS, {"ORDER_API_URL": "https://shop/api"})
    place = flows["order"].step("place_order")
    assert place is not None and isinstance(place.action, HttpAction)
    assert place.action.call.url == "https://shop/api"


GOOD_STEP = "  - id: ask\n    say: free_trial.ask_name\n    collect: name\n"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("id: f\nsteps:\n  - id: a\n    say: no.such.key\n", "4:10", "unknown locale key"),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "  - id: ask\n    say: welcome\n",
            "6:5",
            "duplicate step",
        ),
        ("id: f\nsteps:\n  - id: a\n    sya: welcome\n", "4:5", "unknown step key 'sya'"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    type: colour\n", "6:11", "unknown type 'colour'"),
        ("id: f\nsteps:\n  - id: a\n    action: launch\n", "4:13", "action is deliver_credentials"),
        ("id: f\nsteps:\n  - id: a\n    say: {es: hola}\n", "4:10", "say has no text for en"),
        ("id: f\ntriggers:\n  intents: [nope]\nsteps:\n" + GOOD_STEP, "3:13", "'nope' is not def"),
        ("id: f\nsteps: [\n", "3:1", "expected"),
        ("steps:\n" + GOOD_STEP, "1:1", "a flow needs an id"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    next: nowhere\n", "6:11", "unknown step 'nowhere'"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    pattern: '[a-'\n", "6:15", "bad regular expression"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    next: flow:ghost\n", "6:11", "unknown flow 'ghost'"),
        ("id: f\nsteps:\n" + GOOD_STEP + "    min: 3\n", "6:5", "min is for type: number"),
        (
            "id: f\nsteps:\n  - id: a\n    say: {es: 'Hola {n, plural, one {x}}', en: Hi}\n",
            "4:15",
            "a plural needs an 'other' branch",
        ),
        (
            "id: f\nsteps:\n  - id: a\n    say: {es: 'Hola {nmae}', en: 'Hi'}\n",
            "4:15",
            "no step sets the slot 'nmae'",
        ),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "    next:\n      - if: name ==\n        goto: ask\n",
            "7:20",
            "invalid condition",
        ),
        (
            "id: f\nsteps:\n  - id: a\n    action: {http: {url: '${SHOP_URL}'}}\n",
            "4:26",
            "environment variable SHOP_URL is not set",
        ),
        (
            "id: f\nsteps:\n  - id: a\n    end: done\n  - id: b\n    say: welcome\n",
            "5:5",
            "step 'b' cannot be reached",
        ),
    ],
)
def test_a_broken_flow_points_at_file_line_and_column(
    tmp_path: Path, locales: Locales, text: str, where: str, message: str
) -> None:
    path = write(tmp_path, "broken.yaml", text)
    problems = problems_of(tmp_path, locales)
    assert any(p.startswith(f"{path}:{where}:") and message in p for p in problems), problems


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path, locales: Locales) -> None:
    path = write(
        tmp_path,
        "many.yaml",
        "id: many\n"
        "steps:\n"
        "  - id: ask\n"
        "    say: no.such.key\n"  # 4
        "    collect: answer\n"
        "    type: choice\n"
        "    options:\n"
        "      - {value: a, title: {es: 'Un título de más de veinticuatro letras', en: A}}\n"  # 8
        "    next:\n"
        "      a: cod\n"  # 10: 'code' was meant (reached anyway), so 16 is still reported
        "  - id: code\n"
        "    say: welcome\n"
        "    collect: code\n"
        "    pattern: '(unclosed'\n"  # 14
        "    end: done\n"  # 15
        "  - id: orphan\n"  # 16
        "    say: welcome\n",
    )
    problems = problems_of(tmp_path, locales)
    lines = [int(p.removeprefix(f"{path}:").split(":")[0]) for p in problems]
    assert lines == [4, 8, 10, 14, 15, 16], problems


def test_a_trigger_used_by_two_flows_is_reported_on_the_second(
    tmp_path: Path, locales: Locales
) -> None:
    write(tmp_path, "a.yaml", "id: a\ntriggers: {keywords: [menu]}\nsteps:\n" + GOOD_STEP)
    second = write(tmp_path, "b.yaml", "id: b\ntriggers: {keywords: [Menú]}\nsteps:\n" + GOOD_STEP)
    assert problems_of(tmp_path, locales) == [
        f"{second}:2:23: keyword 'Menú' already triggers flow 'a' ({tmp_path / 'a.yaml'}:2)"
    ]


def test_inline_texts_per_language_are_accepted(tmp_path: Path, locales: Locales) -> None:
    write(
        tmp_path,
        "f.yaml",
        "id: f\ntriggers: {keywords: [menu]}\nsteps:\n"
        "  - id: a\n    say: {es: 'Hola', en: 'Hi'}\n    end: shown\n",
    )
    flow = load_flows(tmp_path, locales)["f"]
    assert flow.steps[0].say is not None
    assert flow.steps[0].say.inline == {"es": "Hola", "en": "Hi"}


def test_a_flow_with_a_fixed_language_needs_only_that_language(
    tmp_path: Path, locales: Locales
) -> None:
    write(
        tmp_path,
        "f.yaml",
        "id: f\nlanguage: en\nsteps:\n  - id: a\n    say: {en: 'Hi'}\n    end: shown\n",
    )
    assert load_flows(tmp_path, locales)["f"].language == "en"


def test_a_pool_file_with_a_bad_row_points_at_its_own_line(
    tmp_path: Path, locales: Locales
) -> None:
    (tmp_path / "pool.csv").write_text("username,password\nana,secret1\nbob,\n", encoding="utf-8")
    write(
        tmp_path,
        "f.yaml",
        "id: f\nsteps:\n  - id: a\n"
        "    action: {deliver_credentials: {provider: pool, file: pool.csv}}\n"
        "    end: done\n",
    )
    assert problems_of(tmp_path, locales) == [
        f"{tmp_path / 'pool.csv'}:3:2: every row needs a username and a password"
    ]


RUNTIME_KEYS = [
    "action_failed",
    "choices.button",
    "choices.yes",
    "choices.no",
    *(
        f"invalid.{kind}"
        for kind in ("text", "number", "email", "phone", "date", "choice", "yes_no")
    ),
    *(f"close.{reason}" for reason in ("too_many_retries", "action_failed", "finalized")),
]


@pytest.mark.parametrize("key", RUNTIME_KEYS)
def test_the_keys_the_runner_uses_exist_in_every_language(locales: Locales, key: str) -> None:
    for lang in ("es", "en"):
        assert locales.text(lang, key).strip()
    assert len(locales.text("es", "choices.button")) <= 20  # WhatsApp's list button limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id: f\nsteps:\n  - id: a\n    say: free_trial.ask_nmae\n",
            "4:10: unknown locale key 'free_trial.ask_nmae' in say; "
            "did you mean 'free_trial.ask_name'?",
        ),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "    next: aks\n",
            "6:11: unknown step 'aks' in flow 'f'; did you mean 'ask'?",
        ),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "  - id: b\n    say: {es: 'Hola {nmae}', en: Hi}\n",
            "7:15: no step sets the slot 'nmae'; did you mean 'name'?",
        ),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "    next: flow:fx\n",
            "6:11: unknown flow 'fx'; did you mean 'f'?",
        ),
        (
            "id: f\ntriggers:\n  intents: [greeet]\nsteps:\n" + GOOD_STEP,
            "3:13: trigger intent 'greeet' is not defined in intents/*.yaml; did you mean 'greet'?",
        ),
        (
            "id: f\nsteps:\n" + GOOD_STEP + "    next: zzz\n",
            "6:11: unknown step 'zzz' in flow 'f'",  # nothing close: no suggestion
        ),
    ],
)
def test_an_unknown_name_suggests_the_closest_known_one(
    tmp_path: Path, locales: Locales, text: str, expected: str
) -> None:
    path = write(tmp_path, "f.yaml", text)
    assert problems_of(tmp_path, locales) == [f"{path}:{expected}"]


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        # The step meant is reported unknown, not also its target as unreachable.
        ("confrim", "8:13: unknown step 'confrim' in flow 'f'; did you mean 'confirm'?"),
        # Nothing suggests which step was meant: any unreached step may be it.
        ("elsewhere", "8:13: unknown step 'elsewhere' in flow 'f'"),
        ("'not a step'", "8:13: 'not a step' is not a step id, flow:<flow id> or cancel"),
    ],
)
def test_one_mistake_in_a_target_gives_one_error(
    tmp_path: Path, locales: Locales, wrong: str, expected: str
) -> None:
    text = (
        "id: f\nsteps:\n"
        "  - id: ask\n    say: welcome\n    collect: ok\n    type: yes_no\n"
        "    next:\n"
        "      'no': {}\n"  # 8
        "      'yes': other\n"
        "  - id: other\n    say: welcome\n    end: other\n"
        "  - id: confirm\n    say: welcome\n    end: done\n"
    )
    write(tmp_path, "f.yaml", text.format("confirm"))
    assert load_flows(tmp_path, locales, INTENTS, {})  # the right target: no problem
    path = write(tmp_path, "f.yaml", text.replace("{}", wrong))
    problems = problems_of(tmp_path, locales)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{expected}"), problems


def test_a_branch_dropped_for_a_bad_condition_gives_one_error(
    tmp_path: Path, locales: Locales
) -> None:
    path = write(
        tmp_path,
        "f.yaml",
        "id: f\nsteps:\n"
        "  - id: ask\n    say: free_trial.ask_name\n    collect: name\n"
        "    next:\n"
        "      - {if: 'name ==', goto: confirm}\n"  # 7
        "      - goto: other\n"
        "  - id: other\n    say: welcome\n    end: other\n"
        "  - id: confirm\n    say: welcome\n    end: done\n",
    )
    problems = problems_of(tmp_path, locales)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:7:"), problems


def test_a_flow_that_asks_for_a_date_warms_the_date_parser_at_load(
    tmp_path: Path, locales: Locales, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dateparser is imported on first use (0.1 s and 3 MiB); a flow that asks for a date
    # has it warmed at load time, so the first answer does not stall the event loop
    warmed: list[bool] = []
    monkeypatch.setattr("bot.flows.loader.warm_dates", lambda: warmed.append(True))
    write(
        tmp_path,
        "f.yaml",
        "id: f\ntriggers: {keywords: [menu]}\nsteps:\n"
        "  - id: a\n    say: {es: 'Hola', en: 'Hi'}\n    end: shown\n",
    )
    load_flows(tmp_path, locales)
    assert warmed == []
    write(
        tmp_path,
        "g.yaml",
        "id: g\ntriggers: {keywords: [turno]}\nsteps:\n"
        "  - id: cuando\n    say: {es: '¿Qué día?', en: 'Which day?'}\n"
        "    collect: day\n    type: date\n"
        "  - id: fin\n    say: {es: 'Listo', en: 'Done'}\n    end: booked\n",
    )
    assert load_flows(tmp_path, locales)["g"].steps[0].ask is not None
    assert warmed == [True]
