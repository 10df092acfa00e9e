"""X-Hub-Signature-256: HMAC-SHA256 of the raw body, keyed by the app secret."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.channels.whatsapp import SIGNATURE_HEADER, sign, verify_signature
from tests.fakes.cloud_payloads import envelope, signed, text_message

SECRET = "app-secret-123"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_sign_matches_an_independent_hmac() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == f"sha256={expected}"


def test_valid_signature_verifies() -> None:
    assert verify_signature(SECRET, BODY, sign(SECRET, BODY))


def test_uppercase_hex_and_surrounding_spaces_verify() -> None:
    header = sign(SECRET, BODY)
    assert verify_signature(SECRET, BODY, f" sha256={header[7:].upper()} ")


def test_signed_payload_helper_produces_a_verifiable_header() -> None:
    raw, headers = signed(envelope(text_message("hola ñandú")), SECRET)
    assert headers["Content-Type"] == "application/json"
    assert verify_signature(SECRET, raw, headers[SIGNATURE_HEADER])


@pytest.mark.parametrize(
    ("secret", "body"),
    [("other-secret", BODY), (SECRET, BODY + b" "), (SECRET, b"")],
    ids=["wrong-secret", "body-changed", "body-empty"],
)
def test_signature_for_other_secret_or_body_is_rejected(secret: str, body: bytes) -> None:
    assert not verify_signature(secret, body, sign(SECRET, BODY))


def test_missing_header_is_rejected() -> None:
    assert not verify_signature(SECRET, BODY, None)


def test_empty_app_secret_never_verifies() -> None:
    assert not verify_signature("", BODY, sign("", BODY))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "SHA256=" + "0" * 64,
        sign(SECRET, BODY)[7:],  # hex without the prefix
        sign(SECRET, BODY)[:-1],  # one digit short
        sign(SECRET, BODY) + "0",  # one digit long
        "sha256=" + "g" * 64,
        "sha256=" + "٠" * 64,  # non-ASCII digits
    ],
)
def test_malformed_header_is_rejected(header: str) -> None:
    assert not verify_signature(SECRET, BODY, header)
