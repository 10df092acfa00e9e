"""Actions a step runs when entered: ``deliver_credentials``, ``http`` and ``email``.

Each returns the slots to set; a failure raises :class:`ActionFailed`, which the runner turns
into the step's localized apology and its ``on_error`` outcome. I/O goes through an injectable
:class:`~bot.flows.http_action.HttpClient` and :class:`~bot.flows.email_action.Mailer`, so
``bot test`` scripts replies and unit tests use local fake servers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import templates
from bot.flows import credentials
from bot.flows.checks import EMAIL_SENT
from bot.flows.email_action import Mailer, build_message
from bot.flows.http_action import ActionFailed, AiohttpClient, HttpClient, pick
from bot.flows.model import (
    Action,
    CredentialsAction,
    EmailAction,
    HandoffAction,
    HttpAction,
    Text,
)
from bot.flows.slots import parse_email

__all__ = ["ActionContext", "ActionFailed", "Actions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Who and where an action runs for; becomes the body of HTTP calls.

    Attributes:
        session_id: The session (also the ``Idempotency-Key`` prefix and the pool claim owner).
        user_id: The user's channel id (WhatsApp wa_id).
        flow_id, step_id: The step running the action.
        language: The reply language.
        data: The session data so far.
        render: Writes a flow text in ``language`` with ``data`` (the ``email`` action's
            subject and body); given by the runner.
    """

    session_id: str
    user_id: str
    flow_id: str
    step_id: str
    language: str
    data: Mapping[str, Any]
    render: Callable[[Text], str] | None = field(default=None, compare=False)

    def body(self) -> dict[str, Any]:
        """The JSON body POSTed by ``http`` actions and the ``http`` credentials provider."""
        return {
            "session_id": self.session_id,
            "user": self.user_id,
            "flow": self.flow_id,
            "step": self.step_id,
            "language": self.language,
            "data": dict(self.data),
        }


class Actions:
    """Runs actions.

    Args:
        http: The HTTP transport (default: aiohttp with retries).
        state_dir: Where credential-pool claims are kept (default: next to each pool file).
        mailer: Sends the ``email`` action's messages; ``None`` (no ``SMTP_URL``): nothing is
            sent and ``email_sent`` is false.
        sender: The ``From`` address of those messages.
    """

    def __init__(
        self,
        http: HttpClient | None = None,
        state_dir: Path | None = None,
        mailer: Mailer | None = None,
        sender: str = "",
    ) -> None:
        self.http: HttpClient = http or AiohttpClient()
        self.state_dir = state_dir
        self.mailer = mailer
        self.sender = sender

    async def run(self, action: Action, context: ActionContext) -> dict[str, Any]:
        """Run ``action``; return the slots it sets.

        Raises:
            ActionFailed: The action could not complete (the reason is for logs).
        """
        if isinstance(action, HttpAction):
            answer = await self.http.post_json(action.call, context.body(), self._key(context))
            return {slot: pick(answer, path) for slot, path in action.call.save.items()}
        if isinstance(action, EmailAction):
            return await self._email(action, context)
        if isinstance(action, HandoffAction):  # the runner hands off; it never runs here
            return {}
        return await self._credentials(action, context)

    async def _email(self, action: EmailAction, context: ActionContext) -> dict[str, Any]:
        if self.mailer is None:
            log.info("%s/%s: no SMTP_URL, email not sent", context.flow_id, context.step_id)
            return {EMAIL_SENT: False}
        if context.render is None:
            raise ActionFailed("the email action needs the runner's texts")
        to = parse_email(templates.render(action.to, context.data, context.language))
        if to is None:
            raise ActionFailed(f"{action.to!r} is not an email address in this session")
        message = build_message(
            self.sender,
            to,
            " ".join(context.render(action.subject).split()),  # one line: no header injection
            context.render(action.body),
            context.language,
        )
        await self.mailer.send(message)
        return {EMAIL_SENT: True}

    async def _credentials(
        self, action: CredentialsAction, context: ActionContext
    ) -> dict[str, Any]:
        if action.provider == "pool":
            assert action.pool_file is not None
            return await credentials.claim(
                action.pool, action.pool_file, context.session_id, self.state_dir
            )
        if action.provider == "http":
            assert action.http is not None
            answer = await self.http.post_json(action.http, context.body(), self._key(context))
            pair = {name: answer.get(name) for name in ("username", "password")}
            if not all(isinstance(v, str) and v for v in pair.values()):
                raise ActionFailed(
                    f"POST {action.http.url} did not answer a username and a password"
                )
            return pair
        return credentials.generate(context.data)

    @staticmethod
    def _key(context: ActionContext) -> str:
        return f"{context.session_id}:{context.flow_id}:{context.step_id}"
