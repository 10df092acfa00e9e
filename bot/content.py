"""The authors' content (locales, intents, flows) and the frozen snapshot a turn reads.

:class:`Content` is what the data files hold, loaded and cross-checked. A :class:`Snapshot` is
one version of it together with the parts built on it: the flow runner serving its flows (and,
for conversations still in them, every flow version served before) and the session rules
writing its notices. The engine holds one snapshot and reads it once at the start of each
turn, so a hot reload, which replaces the snapshot in one assignment, never mixes two versions
inside a turn (see :meth:`bot.wiring.Runtime.reload`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.flows.model import Flow
from bot.flows.runner import FlowRunner
from bot.intents import IntentClassifier
from bot.locales import Locales
from bot.sessions.service import SessionService


@dataclass(frozen=True, slots=True)
class Content:
    """The authors' data, loaded and cross-checked: locales, intents, flows."""

    locales: Locales
    classifier: IntentClassifier
    flows: Mapping[str, Flow]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One version of the content and the parts that read it; never changed once built.

    Attributes:
        content: The authors' data of this version.
        runner: Runs the flows of ``content`` (and earlier versions, for the conversations
            that started in them).
        service: The session rules, writing notices with the texts of ``content``.
    """

    content: Content
    runner: FlowRunner
    service: SessionService

    @property
    def locales(self) -> Locales:
        """The texts of this version."""
        return self.content.locales

    @property
    def classifier(self) -> IntentClassifier:
        """The intent classifier of this version."""
        return self.content.classifier
