"""Decode once, at the edge: request bodies, forms and header bytes turned into valid values,
or a :class:`~bot.errors.BadRequest` with a reason (never a 500 for what a client sent).

- :func:`read_body`: the raw body; a body that cannot be read (bad ``Content-Encoding``,
  broken chunked encoding, the client gone before ``Content-Length`` bytes came) is a 400.
- :func:`read_form`: an ``application/x-www-form-urlencoded`` body in UTF-8 (the only shape
  Twilio posts): another media type or charset is a 415; bytes or percent-escapes that are not
  UTF-8 (lone surrogates included) are a 400. Fields are parsed as aiohttp's
  ``request.post()`` parses them, so signatures computed over them do not change.
- :func:`header_bytes`: a header value back as the bytes the client sent (aiohttp decodes
  header bytes as UTF-8 with ``surrogateescape``, so a raw ``\\xff`` is the lone
  surrogate ``\\udcff`` that ``str.encode()`` refuses).
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from bot.errors import BadRequest

FORM_TYPE = "application/x-www-form-urlencoded"


async def read_body(request: web.Request) -> bytes:
    """The request's whole body (at most the app's ``client_max_size``).

    Raises:
        BadRequest: 400 when the body cannot be read (undecodable ``Content-Encoding``, broken
            chunked encoding, connection closed before the announced length).
        web.HTTPRequestEntityTooLarge: 413 over ``client_max_size``.
    """
    try:
        return await request.read()
    except web.RequestPayloadError as exc:
        raise BadRequest(f"the request body could not be read: {_last_line(exc)}") from None
    except ConnectionResetError:
        raise BadRequest("the request body was cut short (connection closed)") from None


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The request's URL-encoded form fields, in order, decoded strictly as UTF-8.

    Raises:
        BadRequest: 415 for another media type (multipart included) or a charset other than
            UTF-8; 400 for a body or a percent-escape that is not UTF-8, or an unreadable body.
    """
    if request.content_type != FORM_TYPE:
        raise BadRequest(
            f"Content-Type must be {FORM_TYPE}, got {request.content_type!r}", status=415
        )
    charset = request.charset
    if charset is not None and _codec_name(charset) != "utf-8":
        raise BadRequest(f"charset must be utf-8, got {charset!r}", status=415)
    body = await read_body(request)
    try:
        text = body.rstrip().decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the form is not valid UTF-8") from None
    except ValueError as exc:  # max_num_fields and the like
        raise BadRequest(f"the form cannot be parsed: {exc}") from None
    return MultiDictProxy(MultiDict(pairs))


def header_bytes(value: str) -> bytes:
    """A header value as the bytes received (never raises, whatever the client sent)."""
    return value.encode("utf-8", errors="surrogateescape")


def _codec_name(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):  # unknown, or not even ASCII (a raw byte)
        return None


def _last_line(exc: BaseException) -> str:
    """aiohttp's payload errors read ``"400, message:\\n  <what went wrong>"``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
