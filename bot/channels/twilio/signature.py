"""Verify the ``X-Twilio-Signature`` header Twilio puts on every webhook request.

Twilio's documented algorithm (Twilio Docs, "Webhooks security", and its ``RequestValidator``):
take the full URL Twilio requested (scheme, host, path and query string); for a form POST,
sort the parameters by name (case-sensitive, code-point order) and append each name followed by
its value, with no separators (a repeated name contributes its distinct values, sorted); sign
the resulting UTF-8 string with HMAC-SHA1 keyed by the account's Auth Token; base64-encode the
digest. Because Twilio is not consistent about ports, the URL is tried without its port and
with it (the scheme's default when none is given), as Twilio's own validator does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature Twilio computes for a request to ``url`` with form ``params``.

    Args:
        auth_token: The account's Auth Token (UTF-8 encoded as the HMAC key).
        url: The full URL, query string included, exactly as Twilio requested it.
        params: The POST form fields as ``(name, value)`` pairs; empty for a GET.

    Returns:
        The base64 HMAC-SHA1 digest, as sent in ``X-Twilio-Signature``.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    # surrogatepass: a form value may hold a lone surrogate (see bot.channels.fields); it must
    # fail to verify, not raise.
    data = payload.encode("utf-8", "surrogatepass")
    digest = hmac.new(auth_token.encode("utf-8"), data, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], header_value: str | None
) -> bool:
    """Check ``header_value`` against the request, in constant time.

    Args:
        auth_token: The account's Auth Token; an empty token never verifies.
        url: The full public URL of the request (see :func:`public_url`).
        params: The POST form fields.
        header_value: The ``X-Twilio-Signature`` header, or ``None`` when absent.

    Returns:
        True when the header matches the URL without or with its port. Never raises.
    """
    if not auth_token or not header_value:
        return False
    pairs = list(params)
    given = header_value.strip().encode("ascii", errors="replace")
    return any(
        hmac.compare_digest(given, compute_signature(auth_token, candidate, pairs).encode("ascii"))
        for candidate in _port_variants(url)
    )


def public_url(request_url: str, public_base_url: str) -> str:
    """The URL Twilio called: ``public_base_url`` plus the request's path and query string.

    Args:
        request_url: The URL the service received (``scheme://host/path?query``).
        public_base_url: ``https://host[/prefix]`` as callers see the service (behind a proxy
            that rewrites host or scheme), or ``""`` to use ``request_url`` as it is.
    """
    if not public_base_url:
        return request_url
    parts = urlsplit(request_url)
    path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
    return public_base_url.rstrip("/") + path_qs


def _port_variants(url: str) -> list[str]:
    """``url`` without its port and with its port (the scheme's default when it has none),
    as Twilio's own ``RequestValidator`` tries them."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme)
    variants = [urlunsplit(parts._replace(netloc=host))]
    if port is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{port}")))
    return variants
