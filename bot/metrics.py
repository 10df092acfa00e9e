"""Metrics hooks and their Prometheus implementation (``prometheus-client``).

The engine, the outbox, the sweeper and the web layer call the hooks of a :class:`Metrics`
object; the base class does nothing, so unit tests and ``bot chat`` need no registry.
``bot serve`` passes a :class:`PrometheusMetrics` with its own ``CollectorRegistry`` (never the
process-wide default one), so several apps can live in one process, and serves it at
``/metrics`` in the Prometheus text format.

Series (all counters end in ``_total`` in the exposition):

- ``bot_inbound_messages_total{channel, kind}``: inbound messages processed (``kind``: ``text``,
  ``interactive``, ``media``, ...).
- ``bot_outbound_messages_total{channel, kind}``: outbound messages the provider accepted.
- ``bot_send_errors_total{channel, code}``: refused or failed send attempts (``code``: the
  provider's error code, ``none`` for a network error or timeout).
- ``bot_send_retries_total{channel, code}``: refused sends scheduled to be tried again.
- ``bot_outbound_failed_total{channel, code}``: messages given up (a permanent error, or out of
  attempts), recorded ``failed`` with that code.
- ``bot_outbound_skipped_total{channel, reason}``: messages not sent (``window``: outside the
  user's 24-hour window, without a template).
- ``bot_outbound_interrupted_total{channel, outcome}``: sends a dead process left in flight,
  by how they were settled (``settled_by_status``: the provider's status webhook named them,
  not sent again; ``resent``: no status within ``DELIVERY_INTERRUPTED_GRACE_SECONDS``).
- ``bot_outbound_delay_seconds{channel, priority}``: histogram of the time from storing a
  message to the provider accepting it (``priority``: ``reply`` or ``bulk``).
- ``bot_intents_total{intent}``: classification results (``none`` when nothing matched).
- ``bot_sessions_opened_total{channel}`` and ``bot_sessions_closed_total{channel, status, reason}``.
- ``bot_sweeper_lag_seconds``: at the last sweep, how long the oldest due session had been due.
- ``bot_webhook_latency_seconds{route, status}``: histogram of webhook handling time.
- ``bot_handoffs_total{channel, reason, flow, step}``: sessions handed to a person, by reason
  and the flow and step they came from (``none`` outside a flow).
- ``bot_handoff_first_reply_seconds{channel}``: histogram of the time from a handoff to the
  first agent message stored for the user.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""``Content-Type`` of :meth:`PrometheusMetrics.render` (the client's text exposition format)."""

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds, in seconds, of the webhook latency histogram."""

FIRST_REPLY_BUCKETS_S = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0)
"""Upper bounds, in seconds, of the time-to-first-agent-reply histogram (up to a day)."""

DELAY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
"""Upper bounds, in seconds, of the outbound delay histogram (pacing and retries included)."""


class Metrics:
    """The hooks, as no-ops. Subclass and override to record them."""

    def inbound(self, channel: str, kind: str) -> None:
        """An inbound message of ``kind`` on ``channel`` was processed."""

    def outbound(self, channel: str, kind: str) -> None:
        """The provider accepted an outbound message of ``kind`` on ``channel``."""

    def send_error(self, channel: str, code: int | None) -> None:
        """A send on ``channel`` failed with provider error ``code`` (``None``: no answer)."""

    def send_retry(self, channel: str, code: int | None) -> None:
        """A send refused with ``code`` on ``channel`` will be tried again."""

    def send_failed(self, channel: str, code: int | None) -> None:
        """An outbound message on ``channel`` was given up, recorded failed with ``code``."""

    def send_skipped(self, channel: str, reason: str) -> None:
        """An outbound message on ``channel`` was not sent, for ``reason`` (``window``)."""

    def send_interrupted(self, channel: str, outcome: str) -> None:
        """A send a dead process left in flight was settled: ``settled_by_status`` or
        ``resent``."""

    def outbound_delay(self, channel: str, priority: str, seconds: float) -> None:
        """A message of ``priority`` was accepted ``seconds`` after it was stored."""

    def intent(self, name: str) -> None:
        """The classifier returned intent ``name``."""

    def session_opened(self, channel: str) -> None:
        """A session started on ``channel``."""

    def session_closed(self, channel: str, status: str, reason: str) -> None:
        """A session on ``channel`` closed with ``status`` and ``reason``."""

    def sweeper_lag(self, lag_s: float) -> None:
        """At a sweep, the oldest due session had been due for ``lag_s`` seconds (0: none)."""

    def webhook_latency(self, route: str, status: int, seconds: float) -> None:
        """A webhook request to ``route`` was answered ``status`` after ``seconds``."""

    def cleanup_failed(self) -> None:
        """A retention cleanup run failed."""

    def handed_off(self, channel: str, reason: str, flow: str | None, step: str | None) -> None:
        """A session on ``channel`` was handed to a person for ``reason``, from ``flow`` and
        ``step`` (``None`` outside a flow)."""

    def agent_first_reply(self, channel: str, seconds: float) -> None:
        """An agent's first message to a handed-off user was stored ``seconds`` after the
        handoff."""


NO_METRICS = Metrics()
"""The default: records nothing."""


class PrometheusMetrics(Metrics):
    """Records the hooks in a ``CollectorRegistry`` of its own.

    Args:
        registry: Where the series live; a new, private registry when omitted.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self._inbound = Counter(
            "bot_inbound_messages", "Inbound messages processed.", ["channel", "kind"], registry=r
        )
        self._outbound = Counter(
            "bot_outbound_messages",
            "Outbound messages accepted by the provider.",
            ["channel", "kind"],
            registry=r,
        )
        self._send_errors = Counter(
            "bot_send_errors",
            "Failed sends by provider error code.",
            ["channel", "code"],
            registry=r,
        )
        self._retries = Counter(
            "bot_send_retries",
            "Refused sends scheduled to be tried again, by provider error code.",
            ["channel", "code"],
            registry=r,
        )
        self._failed = Counter(
            "bot_outbound_failed",
            "Outbound messages given up, by provider error code.",
            ["channel", "code"],
            registry=r,
        )
        self._skipped = Counter(
            "bot_outbound_skipped",
            "Outbound messages not sent, by reason.",
            ["channel", "reason"],
            registry=r,
        )
        self._interrupted = Counter(
            "bot_outbound_interrupted",
            "Sends a dead process left in flight, by how they were settled.",
            ["channel", "outcome"],
            registry=r,
        )
        self._delay = Histogram(
            "bot_outbound_delay_seconds",
            "Time from storing an outbound message to the provider accepting it.",
            ["channel", "priority"],
            buckets=DELAY_BUCKETS_S,
            registry=r,
        )
        self._intents = Counter("bot_intents", "Classified intents.", ["intent"], registry=r)
        self._opened = Counter("bot_sessions_opened", "Sessions started.", ["channel"], registry=r)
        self._closed = Counter(
            "bot_sessions_closed",
            "Sessions closed, by status and reason.",
            ["channel", "status", "reason"],
            registry=r,
        )
        self._lag = Gauge(
            "bot_sweeper_lag_seconds",
            "How long the oldest due session had been due at the last sweep.",
            registry=r,
        )
        self._cleanup_failures = Counter(
            "bot_cleanup_failures", "Retention cleanup runs that failed.", registry=r
        )
        self._handoffs = Counter(
            "bot_handoffs",
            "Sessions handed to a person, by reason and the flow and step they came from.",
            ["channel", "reason", "flow", "step"],
            registry=r,
        )
        self._first_reply = Histogram(
            "bot_handoff_first_reply_seconds",
            "Time from a handoff to the first agent message.",
            ["channel"],
            buckets=FIRST_REPLY_BUCKETS_S,
            registry=r,
        )
        self._latency = Histogram(
            "bot_webhook_latency_seconds",
            "Time to answer a webhook request.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered (``labels`` checks its arguments each call;
        several series are touched on every message)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def inbound(self, channel: str, kind: str) -> None:
        self._child(self._inbound, channel, kind).inc()

    def outbound(self, channel: str, kind: str) -> None:
        self._child(self._outbound, channel, kind).inc()

    def send_error(self, channel: str, code: int | None) -> None:
        self._child(self._send_errors, channel, "none" if code is None else str(code)).inc()

    def send_retry(self, channel: str, code: int | None) -> None:
        self._child(self._retries, channel, "none" if code is None else str(code)).inc()

    def send_failed(self, channel: str, code: int | None) -> None:
        self._child(self._failed, channel, "none" if code is None else str(code)).inc()

    def send_skipped(self, channel: str, reason: str) -> None:
        self._child(self._skipped, channel, reason).inc()

    def send_interrupted(self, channel: str, outcome: str) -> None:
        self._child(self._interrupted, channel, outcome).inc()

    def outbound_delay(self, channel: str, priority: str, seconds: float) -> None:
        self._child(self._delay, channel, priority).observe(max(0.0, seconds))

    def intent(self, name: str) -> None:
        self._child(self._intents, name).inc()

    def session_opened(self, channel: str) -> None:
        self._child(self._opened, channel).inc()

    def session_closed(self, channel: str, status: str, reason: str) -> None:
        self._child(self._closed, channel, status, reason).inc()

    def sweeper_lag(self, lag_s: float) -> None:
        self._lag.set(max(0.0, lag_s))

    def webhook_latency(self, route: str, status: int, seconds: float) -> None:
        self._child(self._latency, route, str(status)).observe(seconds)

    def cleanup_failed(self) -> None:
        self._cleanup_failures.inc()

    def handed_off(self, channel: str, reason: str, flow: str | None, step: str | None) -> None:
        self._child(self._handoffs, channel, reason, flow or "none", step or "none").inc()

    def agent_first_reply(self, channel: str, seconds: float) -> None:
        self._child(self._first_reply, channel).observe(max(0.0, seconds))

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format (see :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
