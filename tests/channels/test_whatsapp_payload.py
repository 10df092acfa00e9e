"""parse_webhook: Meta's webhook payloads become InboundMessage / StatusUpdate."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.channels.whatsapp import WebhookBatch, parse_webhook
from bot.errors import BadRequest
from tests.fakes import cloud_payloads as cp

FIXED_NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def parse(*values: dict[str, Any]) -> WebhookBatch:
    return parse_webhook(json.dumps(cp.envelope(*values)).encode(), now=lambda: FIXED_NOW)


def only_message(value: dict[str, Any]) -> InboundMessage:
    batch = parse(value)
    assert batch.statuses == []
    assert len(batch.messages) == 1
    return batch.messages[0]


def test_text_message_maps_every_field() -> None:
    sent_at = datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    value = cp.text_message(
        "¿Tienen otro color?",
        wa_id="16505551234",
        phone_number_id="106540352242922",
        wamid="wamid.ABC",
        name="Sheena Nelson",
        timestamp=sent_at,
    )

    assert only_message(value) == InboundMessage(
        channel="whatsapp",
        bot_id="106540352242922",
        user_id="16505551234",
        message_id="wamid.ABC",
        kind=InboundKind.TEXT,
        text="¿Tienen otro color?",
        timestamp=sent_at,
        payload=None,
        display_name="Sheena Nelson",
    )


def test_timestamp_is_aware_utc_from_unix_seconds_string() -> None:
    message = only_message(cp.text_message("hi", timestamp=1749416383))
    assert message.timestamp == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert message.timestamp.tzinfo is UTC


@pytest.mark.parametrize("raw", [None, "", "soon", "1e400", "nan", True, {"s": 1}])
def test_missing_or_bad_timestamp_falls_back_to_the_clock(raw: object) -> None:
    value = cp.text_message("hi", extra={"timestamp": raw})
    if raw is None:
        del value["messages"][0]["timestamp"]
    assert only_message(value).timestamp == FIXED_NOW


def test_button_reply_uses_title_as_text_and_id_as_payload() -> None:
    message = only_message(cp.interactive_reply("opt_yes", "Sí, claro"))
    assert (message.kind, message.text, message.payload) == (
        InboundKind.INTERACTIVE,
        "Sí, claro",
        "opt_yes",
    )


def test_list_reply_uses_title_as_text_and_id_as_payload() -> None:
    value = cp.interactive_reply("row_2", "Envío express", list_reply=True, description="24 h")
    message = only_message(value)
    assert (message.kind, message.text, message.payload) == (
        InboundKind.INTERACTIVE,
        "Envío express",
        "row_2",
    )


def test_interactive_of_another_type_is_unsupported() -> None:
    nfm = {"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": "{}"}}
    message = only_message(cp.message_value("interactive", nfm))
    assert (message.kind, message.text, message.payload) == (InboundKind.UNSUPPORTED, None, None)


def test_template_quick_reply_button_maps_text_and_payload() -> None:
    message = only_message(cp.button_reply("Stop promotions", payload="STOP_PROMO"))
    assert (message.kind, message.text, message.payload) == (
        InboundKind.BUTTON,
        "Stop promotions",
        "STOP_PROMO",
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (cp.image_message(caption="mirá"), InboundKind.MEDIA),
        (
            cp.message_value("audio", {"id": "1", "mime_type": "audio/ogg", "voice": True}),
            InboundKind.MEDIA,
        ),
        (cp.message_value("video", {"id": "1", "mime_type": "video/mp4"}), InboundKind.MEDIA),
        (cp.message_value("document", {"id": "1", "filename": "a.pdf"}), InboundKind.MEDIA),
        (cp.message_value("sticker", {"id": "1", "animated": False}), InboundKind.MEDIA),
        (cp.message_value("voice", {"id": "1"}), InboundKind.MEDIA),
        (
            cp.location_message(place_name="Obelisco", address="Av. 9 de Julio"),
            InboundKind.LOCATION,
        ),
        (cp.contacts_message(), InboundKind.CONTACTS),
        (cp.reaction_message("wamid.OLD"), InboundKind.REACTION),
        (cp.system_message(), InboundKind.SYSTEM),
        (cp.unsupported_message(), InboundKind.UNSUPPORTED),
        (cp.message_value("unknown", None), InboundKind.UNSUPPORTED),
        (
            cp.message_value("order", {"catalog_id": "1", "product_items": []}),
            InboundKind.UNSUPPORTED,
        ),
        (cp.message_value("text", {"no_body": True}), InboundKind.UNSUPPORTED),
    ],
    ids=lambda p: p if isinstance(p, InboundKind) else "",
)
def test_non_text_kinds_carry_no_text(value: dict[str, Any], kind: InboundKind) -> None:
    message = only_message(value)
    assert (message.kind, message.text, message.payload) == (kind, None, None)
    assert message.user_id == cp.DEFAULT_WA_ID


def test_message_without_type_is_unsupported() -> None:
    value = cp.text_message("hi")
    del value["messages"][0]["type"]
    assert only_message(value).kind is InboundKind.UNSUPPORTED


def test_display_name_comes_from_the_contact_matching_from() -> None:
    value = cp.text_message("hi", wa_id="111")
    value["contacts"] = [
        {"profile": {"name": "Someone Else"}, "wa_id": "999"},
        {"profile": {"name": "The Sender"}, "wa_id": "111"},
    ]
    assert only_message(value).display_name == "The Sender"


def test_display_name_falls_back_to_the_first_contact_then_none() -> None:
    value = cp.text_message("hi", wa_id="111")
    value["contacts"] = [{"profile": {"name": "Only Contact"}, "wa_id": "999"}]
    assert only_message(value).display_name == "Only Contact"
    assert only_message(cp.text_message("hi", name=None)).display_name is None


def test_order_is_kept_across_entries_changes_and_messages() -> None:
    first = cp.text_message("1")
    first["messages"].append(cp.text_message("2")["messages"][0])
    body = cp.envelope(first, cp.text_message("3", phone_number_id="222"))
    body["entry"].append(cp.envelope(cp.text_message("4"), cp.text_message("5"))["entry"][0])

    batch = parse_webhook(json.dumps(body).encode())

    assert [m.text for m in batch.messages] == ["1", "2", "3", "4", "5"]
    assert [m.bot_id for m in batch.messages] == [
        cp.DEFAULT_PHONE_NUMBER_ID,
        cp.DEFAULT_PHONE_NUMBER_ID,
        "222",
        cp.DEFAULT_PHONE_NUMBER_ID,
        cp.DEFAULT_PHONE_NUMBER_ID,
    ]


def test_messages_and_statuses_in_one_batch() -> None:
    batch = parse(
        cp.status_update("wamid.A", "sent"),
        cp.text_message("hola"),
        cp.status_update("wamid.B", "read"),
    )
    assert [m.text for m in batch.messages] == ["hola"]
    assert [(s.message_id, s.status) for s in batch.statuses] == [
        ("wamid.A", "sent"),
        ("wamid.B", "read"),
    ]


def test_delivered_status_maps_every_field() -> None:
    at = datetime(2025, 6, 8, 21, 0, tzinfo=UTC)
    value = cp.status_update(
        "wamid.OUT", "delivered", recipient_id="16505551234", phone_number_id="42", timestamp=at
    )
    (status,) = parse(value).statuses
    assert (status.channel, status.bot_id, status.message_id, status.status) == (
        "whatsapp",
        "42",
        "wamid.OUT",
        "delivered",
    )
    assert (status.recipient_id, status.timestamp) == ("16505551234", at)
    assert (status.error_code, status.error_title) == (None, None)


def test_failed_status_carries_the_first_error() -> None:
    value = cp.status_update(
        "wamid.OUT", "failed", error_code=131047, error_title="Re-engagement message"
    )
    value["statuses"][0]["errors"].append({"code": 1, "title": "second"})
    (status,) = parse(value).statuses
    assert (status.status, status.error_code, status.error_title) == (
        "failed",
        131047,
        "Re-engagement message",
    )


def test_status_without_id_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    bad = cp.status_update("wamid.X", "sent")
    del bad["statuses"][0]["id"]
    batch = parse(bad, cp.status_update("wamid.Y", "read"))
    assert [s.message_id for s in batch.statuses] == ["wamid.Y"]
    assert "skipping status" in caplog.text


@pytest.mark.parametrize(
    ("mutate", "reason_part"),
    [
        (lambda m: m.pop("id"), "messages[0].id must be a string (got nothing)"),
        (lambda m: m.pop("from"), "messages[0].from must be a string (got nothing)"),
        (lambda m: m.update({"from": ""}), "messages[0].from is not a valid address (empty)"),
        (lambda m: m.update({"from": 5491155550001}), "from must be a string (got int)"),
        (lambda m: m.update({"from": "549 11"}), "from is not a valid address (character ' '"),
        (lambda m: m.update({"from": "549\n11"}), "(character '\\n' not allowed)"),
        (lambda m: m.update({"from": "549\ud800"}), "(character '\\ufffd' not allowed)"),
        (lambda m: m.update({"from": "5" * 65}), "(65 characters, at most 64)"),
        (lambda m: m.update({"id": ""}), "messages[0].id is not a valid message id (empty)"),
        (lambda m: m.update({"id": "wamid.\x00"}), "(character '\\x00' not allowed)"),
    ],
)
def test_a_message_that_cannot_be_stored_is_a_400_naming_it(
    mutate: Callable[[dict[str, Any]], object], reason_part: str
) -> None:
    """A 200 would acknowledge a message that is then lost; the reason says which one and
    why, without the user's number."""
    bad = cp.text_message("bad", wa_id="5491155550001")
    mutate(bad["messages"][0])

    with pytest.raises(BadRequest) as caught:
        parse(cp.text_message("good"), bad)

    assert caught.value.status == 400
    assert caught.value.reason.startswith("entry[0].changes[1].value.messages[0].")
    assert reason_part in caught.value.reason
    assert "5491155550001" not in caught.value.reason


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        ({"messages": "nonsense"}, "value.messages must be a list (got str)"),
        ({"messages": ["nonsense"]}, "value.messages[0] must be an object (got str)"),
        (
            {"messages": [{"id": "wamid.A", "from": "1", "type": "text"}]},
            "value.metadata.phone_number_id is missing: messages need it",
        ),
    ],
)
def test_a_messages_list_that_cannot_be_stored_is_a_400(
    value: dict[str, Any], reason_part: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(value)
    assert reason_part in caught.value.reason


def _texts(message: InboundMessage) -> tuple[str | None, ...]:
    return (message.text, message.payload, message.display_name)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (cp.text_message("hola \ud800", name="Ana"), ("hola \ufffd", None, "Ana")),
        (
            cp.text_message("\udc00\ud83d\ude00\ud83d", name="Ana\udfff"),
            ("\ufffd\U0001f600\ufffd", None, "Ana\ufffd"),
        ),
        (cp.interactive_reply("opt\ud800", "S\ud800", name="A"), ("S\ufffd", "opt\ufffd", "A")),
        (cp.button_reply("B\udbff", "p\udbff", name="A"), ("B\ufffd", "p\ufffd", "A")),
    ],
)
def test_lone_surrogates_become_the_replacement_character(
    value: dict[str, Any], expected: tuple[str | None, ...]
) -> None:
    """JSON ``"\\ud800"`` decodes to a lone surrogate that no store or log can encode (a 500
    on SQLite, a message lost on Redis): it leaves the parser as U+FFFD, what a user sees for a
    broken character anywhere else."""
    body = json.dumps(cp.envelope(value)).encode()  # ASCII: surrogates as \u escapes
    assert b"\\ud" in body

    message = parse_webhook(body, now=lambda: FIXED_NOW).messages[0]

    assert _texts(message) == expected
    for text in _texts(message):
        (text or "").encode("utf-8")  # strict: raises on a surrogate


def test_an_escaped_backslash_before_u_is_not_a_surrogate() -> None:
    message = only_message(cp.text_message("C:\\ud800 and \u00e9"))
    assert message.text == "C:\\ud800 and \u00e9"


def test_changes_with_another_field_are_ignored() -> None:
    body = cp.envelope(cp.text_message("kept"))
    body["entry"][0]["changes"].insert(
        0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    batch = parse_webhook(json.dumps(body).encode())
    assert [m.text for m in batch.messages] == ["kept"]


def test_malformed_items_around_the_messages_are_skipped() -> None:
    no_metadata = cp.status_update("wamid.S", "read")
    del no_metadata["metadata"]
    body = cp.envelope(no_metadata, cp.text_message("kept"))
    body["entry"][0]["changes"].append({"field": "messages", "value": "nonsense"})
    body["entry"][0]["changes"].append("nonsense")
    body["entry"].extend([{"id": "1"}, "nonsense", {"changes": {"not": "a list"}}])
    kept = cp.text_message("also kept")
    kept["statuses"] = ["nonsense", {"status": "read"}]
    body["entry"].append(cp.envelope(kept)["entry"][0])

    batch = parse_webhook(json.dumps(body).encode())

    assert [m.text for m in batch.messages] == ["kept", "also kept"]


def test_empty_entry_list_gives_an_empty_batch() -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    assert parse_webhook(body) == WebhookBatch(messages=[], statuses=[])


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object (got list)"),
        (b'"text"', "must be a JSON object (got str)"),
        (b"[" * 100_000 + b"]" * 100_000, "not acceptable JSON"),
        (b'{"entry": []}', "'object' must be 'whatsapp_business_account' (missing)"),
        (b'{"object": "page", "entry": []}', "(got 'page')"),
        (b'{"object": "instagram", "entry": []}', "(got 'instagram')"),
        (b'{"object": "whatsapp_business_account"}', "'entry' must be a list (got nothing)"),
        (b'{"object": "whatsapp_business_account", "entry": {}}', "(got dict)"),
    ],
)
def test_bad_envelope_is_a_400_with_a_reason(body: bytes, reason_part: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_webhook(body)
    assert caught.value.status == 400
    assert reason_part in caught.value.reason
