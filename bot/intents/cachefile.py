"""Files of the classifier's disk cache: written so that no reader sees half of one, pruned
to the newest few, and quick to unpickle (:class:`PickledAsFields`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar


class PickledAsFields:
    """Mixin for a frozen, slotted dataclass the models pickle holds by the ten thousand
    (:class:`~bot.intents.data.Phrase`, :class:`~bot.intents.matches.Entry`): pickled as
    its constructor's arguments, so unpickling calls the constructor instead of the
    dataclasses' generic ``__setstate__``, which looks up the fields again for every object
    (about 0.3 s of a start on a slow core for 46,000 of them)."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]  # set by @dataclass on the subclass

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """``(class, field values in declaration order)``."""
        return type(self), tuple(getattr(self, name) for name in self.__dataclass_fields__)


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Run ``write`` on a temporary file beside ``path`` (its result ignored) and move it to
    ``path``: a concurrent reader (another worker starting) sees the old file or the new
    one, never half of one.

    Raises:
        OSError: The folder cannot be created or written (the temporary file is removed).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def keep_newest(folder: Path, pattern: str, keep: int) -> None:
    """Delete all but the ``keep`` most recently written files of ``folder`` matching the
    glob ``pattern``; a file that cannot be deleted (or is gone) is left alone."""
    files = sorted(folder.glob(pattern), key=_mtime, reverse=True)
    for old in files[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _mtime(path: Path) -> float:
    """The file's modification time (0 when it is gone)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
