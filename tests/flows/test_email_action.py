"""The ``email`` action end to end: the free-trial flow against a local SMTP server (aiosmtpd on
127.0.0.1), with STARTTLS and a login, without ``SMTP_URL``, and with a server that refuses."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from bot.config import SmtpSettings, load_settings
from bot.errors import ConfigError
from bot.flows import FlowRunner
from bot.flows.actions import Actions
from bot.flows.email_action import SmtpMailer
from bot.sessions.model import Session as BotSession
from bot.wiring import Content, mail_actions
from tests.conftest import REPO
from tests.flows.test_runner import NOW, after, session, texts


@dataclass
class Inbox:
    """An aiosmtpd handler keeping what it accepted; ``refuse`` answers RCPT with 550."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def sign_up(r: FlowRunner, lang: str, email: str, plan: str) -> tuple[list[str], BotSession]:
    """Walk the free-trial flow to its end; return the last turn's replies and the session."""
    s = session(lang)
    flow = r.flows["free_trial"]
    turn = await r.start(flow, s)
    s = after(s, turn)
    for answer in ("Ana Pérez", email, plan):
        turn = await r.answer(s, answer)
        s = after(s, turn)
    assert turn.end_reason == "credentials_delivered"
    return texts(turn), s


def runner_with(content: Content, actions: Actions) -> FlowRunner:
    return FlowRunner(content.flows, content.locales, actions, clock=lambda: NOW)


@pytest.mark.parametrize(
    ("lang", "subject", "greeting", "said"),
    [
        ("en", "Your free trial of the Pro plan", "Hi Ana Pérez,", "We also sent them to"),
        ("es", "Tu prueba gratis del plan Pro", "Hola, Ana Pérez:", "También te las enviamos a"),
    ],
)
async def test_the_credentials_arrive_by_email_in_the_users_language(
    content: Content, inbox: tuple[Inbox, int], lang: str, subject: str, greeting: str, said: str
) -> None:
    server, port = inbox
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="trials@example.com")
    r = runner_with(content, Actions(mailer=SmtpMailer(settings), sender=settings.sender))
    replies, s = await sign_up(r, lang, "ana@example.com", "the 2nd")
    assert len(server.messages) == 1
    mail = server.messages[0]
    assert server.recipients == [["ana@example.com"]]
    assert (mail["To"], mail["From"], mail["Subject"]) == (
        "ana@example.com",
        "trials@example.com",
        subject,
    )
    assert mail["Content-Language"] == lang
    body = mail.get_content()
    assert body.startswith(greeting)
    assert s.data["username"] in body and s.data["password"] in body
    assert s.data["email_sent"] is True
    assert said in replies[0] and "ana@example.com" in replies[0]


async def test_without_smtp_url_nothing_is_sent_and_the_text_does_not_claim_it(
    content: Content, repo_settings: Any
) -> None:
    assert repo_settings.smtp is None
    r = runner_with(content, mail_actions(repo_settings))
    replies, s = await sign_up(r, "en", "ana@example.com", "pro")
    assert s.data["email_sent"] is False
    assert s.data["password"] in replies[0]
    assert "sent" not in replies[0] and "ana@example.com" not in replies[0]


async def test_a_refused_email_apologizes_and_still_shows_the_credentials(
    content: Content, inbox: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    server, port = inbox
    server.refuse = True
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="trials@example.com")
    r = runner_with(content, Actions(mailer=SmtpMailer(settings), sender=settings.sender))
    replies, s = await sign_up(r, "en", "ana@example.com", "pro")
    assert server.messages == []
    assert replies[0] == "I couldn't send the email to ana@example.com, but here are your details."
    assert s.data["password"] in replies[1] and "sent them" not in replies[1]
    assert "refused the recipient ana@example.com" in caplog.text


async def test_an_unreachable_server_is_a_failed_action(content: Content) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender="t@example.com")
    r = runner_with(content, Actions(mailer=SmtpMailer(settings), sender=settings.sender))
    replies, _ = await sign_up(r, "es", "ana@example.com", "pro")
    assert replies[0].startswith("No pude enviarte el correo a ana@example.com")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_starttls_and_login(content: Content, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
    )
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="starttls",
            username="bot@example.com",
            password="s3cret",
            sender="bot@example.com",
        )
        mailer = SmtpMailer(settings, ssl.create_default_context(cafile=str(cert)))
        r = runner_with(content, Actions(mailer=mailer, sender=settings.sender))
        await sign_up(r, "en", "ana@example.com", "pro")
    finally:
        controller.stop()
    assert logins == [(b"bot@example.com", b"s3cret")]
    assert [m["To"] for m in handler.messages] == ["ana@example.com"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://127.0.0.1:2525",
            SmtpSettings("127.0.0.1", 2525, "plain", "", "", "bot@127.0.0.1"),
        ),
        (
            "smtps://bot%40example.com:p%40ss@mail.example.com",
            SmtpSettings(
                "mail.example.com", 465, "tls", "bot@example.com", "p@ss", "bot@example.com"
            ),
        ),
        (
            "smtp+starttls://u:p@mail.example.com?from=trials@example.com",
            SmtpSettings("mail.example.com", 587, "starttls", "u", "p", "trials@example.com"),
        ),
    ],
)
def test_smtp_url_is_read_into_settings(url: str, expected: SmtpSettings) -> None:
    settings = load_settings(REPO / "config.yaml", {"SMTP_URL": url})
    assert settings.smtp == expected
    assert "p@ss" not in repr(settings) and ":p@" not in repr(settings)


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtp://h:99999", "smtp://h?form=x@y.z"]
)
def test_a_bad_smtp_url_names_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(REPO / "config.yaml", {"SMTP_URL": url})
    assert caught.value.setting == "SMTP_URL"
