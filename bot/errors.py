"""One exception root for the service, with subclasses that carry context.

Everything the service raises on purpose derives from :class:`BotError`, so the web layer and
the CLI can turn it into a clear message (a 4xx with a reason, one line naming a setting, a
``file:line`` for a flow author) instead of a traceback.
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the service raises on purpose."""


class ConfigError(BotError):
    """A setting is missing or invalid.

    Attributes:
        setting: The setting's public name (environment variable or ``config.yaml`` path).
        problem: What is wrong with it, in words an operator understands.
    """

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class DataFileError(BotError):
    """A YAML data file (flow, intent or locale) is invalid.

    Attributes:
        path: The file, as given to the loader.
        line: 1-based line of the offending node, or ``None`` when unknown.
        column: 1-based column, or ``None`` when unknown.
        problem: What is wrong, in words a flow author understands.
    """

    def __init__(
        self, path: str, line: int | None, problem: str, column: int | None = None
    ) -> None:
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem


class FlowError(DataFileError):
    """A flow file is invalid (unknown step, missing locale key, bad validator, ...)."""


class BadRequest(BotError):
    """An inbound HTTP request cannot be accepted; ``reason`` is returned to the caller (4xx)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ChannelSendError(BotError):
    """An outbound send was refused or failed.

    Attributes:
        status: HTTP status of the provider's answer, or ``None`` for a network error/timeout.
        code: The provider's error code (Meta's ``error.code``, e.g. 131047), when given.
        detail: The provider's message, or a description of the network failure.
        retry_after_s: Seconds the provider asked to wait (HTTP ``Retry-After``), when given.
    """

    def __init__(
        self,
        status: int | None,
        code: int | None,
        detail: str,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"send failed (status={status}, code={code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after_s = retry_after_s
