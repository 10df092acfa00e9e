"""parse_webhook: Meta's webhook payloads become InboundMessage / StatusUpdate."""

from __future__ import annotations

import json
import logging
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


@pytest.mark.parametrize("missing", ["id", "from"])
def test_message_missing_id_or_from_is_skipped_not_fatal(
    missing: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = cp.text_message("bad", wa_id="5491155550001")
    del bad["messages"][0][missing]

    with caplog.at_level(logging.WARNING, logger="bot.channels.whatsapp.payload"):
        batch = parse(bad, cp.text_message("good"))

    assert [m.text for m in batch.messages] == ["good"]
    assert f"skipping message without '{missing}'" in caplog.text
    assert "5491155550001" not in caplog.text


def test_changes_with_another_field_are_ignored() -> None:
    body = cp.envelope(cp.text_message("kept"))
    body["entry"][0]["changes"].insert(
        0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    batch = parse_webhook(json.dumps(body).encode())
    assert [m.text for m in batch.messages] == ["kept"]


def test_malformed_items_inside_the_envelope_are_skipped() -> None:
    no_metadata = cp.text_message("no bot id")
    del no_metadata["metadata"]
    body = cp.envelope(no_metadata, cp.text_message("kept"))
    body["entry"][0]["changes"].append({"field": "messages", "value": "nonsense"})
    body["entry"][0]["changes"].append("nonsense")
    body["entry"].extend([{"id": "1"}, "nonsense", {"changes": {"not": "a list"}}])
    kept = cp.text_message("also kept")
    kept["messages"].insert(0, "nonsense")
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
