"""Builds the conversation engine and its parts from :class:`~bot.config.Settings`.

Shared by ``bot serve`` (with the WhatsApp sender) and ``bot chat`` (with a terminal sender),
so both run exactly the same engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.base import OutboundSender
from bot.clock import Clock
from bot.config import Settings
from bot.engine import Behaviour, Engine
from bot.flows import FlowRunner, load_flows
from bot.flows.model import Flow
from bot.intents import IntentClassifier
from bot.locales import Locales
from bot.outbox import Outbox
from bot.sessions.locks import KeyedLock
from bot.sessions.service import SessionService
from bot.sessions.store import SessionStore
from bot.sessions.sweeper import Sweeper


@dataclass(frozen=True, slots=True)
class Content:
    """The authors' data, loaded and cross-checked: locales, intents, flows."""

    locales: Locales
    classifier: IntentClassifier
    flows: Mapping[str, Flow]


def load_content(settings: Settings) -> Content:
    """Load ``locales/``, ``intents/`` and ``flows/`` for ``settings.languages``.

    Raises:
        DataFileError: A file is invalid (``file:line: problem``).
    """
    locales = Locales.load(settings.locales_dir, settings.languages, settings.default_language)
    classifier = IntentClassifier.from_directory(
        settings.intents_dir, settings.languages, threshold=settings.intent_threshold
    )
    flows = load_flows(settings.flows_dir, locales, classifier.intents)
    return Content(locales=locales, classifier=classifier, flows=flows)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The running parts, sharing one store, one set of user locks and one clock."""

    store: SessionStore
    engine: Engine
    sweeper: Sweeper
    outbox: Outbox
    content: Content


def build_runtime(
    settings: Settings,
    content: Content,
    store: SessionStore,
    senders: Mapping[str, OutboundSender],
    clock: Clock,
) -> Runtime:
    """Assemble the engine, outbox and sweeper around an (opened) ``store``."""
    locks = KeyedLock()
    service = SessionService(content.locales, settings.session_timeout_s)
    outbox = Outbox(store, senders)
    engine = Engine(
        store=store,
        service=service,
        classifier=content.classifier,
        runner=FlowRunner(content.flows, content.locales),
        outbox=outbox,
        locks=locks,
        clock=clock,
        behaviour=Behaviour(settings.welcome_on_greet, settings.fallback),
    )
    sweeper = Sweeper(store, service, outbox, locks, clock, interval_s=settings.sweep_interval_s)
    return Runtime(store=store, engine=engine, sweeper=sweeper, outbox=outbox, content=content)
