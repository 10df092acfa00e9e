"""X-Twilio-Signature: our check agrees with Twilio's own ``RequestValidator``."""

from __future__ import annotations

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bot.channels.twilio import compute_signature, public_url, verify_signature

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_the_example_from_twilios_documentation() -> None:
    # Twilio Docs, "Webhooks security": this URL, these parameters and Auth Token 12345
    # sign as "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" (HMAC-SHA1, base64).
    assert compute_signature(TOKEN, URL, PARAMS.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (URL, PARAMS),
        ("https://bot.example.com/webhook/twilio", {"Body": "¿Hola? ñandú 👋", "b": "", "B": "x"}),
        ("http://127.0.0.1:8080/webhook/twilio/voice?turn=3", {"SpeechResult": "sí"}),
        ("https://bot.example.com/webhook/twilio", {}),
    ],
)
def test_signatures_match_the_official_twilio_library(url: str, params: dict[str, str]) -> None:
    expected = RequestValidator(TOKEN).compute_signature(url, params)
    assert compute_signature(TOKEN, url, params.items()) == expected
    assert verify_signature(TOKEN, url, params.items(), expected)


def test_repeated_parameters_are_sorted_like_the_official_library() -> None:
    params = MultiDict([("MediaUrl", "b"), ("MediaUrl", "a"), ("Body", "x")])
    expected = RequestValidator(TOKEN).compute_signature(URL, params)
    assert compute_signature(TOKEN, URL, params.items()) == expected


@pytest.mark.parametrize(
    ("signed", "received"),
    [
        ("https://bot.example.com:443/hook", "https://bot.example.com/hook"),
        ("https://bot.example.com/hook", "https://bot.example.com:443/hook"),
        ("http://bot.example.com/hook", "http://bot.example.com:8080/hook"),
    ],
)
def test_ports_are_tolerated_as_twilio_does(signed: str, received: str) -> None:
    signature = compute_signature(TOKEN, signed, PARAMS.items())
    assert verify_signature(TOKEN, received, PARAMS.items(), signature)


@pytest.mark.parametrize(
    ("token", "url", "params", "header"),
    [
        (TOKEN, URL, {**PARAMS, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        (TOKEN, URL.replace("foo=1", "foo=2"), PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ("other", URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ("", URL, PARAMS, compute_signature("", URL, PARAMS.items())),
        (TOKEN, URL, PARAMS, None),
        (TOKEN, URL, PARAMS, ""),
        (TOKEN, URL, PARAMS, "ñ-not-base64"),
        (TOKEN, URL, {**PARAMS, "Body": "\ud800"}, "bm90IGl0"),  # a lone surrogate in a value
        (TOKEN, URL + "&q=\udfff", PARAMS, "bm90IGl0"),
    ],
)
def test_wrong_or_missing_signatures_fail_without_raising(
    token: str, url: str, params: dict[str, str], header: str | None
) -> None:
    assert verify_signature(token, url, params.items(), header) is False


@pytest.mark.parametrize(
    ("request_url", "base", "expected"),
    [
        ("http://10.0.0.5:8080/webhook/twilio", "", "http://10.0.0.5:8080/webhook/twilio"),
        (
            "http://10.0.0.5:8080/webhook/twilio/voice?turn=2",
            "https://bot.example.com",
            "https://bot.example.com/webhook/twilio/voice?turn=2",
        ),
        (
            "http://127.0.0.1/webhook/twilio",
            "https://example.com/bot/",
            "https://example.com/bot/webhook/twilio",
        ),
    ],
)
def test_the_public_url_replaces_scheme_and_host(
    request_url: str, base: str, expected: str
) -> None:
    assert public_url(request_url, base) == expected
