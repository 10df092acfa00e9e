"""What ``bot serve`` needs beyond what ``bot chat`` needs: the WhatsApp tokens, unless the
deployment is the sandbox or Twilio only."""

from __future__ import annotations

from bot.config_model import Settings
from bot.config_values import is_are, it_them
from bot.errors import ConfigError


def require_serve_settings(settings: Settings) -> None:
    """Check what ``bot serve`` needs beyond what ``bot chat`` needs.

    A deployment on Twilio only (``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` set, no
    ``WHATSAPP_*`` token) serves without the Cloud API channel. The sandbox
    (``WHATSAPP_API_URL=sandbox``) needs no WhatsApp token: nothing is sent to Meta.

    Raises:
        ConfigError: ``WHATSAPP_ACCESS_TOKEN`` and/or ``WHATSAPP_VERIFY_TOKEN`` is missing (one
            error naming every missing one, so one run shows them all).
    """
    wa = settings.whatsapp
    if wa.sandbox:
        return
    if settings.twilio.enabled and not (wa.access_token or wa.verify_token):
        return
    missing = [
        name
        for name, value in (
            ("WHATSAPP_ACCESS_TOKEN", wa.access_token),
            ("WHATSAPP_VERIFY_TOKEN", wa.verify_token),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            ", ".join(missing),
            f"{is_are(missing)} not set (put {it_them(missing)} in .env or the environment; "
            "to serve Twilio only, without the WhatsApp Cloud API, set TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN instead)",
        )
