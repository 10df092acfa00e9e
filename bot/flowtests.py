"""``bot test``: conversation tests for flow authors, written in YAML (see docs/flows.md).

A test file holds ``tests:``, a list of cases. Each case runs the real engine (classifier,
flows, sessions, sweeper) on a throw-away SQLite file with a clock that only ``wait`` moves,
and a recording channel; HTTP actions get the replies the case scripts, never the network::

    tests:
      - name: a pizza, delivered
        lang: es                      # optional: fixes the session language
        http:                         # optional: replies of http actions, by step id
          place_order: {status: 200, json: {order_id: A-1, eta_minutes: 30}}
        turns:
          - user: quiero pedir una pizza
            bot: {contains: "¿Qué pizza"}
            options: [Margarita, Pepperoni, Vegetariana, Cuatro quesos, Fugazzeta]
          - tap: pepperoni            # taps the option with that value
          - wait: 16m                 # moves the clock and runs the sweeper
            bot: {key: order.timeout} # a locale text, rendered with the session data
            status: timeout

A turn is one of ``user: <text>``, ``tap: <option value>``, ``wait: <30s|31m|2h>``, and, for
a conversation a person has (docs/handoff.md), ``agent: <text>`` (an agent's message to the
user, through the admin API's path) or ``return: bot`` (the agent gives it back). It may
check ``bot`` (every message the user got in the turn, in order, the agent's included: a text
for exact equality, or ``{contains: ...}``, ``{regex: ...}``, ``{key: ...}``), ``options``
(the titles offered), ``slots`` (a subset of the session data), ``status``, ``close_reason``,
``flow``, ``step`` and ``handoff`` (the reason of the session's handoff, while it lasts).
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.channels.base import Choice, InboundKind, InboundMessage
from bot.clock import utc_now
from bot.config import Settings
from bot.engine import Engine
from bot.errors import BotError, DataFileError
from bot.flows.actions import Actions
from bot.flows.http_action import ActionFailed
from bot.flows.model import HttpCall, Text
from bot.flows.problems import Problems
from bot.flows.runner import render_text
from bot.sessions.model import Session, Status
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionQuery
from bot.wiring import Content, build_runtime
from bot.yamlfile import load_yaml, where

CHANNEL = "whatsapp"
BOT_ID = "bot-test"
DEFAULT_USER = "5491100000000"
CASE_KEYS = frozenset({"name", "lang", "user", "now", "http", "turns"})
ACTION_KEYS = ("user", "tap", "wait", "agent", "return")
CHECK_KEYS = frozenset(
    {"bot", "options", "slots", "status", "close_reason", "flow", "step", "handoff"}
)
AGENT = "agent"
"""The agent's name in ``agent:`` and ``return:`` turns."""
_ONE_OF = "user:, tap:, wait:, agent:, return:"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration_s(raw: Any) -> float | None:
    """Seconds in ``30s``, ``31m``, ``1.5h``, ``2d`` (a bare number is minutes); else ``None``."""
    match = _DURATION.match(str(raw))
    if match is None or isinstance(raw, bool):
        return None
    return float(match.group(1)) * _UNITS_S[match.group(2) or "m"]


@dataclass(frozen=True, slots=True)
class TurnSpec:
    """One turn of a case: what the user does and what is checked afterwards."""

    action: str
    value: Any
    checks: Mapping[str, Any]
    line: int | None


@dataclass(frozen=True, slots=True)
class Case:
    """One conversation test."""

    path: str
    line: int | None
    name: str
    turns: tuple[TurnSpec, ...]
    lang: str | None = None
    user: str = DEFAULT_USER
    now: datetime | None = None
    http: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CaseResult:
    """The outcome of a case: ``failures`` is empty when it passed."""

    case: Case
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(path: Path) -> list[Case]:
    """Read the cases of one test file.

    Raises:
        InvalidFlows: The file is not a valid test file (every problem at file:line:column).
    """
    problems = Problems()
    try:
        data = load_yaml(path)
    except DataFileError as exc:
        problems.add_error(exc)
        problems.raise_if_any()
    tests = data.get("tests") if isinstance(data, Mapping) else None
    if not isinstance(tests, list):
        problems.add_error(DataFileError(str(path), 1, "a test file has a list 'tests:'", 1))
        problems.raise_if_any()
    assert isinstance(tests, list)
    cases: list[Case] = []
    for index, raw in enumerate(tests):
        case = _case(path, raw, tests, index, problems)
        if case is not None:
            cases.append(case)
    problems.raise_if_any()
    return cases


def _case(path: Path, raw: Any, seq: list[Any], index: int, problems: Problems) -> Case | None:
    if not isinstance(raw, Mapping):
        problems.add(path, seq, index, "a test is a mapping with name and turns")
        return None
    for key in raw:
        if key not in CASE_KEYS:
            problems.add(
                path, raw, key, f"unknown test key {key!r} ({', '.join(sorted(CASE_KEYS))})"
            )
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        problems.add(path, raw, "turns" if "turns" in raw else None, "a test needs turns")
        return None
    turns: list[TurnSpec] = []
    for i, turn in enumerate(turns_raw):
        if not isinstance(turn, Mapping):
            problems.add(path, turns_raw, i, f"a turn is a mapping: {_ONE_OF}")
            continue
        actions = [k for k in ACTION_KEYS if k in turn]
        if len(actions) != 1:
            problems.add(path, turns_raw, i, f"a turn has exactly one of {_ONE_OF}")
            continue
        for key in turn:
            if key not in CHECK_KEYS and key not in ACTION_KEYS:
                known = ", ".join(sorted(CHECK_KEYS | set(ACTION_KEYS)))
                problems.add(path, turn, key, f"unknown turn key {key!r} ({known})")
        action = actions[0]
        value = turn[action]
        if action == "wait" and parse_duration_s(value) is None:
            problems.add_value(path, turn, "wait", "wait is a duration: 30s, 31m, 2h")
            continue
        if action != "wait" and not isinstance(value, str | int | float):
            problems.add_value(path, turn, action, f"{action} is a text")
            continue
        line, _ = where(turns_raw, i)
        checks = {k: v for k, v in turn.items() if k in CHECK_KEYS}
        turns.append(TurnSpec(action, str(value), checks, line))
    now = raw.get("now")
    if isinstance(now, str):
        try:
            now = datetime.fromisoformat(now)
        except ValueError:
            problems.add_value(path, raw, "now", "now is an ISO date-time: 2026-11-21T12:00:00Z")
            now = None
    if isinstance(now, datetime) and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    http = raw.get("http") or {}
    if not isinstance(http, Mapping):
        problems.add_value(path, raw, "http", "http maps step ids to scripted replies")
        http = {}
    line, _ = where(seq, index)
    return Case(
        path=str(path),
        line=line,
        name=str(raw.get("name") or f"test {index + 1}"),
        turns=tuple(turns),
        lang=str(raw["lang"]) if raw.get("lang") else None,
        user=str(raw.get("user") or DEFAULT_USER),
        now=now if isinstance(now, datetime) else None,
        http=dict(http),
    )


class ManualClock:
    """A clock that only moves when ``advance`` is called."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class _Sent:
    to: str
    text: str
    choices: tuple[Choice, ...]


class _Recorder:
    """An ``OutboundSender`` that keeps what the bot sent."""

    def __init__(self) -> None:
        self.sent: list[_Sent] = []
        self._ids = itertools.count(1)

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        self.sent.append(_Sent(to, text, ()))
        return f"test.out{next(self._ids)}"

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        self.sent.append(_Sent(to, text, tuple(choices)))
        return f"test.out{next(self._ids)}"


class ScriptedHttp:
    """An ``HttpClient`` answering each step's calls from the case's ``http:`` script.

    A script is one reply for every attempt, or a list with one reply per attempt (the last
    repeats). A reply is ``{status: 200, json: {...}}`` or ``error`` (a network failure).
    Failures are retried as the real client does (5xx, 429 and network errors), instantly.
    """

    def __init__(self, script: Mapping[str, Any]) -> None:
        self.script = script
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def post_json(
        self, call: HttpCall, body: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        step = str(body.get("step"))
        if step not in self.script:
            raise ActionFailed(f"no scripted reply for step {step!r} (add http: {step}: ...)")
        raw = self.script[step]
        replies = list(raw) if isinstance(raw, list) else [raw]
        reason = "no reply"
        for attempt in range(call.retries + 1):
            self.calls.append((step, body))
            reply = replies[min(attempt, len(replies) - 1)] if replies else "error"
            if not isinstance(reply, Mapping):
                reason = "network error"
                continue
            status = int(reply.get("status", 200))
            if 200 <= status < 300:
                answer = reply.get("json", {})
                return dict(answer) if isinstance(answer, Mapping) else {}
            reason = f"HTTP {status}"
            if status < 500 and status != 429:
                break
        raise ActionFailed(f"scripted {step}: {reason}")


def _match(expected: Any, actual: str, render: Any) -> str | None:
    """``None`` when ``actual`` satisfies ``expected``, else what was expected (for messages)."""
    if isinstance(expected, Mapping):
        if "contains" in expected:
            return (
                None
                if str(expected["contains"]) in actual
                else f"containing {expected['contains']!r}"
            )
        if "regex" in expected:
            return (
                None
                if re.search(str(expected["regex"]), actual)
                else f"matching /{expected['regex']}/"
            )
        if "key" in expected:
            wanted = render(str(expected["key"]))
            return None if wanted == actual else f"{wanted!r} (locale {expected['key']})"
        return f"one of contains/regex/key, got {dict(expected)!r}"
    return None if str(expected) == actual else repr(str(expected))


async def run_case(settings: Settings, content: Content, case: Case) -> CaseResult:
    """Run one case on a fresh engine; return its failures (first failing turn stops it)."""
    result = CaseResult(case)
    with tempfile.TemporaryDirectory(prefix="bot-test-") as folder:
        store = SqliteStore(Path(folder) / "test.db")
        await store.open()
        try:
            clock = ManualClock(case.now or utc_now())
            sender = _Recorder()
            actions = Actions(ScriptedHttp(case.http), state_dir=Path(folder))
            runtime = build_runtime(
                settings, content, store, {CHANNEL: sender}, clock, actions=actions
            )
            ids = itertools.count(1)
            offered: tuple[Choice, ...] = ()
            for number, turn in enumerate(case.turns, start=1):
                before = len(sender.sent)
                where_ = f"turn {number} (line {turn.line})"
                if turn.action == "wait":
                    clock.advance(parse_duration_s(turn.value) or 0.0)
                    await runtime.sweeper.run_once()
                elif turn.action in ("agent", "return"):
                    problem = await _agent_turn(runtime.engine, store, case.user, turn)
                    if problem is not None:
                        result.failures.append(f"{where_}: {problem}")
                        break
                else:
                    text, payload, kind = turn.value, None, InboundKind.TEXT
                    if turn.action == "tap":
                        chosen = next((c for c in offered if c.id == turn.value), None)
                        if chosen is None:
                            shown = ", ".join(c.id for c in offered) or "none"
                            result.failures.append(
                                f"{where_}: no option {turn.value!r} was offered ({shown})"
                            )
                            break
                        text, payload, kind = chosen.title, chosen.id, InboundKind.INTERACTIVE
                    await runtime.engine.handle(
                        InboundMessage(
                            channel=CHANNEL,
                            bot_id=BOT_ID,
                            user_id=case.user,
                            message_id=f"test.in{next(ids)}",
                            kind=kind,
                            text=text,
                            timestamp=clock(),
                            payload=payload,
                            language=case.lang,
                        )
                    )
                replies = [s for s in sender.sent[before:] if s.to == case.user]
                offered = next((r.choices for r in reversed(replies) if r.choices), offered)
                sessions = await store.list_sessions(SessionQuery(user_id=case.user, limit=1))
                session = sessions[0] if sessions else None
                failures = _check(turn, replies, session, content)
                result.failures.extend(f"{where_}: {f}" for f in failures)
                if failures:
                    break
        finally:
            await store.close()
    return result


def _check(
    turn: TurnSpec, replies: list[_Sent], session: Session | None, content: Content
) -> list[str]:
    checks = turn.checks
    failures: list[str] = []
    texts = [r.text for r in replies]
    data = session.data if session else {}
    lang = session.language if session else None

    def render(key: str) -> str:
        if not content.locales.has(key):
            return f"<unknown locale key {key}>"
        language = content.locales.language_or_default(lang)
        return render_text(content.locales, Text(key=key), language, data)

    if "bot" in checks:
        expected = checks["bot"] if isinstance(checks["bot"], list) else [checks["bot"]]
        if len(expected) != len(texts):
            failures.append(f"expected {len(expected)} replies, got {len(texts)}: {texts!r}")
        else:
            for i, (want, got) in enumerate(zip(expected, texts, strict=True), start=1):
                problem = _match(want, got, render)
                if problem is not None:
                    failures.append(f"reply {i}: expected {problem}, got {got!r}")
    if "options" in checks:
        titles = [c.title for r in replies for c in r.choices]
        if [str(x) for x in checks["options"]] != titles:
            failures.append(f"expected options {list(checks['options'])!r}, got {titles!r}")
    if "slots" in checks and isinstance(checks["slots"], Mapping):
        for slot, want in checks["slots"].items():
            if slot not in data:
                failures.append(f"slot {slot!r} is not set (data: {data!r})")
            elif data[slot] != want and str(data[slot]) != str(want):
                failures.append(f"slot {slot!r}: expected {want!r}, got {data[slot]!r}")
    fields = {
        "status": session.status.value if session else None,
        "close_reason": session.close_reason if session else None,
        "flow": session.flow_id if session else None,
        "step": session.step_id if session else None,
        "handoff": (
            session.handoff.reason
            if session and session.handoff and session.status is Status.HANDOFF
            else None
        ),
    }
    for name, actual in fields.items():
        if name in checks and checks[name] != actual:
            failures.append(f"{name}: expected {checks[name]!r}, got {actual!r}")
    return failures


async def _agent_turn(engine: Engine, store: SqliteStore, user: str, turn: TurnSpec) -> str | None:
    """Run an ``agent:`` (write) or ``return:`` (give back) turn on the user's newest session;
    what went wrong, or ``None``."""
    sessions = await store.list_sessions(SessionQuery(user_id=user, limit=1))
    if not sessions:
        return f"{turn.action}: the user has no session yet"
    try:
        if turn.action == "agent":
            await engine.write(sessions[0].id, AGENT, turn.value)
        else:
            await engine.give_back(sessions[0].id, AGENT)
    except BotError as exc:  # not in handoff, closed
        return f"{turn.action}: {exc}"
    return None


def default_test_files(folder: Path) -> list[Path]:
    """The default test files: ``*.yaml`` under ``<flows>/tests/``."""
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


async def run_files(
    settings: Settings, content: Content, paths: Sequence[Path]
) -> list[CaseResult]:
    """Run every case of ``paths``, in order.

    Raises:
        InvalidFlows: A test file is invalid (every problem at file:line:column).
    """
    cases = [case for path in paths for case in load_cases(path)]
    return [await run_case(settings, content, case) for case in cases]
