"""Builds the conversation engine and its parts from :class:`~bot.config.Settings`.

Shared by ``bot serve`` (with the WhatsApp sender) and ``bot chat`` (with a terminal sender),
so both run exactly the same engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.channels.base import OutboundSender
from bot.clock import Clock
from bot.config import Settings, read_environment
from bot.content import Content, Snapshot
from bot.delivery.outbox import Outbox
from bot.engine import Behaviour, Engine
from bot.flows import FlowRunner, load_flows
from bot.flows.actions import Actions
from bot.flows.email_action import SmtpMailer
from bot.intents import IntentClassifier
from bot.locales import Locales
from bot.metrics import NO_METRICS, Metrics
from bot.sessions.service import SessionService
from bot.sessions.store import SessionStore
from bot.sessions.sweeper import Sweeper

__all__ = ["Content", "Runtime", "build_runtime", "load_content", "mail_actions"]


def build_classifier(settings: Settings, train: bool = True) -> IntentClassifier:
    """The intent classifier the settings describe (intent files, languages, threshold, the
    semantic layer and its training sets, cache folder): the one `bot serve`, `bot
    classify` and `bot eval` use. With ``train`` false, a head the cache does not hold is
    not trained (``IntentClassifier.head_pending``).

    Raises:
        DataFileError: An intent file is invalid (``file:line: problem``).
    """
    return IntentClassifier.from_directory(
        settings.intents_dir,
        settings.languages,
        threshold=settings.intent_threshold,
        learned=settings.intents_learned,
        training_sets=settings.intents_training,
        cache_dir=settings.cache_dir,
        train=train,
    )


def load_content(
    settings: Settings, env: Mapping[str, str] | None = None, train: bool = True
) -> Content:
    """Load ``locales/``, ``intents/`` and ``flows/`` for ``settings.languages``.

    Args:
        env: Values for ``${VAR}`` in flow files, as :func:`~bot.config.read_environment`
            gives them (default: that of the process, without a ``.env`` file).
        train: See :func:`build_classifier`.

    Raises:
        DataFileError: A locale or intent file is invalid (``file:line: problem``).
        InvalidFlows: The flow files have problems (all of them, ``file:line:column``).
    """
    locales = Locales.load(settings.locales_dir, settings.languages, settings.default_language)
    classifier = build_classifier(settings, train)
    if env is None:
        env = read_environment(None)
    flows = load_flows(settings.flows_dir, locales, classifier.intents, env)
    return Content(locales=locales, classifier=classifier, flows=flows)


@dataclass(slots=True)
class Runtime:
    """The running parts, sharing one store, one set of user locks and one clock.

    The content they serve is the engine's snapshot (:attr:`Engine.content`), read by the
    sweeper too; ``snapshot`` builds the snapshot of new content (see :meth:`reload`)."""

    store: SessionStore
    engine: Engine
    sweeper: Sweeper
    outbox: Outbox
    snapshot: Callable[[Content, Snapshot | None], Snapshot]

    @property
    def content(self) -> Content:
        """The content served now."""
        return self.engine.content.content

    def reload(self, content: Content) -> None:
        """Serve ``content`` from now on (hot reload): one assignment of a new snapshot, so a
        turn that is waiting on the store or an action finishes with the snapshot it started
        with, and the next turn reads the new one. Conversations in a flow keep the flow
        version they started with (the new runner keeps the earlier versions)."""
        self.engine.content = self.snapshot(content, self.engine.content)


def mail_actions(settings: Settings) -> Actions:
    """Real flow actions; ``email`` sends through ``SMTP_URL`` when it is set."""
    if settings.smtp is None:
        return Actions()
    return Actions(mailer=SmtpMailer(settings.smtp), sender=settings.smtp.sender)


def build_runtime(
    settings: Settings,
    content: Content,
    store: SessionStore,
    senders: Mapping[str, OutboundSender],
    clock: Clock,
    metrics: Metrics = NO_METRICS,
    actions: Actions | None = None,
) -> Runtime:
    """Assemble the engine, outbox and sweeper around an (opened) ``store``; all three report
    to ``metrics``. ``actions`` runs flow actions (default: real HTTP; ``bot test`` scripts
    it)."""
    locks = store.user_locks()
    if actions is None:
        actions = mail_actions(settings)

    def snapshot(content: Content, earlier: Snapshot | None) -> Snapshot:
        runner = FlowRunner(
            content.flows,
            content.locales,
            actions,
            clock,
            earlier=earlier.runner if earlier is not None else None,
        )
        service = SessionService(
            content.locales,
            settings.session_timeout_s,
            notify_timeout=settings.notify_timeout,
            warn_before_s=settings.warn_before_min * 60 if settings.warn_before_min else None,
            policy=runner,
            handoff_timeout_s=settings.handoff_timeout_min * 60.0,
        )
        return Snapshot(content=content, runner=runner, service=service)

    outbox = Outbox(
        store,
        senders,
        metrics,
        clock=clock,
        settings=settings.delivery,
        default_language=settings.default_language,
    )
    engine = Engine(
        store=store,
        content=snapshot(content, None),
        outbox=outbox,
        locks=locks,
        clock=clock,
        behaviour=Behaviour(settings.welcome_on_greet, settings.fallback),
        metrics=metrics,
    )
    sweeper = Sweeper(
        store,
        lambda: engine.content.service,
        outbox,
        locks,
        clock,
        interval_s=settings.sweep_interval_s,
        metrics=metrics,
    )
    return Runtime(store=store, engine=engine, sweeper=sweeper, outbox=outbox, snapshot=snapshot)
