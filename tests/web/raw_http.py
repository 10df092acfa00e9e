"""A raw HTTP/1.1 client for hostile requests: the bytes are sent as given (aiohttp's own
client would normalize or refuse a bad ``Host``, a non-UTF-8 header byte or a broken body)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RawResponse:
    """A parsed answer: status, headers (names lower-cased, last one wins) and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> bytes:
    """One request, ``Connection: close``, with ``Content-Length`` set to ``len(body)`` unless
    ``headers`` already has one."""
    lines = [f"{method} {path} HTTP/1.1".encode()]
    names = {name.lower() for name, _ in headers}
    lines += [name + b": " + value for name, value in headers]
    if b"content-length" not in names and (body or method in ("POST", "PUT")):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    if b"connection" not in names:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def send_raw(port: int, data: bytes, timeout_s: float = TIMEOUT_S) -> RawResponse:
    """Send ``data`` to 127.0.0.1:``port`` and read the whole answer (the server closes).

    Raises:
        TimeoutError: No complete answer in ``timeout_s``.
        AssertionError: The answer is not an HTTP/1.x response.
    """
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port), timeout_s
    )
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1."), raw[:200]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return RawResponse(int(status_line.split()[1]), headers, body)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out
