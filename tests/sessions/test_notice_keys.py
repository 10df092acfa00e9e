"""Every close notice comes out of :class:`SessionService` with its locale key set, so the
outbox can pick the template sent outside the 24-hour window; callers choose no key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sessions.model import CloseReason, Session, SessionKey, Status
from bot.sessions.service import SessionService
from bot.wiring import Content

NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
KEY = SessionKey("whatsapp", "bot", "5490000000000")


class FlowTimeout:
    """A flow with its own timeout message."""

    def timeout_s(self, session: Session) -> float | None:
        return None

    def timeout_notice(self, session: Session) -> str | None:
        return "the flow's own goodbye"


def started(service: SessionService) -> Session:
    session = service.new_session(KEY, NOW, None)
    session.language = "es"
    return session


@pytest.mark.parametrize(
    ("status", "reason", "key"),
    [
        (Status.COMPLETED, CloseReason.GOODBYE, "close.goodbye"),
        (Status.CANCELLED, CloseReason.CANCEL, "close.cancel"),
        (Status.COMPLETED, "order_placed", "close.order_placed"),
        (Status.COMPLETED, "a_reason_without_text", "close.completed"),
        (Status.CANCELLED, "operator", "close.cancelled"),
    ],
)
def test_a_close_returns_its_notice_keyed(
    content: Content, status: Status, reason: str, key: str
) -> None:
    service = SessionService(content.locales, 1800)
    notice = service.close(started(service), status, reason, NOW)
    assert notice is not None
    assert notice.notice == key
    assert notice.text == content.locales.text("es", key, {})


def test_a_timeout_is_keyed_close_timeout_even_with_the_flows_own_text(
    content: Content,
) -> None:
    service = SessionService(content.locales, 1800, policy=FlowTimeout())
    notice = service.expire(started(service), NOW)
    assert notice is not None
    assert (notice.text, notice.notice) == ("the flow's own goodbye", "close.timeout")


def test_an_opt_out_closes_silently(content: Content) -> None:
    service = SessionService(content.locales, 1800)
    session = started(service)
    notice = service.close(session, Status.CANCELLED, CloseReason.OPTED_OUT, NOW, notify=False)
    assert notice is None
    assert session.status is Status.CANCELLED


def test_the_warning_is_keyed(content: Content) -> None:
    service = SessionService(content.locales, 1800, warn_before_s=300)
    assert service.warn(started(service), NOW).notice == "session.warning"
