"""schemathesis against ``/v1/openapi.json`` of a real server on 127.0.0.1 (the app on an
aiohttp ``AppRunner`` in a thread, SQLite, with a few sessions in it), with the admin token.

Every default check runs (``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``, ``response_headers_conformance``,
``negative_data_rejection``, ``positive_data_acceptance``, ``missing_required_header``,
``unsupported_method`` with ``Allow``, ``ignored_auth``, ...) over the examples, coverage and
fuzzing phases, bounded to :data:`MAX_EXAMPLES` generated cases per operation and mode. The
module prints how many operations and requests it ran.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from schemathesis.engine import Status, events, from_schema

from bot.channels.base import InboundKind, InboundMessage
from bot.web.app import create_app
from bot.web.keys import RUNTIME
from bot.web.openapi import document
from bot.wiring import Content
from tests.web.conftest import ADMIN_TOKEN, WA_BOT, web_settings

MAX_EXAMPLES = 25
"""Generated cases per operation (and generation mode) in the fuzzing phase."""
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
SEED = 13
"""Fixed, so a CI run is repeatable."""
USERS = ("5491100000001", "5491100000002")

class _ServerThread:
    """The app served on 127.0.0.1 (a free port) by its own event loop in a thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def start(self) -> None:
        self.thread.start()
        self.run(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.run(site.start())
        self.port = self.runner.addresses[0][1]

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _seed(app: web.Application) -> None:
    """A few sessions with history, so listings and details have content to check."""
    runtime = app[RUNTIME]
    for n, user in enumerate(USERS):
        for text in ("hola", "quiero una prueba"):
            await runtime.engine.handle(
                InboundMessage(
                    channel="whatsapp",
                    bot_id=WA_BOT,
                    user_id=user,
                    message_id=f"wamid.seed{n}{text}",
                    kind=InboundKind.TEXT,
                    text=text,
                    timestamp=runtime.engine.clock(),
                )
            )


@pytest.fixture
def server(tmp_path: Path, content: Content) -> Iterator[str]:
    # Providers at a closed port: replies fail and stay in the history as such.
    settings = web_settings(tmp_path, "http://127.0.0.1:9/v21.0", "http://127.0.0.1:9")
    thread = _ServerThread(create_app(settings, content))
    thread.start()
    thread.run(_seed(thread.app))
    yield f"http://127.0.0.1:{thread.port}"
    thread.stop()


# schemathesis' own coverage strategies draw from `random` (a Hypothesis deprecation warning,
# which our warnings-as-errors setting would turn into a flaky generation error); not our code.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_the_admin_api_keeps_its_openapi_document(server: str) -> None:
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
            "generation": {"max-examples": MAX_EXAMPLES},
            "seed": SEED,
        }
    )
    api = schemathesis.openapi.from_url(f"{server}/v1/openapi.json", config=config)
    failures: list[str] = []
    requests: Counter[str] = Counter()
    for event in from_schema(api).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, interaction in event.recorder.interactions.items():
                requests[event.recorder.label] += 1
                for check in event.recorder.checks.get(case_id, []):
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        request = interaction.request
                        failures.append(
                            f"{event.recorder.label} [{check.name}] {failure.title}: "
                            f"{failure.message} <- {request.method} {request.uri}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event!r}")
    operations = {label for label in requests if label.split(" ")[0] in _METHODS}
    print(  # the figure the README quotes
        f"\nschemathesis: {len(operations)} operations, {sum(requests.values())} requests"
    )
    assert not failures, "\n".join(dict.fromkeys(failures))
    declared = {f"{m.upper()} {p}" for p, item in document()["paths"].items() for m in item}
    # schemathesis does not call the operation that serves the document it runs from.
    assert operations == declared - {"GET /v1/openapi.json"}
