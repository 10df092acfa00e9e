"""bot.channels.fields: provider values decoded once into what every store and log can hold."""

from __future__ import annotations

import json

import pytest

from bot.channels.fields import address, provider_id, valid_json, valid_text
from bot.errors import BadRequest


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain ascii", "plain ascii"),
        ("ñandú 😀", "ñandú 😀"),
        ("\ud800", "\ufffd"),
        ("a\udc00b", "a\ufffdb"),
        ("\ud83d\ude00", "😀"),  # a pair held as two code points is the character it encodes
        ("\ude00\ud83d", "\ufffd\ufffd"),  # the wrong order is two broken characters
    ],
)
def test_valid_text(raw: str, expected: str) -> None:
    assert valid_text(raw) == expected
    valid_text(raw).encode("utf-8")


def test_valid_json_mends_every_string_keys_included() -> None:
    text = json.dumps({"k\ud800": ["\udfff", {"n": 1, "t": "\\ud800 kept"}], "ok": None})
    assert valid_json(text) == {"k\ufffd": ["\ufffd", {"n": 1, "t": "\\ud800 kept"}], "ok": None}


def test_valid_json_without_surrogate_escapes_is_parsed_once() -> None:
    assert valid_json('{"a": "\\u00e9\\\\ud800"}') == {"a": "é\\ud800"}


@pytest.mark.parametrize("value", ["5491155550001", "+5491155550001", "US.1349120865", "MyBrand"])
def test_addresses_that_are_accepted(value: str) -> None:
    assert address("From", value) == value


@pytest.mark.parametrize("value", ["", "+", "-1", "1 2", "1\n", "١٢٣", "1\ufffd", "1" * 65])
def test_addresses_that_are_refused(value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        address("From", value)
    assert caught.value.status == 400
    assert caught.value.reason.startswith("From is not a valid address (")


@pytest.mark.parametrize("value", ["", "wamid. x", "SM\x7f", "é", "x" * 257])
def test_provider_ids_that_are_refused(value: str) -> None:
    with pytest.raises(BadRequest, match="is not a valid message id"):
        provider_id("id", value)


def test_provider_ids_that_are_accepted() -> None:
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    assert provider_id("id", wamid) == wamid
