"""The OpenAPI 3.1 document of the operators' API, served at ``GET /v1/openapi.json``.

Made of the limits the handlers in :mod:`bot.web.admin` check (:mod:`.limits`), the shapes they
answer (:mod:`.schemas`) and their operations (:mod:`.paths`); a test checks that it is a valid
OpenAPI document and that every ``/v1`` route is in it, and schemathesis that the app keeps to
it.
"""

from __future__ import annotations

from typing import Any

from bot import __version__
from bot.web.openapi.handoff import handoff_paths, handoff_schemas
from bot.web.openapi.paths import paths
from bot.web.openapi.schemas import schemas


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a new dict on every call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "whatsapp-intent-bot operators' API",
            "version": __version__,
            "description": "Sessions, history, manual closes, handoffs to a person and "
            "statistics. Every call but this document needs "
            "`Authorization: Bearer $ADMIN_TOKEN`. Errors are "
            '`{"error": reason}` with 400 (bad input), 401 (token), 404 (unknown id) or '
            "409 (session closed; a handoff call on another agent's session, with `agent`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**schemas(), **handoff_schemas()},
        },
        "paths": {**paths(), **handoff_paths()},
    }
