"""The ``email`` action's transport: one plain-text message through SMTP (``SMTP_URL``).

The message is built by :func:`build_message` (UTF-8, ``Content-Language`` set to the
reply language) and sent by :class:`SmtpMailer` with the standard library's ``smtplib`` in a
worker thread (the event loop never waits on the network), with a timeout on connecting and
on each command. A refused recipient, a login failure, a timeout or a network error raises
:class:`~bot.flows.http_action.ActionFailed`: the step's apology and ``on_error`` follow.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from bot.config import SmtpSettings
from bot.flows.http_action import ActionFailed

log = logging.getLogger(__name__)


class Mailer(Protocol):
    """What the ``email`` action needs: send one message."""

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the mail server.

        Raises:
            ActionFailed: The server did not accept it (the reason is for logs).
        """
        ...


def build_message(sender: str, to: str, subject: str, body: str, language: str) -> EmailMessage:
    """A plain-text UTF-8 message ``sender`` -> ``to`` in ``language``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message


class SmtpMailer:
    """:class:`Mailer` over ``smtplib`` in a worker thread.

    Args:
        settings: The server, its protection (plain, STARTTLS, TLS) and login.
        ssl_context: Certificates to trust (default: the system's; tests pass their own).
    """

    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.sender = settings.sender
        self._ssl = ssl_context

    async def send(self, message: EmailMessage) -> None:
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            await asyncio.to_thread(self._send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ActionFailed(f"SMTP {where} refused the recipient {message['To']}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise ActionFailed(f"SMTP {where} refused the login: {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {where} answered {exc.smtp_code}: {exc.smtp_error!r}"
            raise ActionFailed(reason) from exc
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            raise ActionFailed(f"SMTP {where} failed: {exc!r}") from exc
        log.info("email sent through %s", where)

    def _send(self, message: EmailMessage) -> None:
        settings = self.settings
        context = self._ssl or ssl.create_default_context()
        client: smtplib.SMTP
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)  # raises SMTPNotSupportedError if not offered
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message)
