"""Provider errors, classified as Meta's and Twilio's documentation describe them."""

from __future__ import annotations

import pytest

from bot.delivery.errors import PAIR_RATE_MIN_S, Action, classify
from bot.errors import ChannelSendError


@pytest.mark.parametrize(
    ("channel", "status", "code", "action"),
    [
        # Meta: throttling of the number or the app
        ("whatsapp", 400, 130429, Action.THROTTLE),
        ("whatsapp", 400, 80007, Action.THROTTLE),
        ("whatsapp", 400, 4, Action.THROTTLE),
        ("whatsapp", 429, None, Action.THROTTLE),
        # Meta: too many messages to one user (also when it comes as HTTP 429)
        ("whatsapp", 400, 131056, Action.USER_BACKOFF),
        ("whatsapp", 429, 131056, Action.USER_BACKOFF),
        # transient
        ("whatsapp", 503, 2, Action.RETRY),
        ("whatsapp", 500, 131000, Action.RETRY),
        ("whatsapp", 500, None, Action.RETRY),
        ("whatsapp", None, None, Action.RETRY),  # timeout, connection refused
        # permanent
        ("whatsapp", 400, 131047, Action.PERMANENT),  # outside the 24-hour window
        ("whatsapp", 400, 131026, Action.PERMANENT),  # undeliverable
        ("whatsapp", 400, 100, Action.PERMANENT),  # invalid parameter (e.g. the recipient)
        ("whatsapp", 400, 133010, Action.PERMANENT),  # number not registered
        ("whatsapp", 400, None, Action.PERMANENT),
        ("whatsapp", 401, 190, Action.CREDENTIALS),  # access token expired
        ("whatsapp", 401, None, Action.CREDENTIALS),
        # Twilio
        ("sms", 429, 20429, Action.THROTTLE),
        ("twilio_whatsapp", 400, 63018, Action.THROTTLE),
        ("sms", 503, 20503, Action.RETRY),
        ("sms", None, None, Action.RETRY),
        ("sms", 400, 21211, Action.PERMANENT),  # invalid 'To'
        ("sms", 400, 21610, Action.PERMANENT),  # unsubscribed recipient
        ("twilio_whatsapp", 400, 63016, Action.PERMANENT),  # outside the window
        ("sms", 401, 20003, Action.CREDENTIALS),
    ],
)
def test_each_documented_error_gets_its_action(
    channel: str, status: int | None, code: int | None, action: Action
) -> None:
    assert classify(channel, ChannelSendError(status, code, "x")).action is action


def test_the_providers_retry_after_is_the_shortest_wait() -> None:
    verdict = classify("whatsapp", ChannelSendError(429, None, "slow down", retry_after_s=30))
    assert (verdict.action, verdict.min_delay_s) == (Action.THROTTLE, 30)
    assert classify("whatsapp", ChannelSendError(503, None, "x")).min_delay_s == 0


def test_the_pair_rate_limit_waits_at_least_six_seconds() -> None:
    assert classify("whatsapp", ChannelSendError(400, 131056, "x")).min_delay_s == PAIR_RATE_MIN_S
    longer = ChannelSendError(429, 131056, "x", retry_after_s=60)
    assert classify("whatsapp", longer).min_delay_s == 60


def test_only_transient_errors_are_retried() -> None:
    assert {a for a in Action if a.retried} == {
        Action.RETRY,
        Action.THROTTLE,
        Action.USER_BACKOFF,
    }
