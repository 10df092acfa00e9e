"""Hot reload: notice edited data files and swap in the new content, or keep the old one.

:class:`ContentWatcher` polls the ``mtime`` and size of every ``*.yaml``/``*.yml``/``*.csv``
under the watched folders (flows, intents, locales; pool files live there too). A change is
loaded once it has stayed the same for one poll (an editor's half-written save is not read),
in a worker thread so the event loop keeps answering. A valid load is applied; an invalid one
is logged, problem by problem (``file:line:column: message``), and the previous content keeps
serving. The same broken state is reported once, not at every poll.

Polling (about once a second) rather than inotify keeps this dependency-free, works on network
and container file systems alike, and is testable without sleeping: tests call :meth:`check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from bot.errors import BotError
from bot.flows.problems import InvalidFlows

log = logging.getLogger(__name__)

RELOAD_INTERVAL_S = 1.0
"""How often ``bot serve`` looks for edited flows, intents and locales."""
WATCHED_SUFFIXES = frozenset({".yaml", ".yml", ".csv"})

T = TypeVar("T")
Signature = dict[str, tuple[int, int]]


class ContentWatcher(Generic[T]):
    """Reloads content when files under ``folders`` change.

    Args:
        folders: Folders to watch, recursively.
        load: Loads and validates everything (runs in a thread); raises a ``BotError``
            (:class:`~bot.flows.InvalidFlows`, ``DataFileError``) when something is invalid.
        apply: Swaps the loaded content in (runs on the event loop).
        interval_s: Seconds between two polls in :meth:`run`.
    """

    def __init__(
        self,
        folders: Iterable[Path],
        load: Callable[[], T],
        apply: Callable[[T], None],
        interval_s: float = RELOAD_INTERVAL_S,
    ) -> None:
        self.folders = tuple(folders)
        self.interval_s = interval_s
        self._load = load
        self._apply = apply
        self._seen = self.signature()
        self._candidate: Signature | None = None

    def signature(self) -> Signature:
        """``{path: (mtime_ns, size)}`` of every watched file."""
        found: Signature = {}
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                if path.suffix in WATCHED_SUFFIXES and path.is_file():
                    try:
                        stat = path.stat()
                    except OSError:  # removed while walking
                        continue
                    found[str(path)] = (stat.st_mtime_ns, stat.st_size)
        return found

    async def check(self) -> bool | None:
        """Poll once.

        Returns:
            ``True`` when new content was applied, ``False`` when an edit was rejected,
            ``None`` when there was nothing (yet) to load.
        """
        current = await asyncio.to_thread(self.signature)
        if current == self._seen:
            self._candidate = None
            return None
        if current != self._candidate:  # wait until the files stay the same for one poll
            self._candidate = current
            return None
        self._candidate = None
        self._seen = current
        try:
            content = await asyncio.to_thread(self._load)
        except InvalidFlows as exc:
            count = len(exc.problems)
            log.error(
                "reload rejected (%d problem%s); still serving the previous version",
                count,
                "" if count == 1 else "s",
            )
            for problem in exc.problems:
                log.error("%s", problem)
            return False
        except BotError as exc:
            log.error("reload rejected; still serving the previous version: %s", exc)
            return False
        self._apply(content)
        log.info("reloaded flows, intents and locales")
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # a watcher must not die: log and poll again
                log.exception("content watcher failed; retrying in %.1f s", self.interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
