"""Webhooks as an attacker holding the secrets would send them (issue #13): correctly signed
payloads of every kind the tests know, mutated at random, against the in-process app.

Whatever arrives, the service answers below 500, writes no traceback or ERROR line (each log
line is also encoded as strict UTF-8, as a log file would), and every message it acknowledges
with a 200 is in the store afterwards (its inbound record, committed by the turn). Hypothesis
runs derandomized (the same examples on every run) with no example database, so nothing is
written into the repository; the example counts are bounded to keep the file well under 60 s.

The first tests pin the findings one by one (lone surrogates, an empty Twilio user, a store
that acknowledged and then dropped), on SQLite and on a real redis-server.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.base import InboundKind, InboundMessage
from bot.channels.fields import ADDRESS_PATTERN
from bot.channels.twilio import compute_signature, parse_message
from bot.channels.whatsapp import parse_webhook, sign
from bot.channels.whatsapp.signature import SIGNATURE_HEADER as META_SIGNATURE
from bot.sessions.redis import RedisStore
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionStore
from bot.web.keys import TASKS
from tests.fakes import cloud_payloads as cp
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.redis_server import RedisServer
from tests.web.conftest import TWILIO_NUMBER, WebApp

APP_SECRET = "fuzz-app-secret"
WA_PATH = "/webhook/whatsapp"
TW_PATH = "/webhook/twilio"
TW_STATUS_PATH = "/webhook/twilio/status"
USER = "5491155550001"


@pytest.fixture
def extra_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Signed Cloud API webhooks; on Redis when the test is parametrized with ``"redis"``."""
    env = {"WHATSAPP_APP_SECRET": APP_SECRET}
    if getattr(request, "param", "sqlite") == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        env["DATABASE_URL"] = server.url
    return env


BACKENDS = pytest.mark.parametrize("extra_env", ["sqlite", "redis"], indirect=True)


class StrictLog(logging.Handler):
    """Keeps every record, formatted (traceback included) and encoded as strict UTF-8."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.lines.append(line)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            self.bad.append(ascii(line[:200]))
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in line:
            self.bad.append(ascii(line[:2000]))


@pytest.fixture
def strict_log() -> Iterator[StrictLog]:
    handler = StrictLog()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    assert handler.bad == [], "\n".join(handler.bad)


async def stored(webapp: WebApp, channel: str, provider_id: str) -> bool:
    """Whether the turn of inbound ``provider_id`` was committed (its inbound record)."""
    store = webapp.runtime.store
    if isinstance(store, RedisStore):
        return bool(await store.redis.exists(f"inbound:done:{channel}:{provider_id}"))
    with sqlite3.connect(webapp.settings.sqlite_path()) as conn:
        row = conn.execute(
            "SELECT 1 FROM messages WHERE direction='in' AND channel=? AND provider_id=?",
            (channel, provider_id),
        ).fetchone()
    return row is not None


async def settle(webapp: WebApp) -> None:
    """Wait for the background turns the webhooks started (bounded; none is left behind)."""
    await webapp.client.app[TASKS].drain(timeout_s=30)
    await webapp.runtime.engine.recover()


async def post_meta(webapp: WebApp, raw: bytes) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", META_SIGNATURE: sign(APP_SECRET, raw)}
    async with webapp.client.post(WA_PATH, data=raw, headers=headers) as response:
        return response.status, await response.text()


async def post_twilio(webapp: WebApp, path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST ``form`` URL-encoded (UTF-8) as Twilio does, signed with the auth token."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": compute_signature(AUTH_TOKEN, webapp.url(path), form.items()),
    }
    data = urlencode(list(form.items())).encode("ascii")
    async with webapp.client.post(path, data=data, headers=headers) as response:
        return response.status, await response.text()


async def check_acknowledged(webapp: WebApp, tally: Tally, message: InboundMessage) -> None:
    """A message answered 200: stored, from a real user, in text every layer can hold."""
    assert await stored(webapp, message.channel, message.message_id), message
    assert ADDRESS_PATTERN.fullmatch(message.user_id), message
    assert ADDRESS_PATTERN.fullmatch(message.bot_id), message
    json.dumps(message.to_json(), ensure_ascii=False).encode("utf-8")  # strict
    tally.acknowledged += 1


def ascii_json(body: dict[str, Any]) -> bytes:
    """JSON with non-ASCII as ``\\u`` escapes: how a lone surrogate travels (as ``\\ud800``)."""
    return json.dumps(body).encode()


# --- the findings, one by one -------------------------------------------------------------


@BACKENDS
@pytest.mark.parametrize(
    ("text", "name", "expected_text"),
    [("hola \ud800", "Ana", "hola \ufffd"), ("hola", "Ana\udfff", "hola")],
)
async def test_a_lone_surrogate_in_text_or_name_is_stored_as_the_replacement_character(
    webapp: WebApp, strict_log: StrictLog, text: str, name: str, expected_text: str
) -> None:
    """Was a 500 on SQLite (Meta redelivers for days) and, on Redis, a 200 then a message
    dropped with no record."""
    value = cp.text_message(text, name=name, wamid="wamid.surrogate1")

    assert await post_meta(webapp, ascii_json(cp.envelope(value))) == (200, "OK")
    await settle(webapp)

    assert await stored(webapp, "whatsapp", "wamid.surrogate1")
    status, body = await webapp.admin("GET", f"/v1/sessions?user={USER}")
    assert status == 200 and body["total"] == 1
    session = body["sessions"][0]
    assert session["display_name"] == name.replace("\udfff", "\ufffd")
    status, detail = await webapp.admin("GET", f"/v1/sessions/{session['id']}")
    inbound = [m for m in detail["messages"] if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == [expected_text]


@BACKENDS
async def test_a_lone_surrogate_in_from_is_a_400_and_nothing_is_stored(
    webapp: WebApp, strict_log: StrictLog
) -> None:
    value = cp.text_message("hola", wa_id=USER + "\ud800", wamid="wamid.surrogate2")

    status, reason = await post_meta(webapp, ascii_json(cp.envelope(value)))

    assert status == 400
    assert "messages[0].from is not a valid address (character '\\\\ufffd' not allowed)" in reason
    await settle(webapp)
    assert not await stored(webapp, "whatsapp", "wamid.surrogate2")
    assert (await webapp.admin("GET", "/v1/sessions"))[1]["total"] == 0


def twilio_form(
    sender: str, to: str, body: str = "hola", sid: str = "SM" + "1" * 32
) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }


@pytest.mark.parametrize(
    ("sender", "to", "reason"),
    [
        ("whatsapp:", f"whatsapp:{TWILIO_NUMBER}", "From is not a valid address (empty)"),
        ("", TWILIO_NUMBER, "missing Twilio parameter(s): From"),
        (f"whatsapp:+{USER}", "whatsapp:", "To is not a valid address (empty)"),
        ("+54 911", TWILIO_NUMBER, "From is not a valid address (character ' ' not allowed)"),
    ],
)
async def test_twilio_without_a_user_is_a_400_and_opens_no_session(
    webapp: WebApp, strict_log: StrictLog, sender: str, to: str, reason: str
) -> None:
    """``From=whatsapp:`` (signed) used to open a session with an empty user id."""
    status, text = await post_twilio(webapp, TW_PATH, twilio_form(sender, to))

    assert status == 400
    assert reason in text
    await settle(webapp)
    assert (await webapp.admin("GET", "/v1/sessions"))[1]["total"] == 0


@pytest.fixture(params=["sqlite", "redis"])
async def bare_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    store: SessionStore
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "bot.db")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        store = RedisStore(server.url)
    await store.open()
    yield store
    await store.close()


async def test_a_store_refuses_at_enqueue_what_it_could_not_commit(
    bare_store: SessionStore,
) -> None:
    """Redis queued text it could not write later (a lone surrogate, escaped by a lenient
    JSON fallback): the webhook said 200, the turn failed and the message was dropped. Both
    stores must fail before the answer instead, and queue nothing."""
    message = InboundMessage(
        channel="whatsapp",
        bot_id="123",
        user_id=USER,
        message_id="wamid.unwritable",
        kind=InboundKind.TEXT,
        text="\ud800",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )

    with pytest.raises(TypeError):
        await bare_store.enqueue_inbound(message)

    assert await bare_store.inbox_keys(10) == []


# --- the fuzz suite -----------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\ud800",
    "\udfff",
    "a\ud83d",
    "\ud83d\ude00",
    "\x00",
    "\x1b[31mred\r\nINFO forged line",
    "\u202eevil\u200b\ufeff",
    "e\u0301\u0301\u0301",
    "١٢٣٤",
    "😀" * 50,
    "hola " * 2000,
    "null",
    "wamid.dup",
    USER,
    "whatsapp:",
    "whatsapp:+" + USER,
]
odd_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=20),
    st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=3).map("".join),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Mn", "Zs"]), max_size=8),
)
junk_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=6,
)

_ids = itertools.count(1)


def _wamid() -> str:
    return f"wamid.fuzz{next(_ids)}"


META_KINDS: list[Callable[[], dict[str, Any]]] = [
    lambda: cp.text_message("hola, quiero una prueba", wamid=_wamid()),
    lambda: cp.interactive_reply("opt_yes", "Sí", wamid=_wamid()),
    lambda: cp.interactive_reply("row_2", "Plan", list_reply=True, description="d", wamid=_wamid()),
    lambda: cp.button_reply("Sí", wamid=_wamid()),
    lambda: cp.image_message(caption="foto", wamid=_wamid()),
    lambda: cp.location_message(place_name="Casa", address="Calle 1", wamid=_wamid()),
    lambda: cp.contacts_message(wamid=_wamid()),
    lambda: cp.reaction_message("wamid.previous", wamid=_wamid()),
    lambda: cp.system_message(wamid=_wamid()),
    lambda: cp.unsupported_message(wamid=_wamid()),
    lambda: cp.status_update(_wamid(), "delivered"),
    lambda: cp.status_update(_wamid(), "failed", error_code=131047),
]


def _locations(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON tree, parents before children."""
    found: list[tuple[Any, Any]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, child in list(items):
            found.append((current, key))
            if isinstance(child, dict | list):
                stack.append(child)
    return found


@st.composite
def meta_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A full webhook body of 1-3 values of any kind, maybe across several entries, then 0-4
    random mutations: a field dropped, replaced by junk JSON or an odd string, junk added, a
    message duplicated (same id) in its list."""
    values = [draw(st.sampled_from(META_KINDS))() for _ in range(draw(st.integers(1, 3)))]
    if len(values) > 1 and draw(st.booleans()):
        body = cp.envelope(values[0])
        body["entry"].extend(cp.envelope(v)["entry"][0] for v in values[1:])
    else:
        body = cp.envelope(*values)
    for _ in range(draw(st.integers(0, 4))):
        where = _locations(body)
        if not where:
            break
        parent, key = where[draw(st.integers(0, len(where) - 1))]
        action = draw(st.sampled_from(["drop", "junk", "odd", "add", "duplicate"]))
        if action == "drop":
            del parent[key]
        elif action == "junk":
            parent[key] = draw(junk_json)
        elif action == "odd":
            parent[key] = draw(odd_text)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(odd_text)] = draw(junk_json)
        elif action == "add":
            parent.insert(draw(st.integers(0, len(parent))), draw(junk_json))
        else:
            lists = [v["messages"] for v in _values(body) if isinstance(v.get("messages"), list)]
            if lists and lists[0]:
                lists[0].append(copy.deepcopy(lists[0][0]))
    return body


def _values(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``entry[].changes[].value`` object left in a (mutated) body."""
    entries = body.get("entry")
    found = []
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                found.append(change["value"])
    return found


@dataclass
class Tally:
    """What a fuzz run sent and checked, printed at its end (the README's figures)."""

    name: str
    payloads: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    acknowledged: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)

    def count(self, status: int) -> None:
        self.payloads += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def line(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items()))
        return (
            f"fuzz {self.name}: {self.payloads} payloads ({statuses}); "
            f"{self.acknowledged} messages acknowledged with 200 and checked in the store"
        )


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    record = Tally(request.node.name)
    yield record
    print(record.line())
    assert record.acknowledged >= record.payloads // 5, "too few messages got through"


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


async def check_meta(webapp: WebApp, tally: Tally, body: dict[str, Any], as_ascii: bool) -> None:
    try:
        raw = json.dumps(body, ensure_ascii=as_ascii).encode()
    except UnicodeEncodeError:  # a raw surrogate: only its escape can travel
        raw = json.dumps(body).encode()
    status, text = await post_meta(webapp, raw)
    tally.count(status)
    assert status < 500, text
    if status != 200:
        assert 400 <= status < 500 and json.loads(text)["error"], text
        return
    await settle(webapp)
    for message in parse_webhook(raw).messages:
        await check_acknowledged(webapp, tally, message)


@settings(FUZZ, max_examples=1500)
@given(body=meta_bodies(), as_ascii=st.booleans())
async def test_fuzzed_meta_payloads_on_sqlite(
    webapp: WebApp, strict_log: StrictLog, tally: Tally, body: dict[str, Any], as_ascii: bool
) -> None:
    await check_meta(webapp, tally, body, as_ascii)


@pytest.mark.parametrize("extra_env", ["redis"], indirect=True)
@settings(FUZZ, max_examples=300)
@given(body=meta_bodies(), as_ascii=st.booleans())
async def test_fuzzed_meta_payloads_on_redis(
    webapp: WebApp, strict_log: StrictLog, tally: Tally, body: dict[str, Any], as_ascii: bool
) -> None:
    await check_meta(webapp, tally, body, as_ascii)


_sids = itertools.count(1)

TWILIO_KINDS: list[Callable[[], tuple[str, dict[str, str]]]] = [
    lambda: (TW_PATH, twilio_form(f"+{USER}", TWILIO_NUMBER, sid=f"SM{next(_sids):032x}")),
    lambda: (
        TW_PATH,
        {
            **twilio_form(
                f"whatsapp:+{USER}", f"whatsapp:{TWILIO_NUMBER}", sid=f"SM{next(_sids):032x}"
            ),
            "ProfileName": "Ana",
            "WaId": USER,
        },
    ),
    lambda: (
        TW_PATH,
        {
            **twilio_form(
                f"whatsapp:+{USER}", f"whatsapp:{TWILIO_NUMBER}", "", f"SM{next(_sids):032x}"
            ),
            "ButtonText": "Sí",
            "ButtonPayload": "opt_yes",
        },
    ),
    lambda: (
        TW_PATH,
        {
            **twilio_form(f"+{USER}", TWILIO_NUMBER, "", f"SM{next(_sids):032x}"),
            "Latitude": "-34.6",
            "Longitude": "-58.4",
        },
    ),
    lambda: (
        TW_PATH,
        {
            **twilio_form(f"+{USER}", TWILIO_NUMBER, "", f"SM{next(_sids):032x}"),
            "NumMedia": "1",
            "MediaUrl0": "https://example.com/a.jpg",
            "MediaContentType0": "image/jpeg",
        },
    ),
    lambda: (
        TW_STATUS_PATH,
        {
            "MessageSid": f"SM{next(_sids):032x}",
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
            "From": f"whatsapp:{TWILIO_NUMBER}",
            "To": f"whatsapp:+{USER}",
        },
    ),
]
form_text = odd_text.map(lambda s: s.encode("utf-8", "replace").decode())  # a form is UTF-8


@st.composite
def twilio_requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A message or status form of any kind, then 0-4 mutations: a field dropped, replaced by
    an odd string, a junk field added, the ``MessageSid`` of an earlier request reused."""
    path, form = draw(st.sampled_from(TWILIO_KINDS))()
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["drop", "odd", "add", "duplicate"]))
        name = draw(st.sampled_from(sorted(form))) if form else "From"
        if action == "drop":
            form.pop(name, None)
        elif action == "odd":
            form[name] = draw(form_text)
        elif action == "add":
            form[draw(form_text)] = draw(form_text)
        else:
            form["MessageSid"] = f"SM{draw(st.integers(1, 8)):032x}"
    return path, form


async def check_twilio(webapp: WebApp, tally: Tally, path: str, form: dict[str, str]) -> None:
    status, text = await post_twilio(webapp, path, form)
    tally.count(status)
    assert status < 500, text
    if status >= 300:
        assert 400 <= status < 500 and json.loads(text)["error"], text
        return
    if path != TW_PATH:
        return
    await settle(webapp)
    await check_acknowledged(webapp, tally, parse_message(form, webapp.clock()))


@settings(FUZZ, max_examples=800)
@given(sent=twilio_requests())
async def test_fuzzed_twilio_forms_on_sqlite(
    webapp: WebApp, strict_log: StrictLog, tally: Tally, sent: tuple[str, dict[str, str]]
) -> None:
    await check_twilio(webapp, tally, *sent)


@pytest.mark.parametrize("extra_env", ["redis"], indirect=True)
@settings(FUZZ, max_examples=200)
@given(sent=twilio_requests())
async def test_fuzzed_twilio_forms_on_redis(
    webapp: WebApp, strict_log: StrictLog, tally: Tally, sent: tuple[str, dict[str, str]]
) -> None:
    await check_twilio(webapp, tally, *sent)
