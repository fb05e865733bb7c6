"""Locks between the processes of one machine: an exclusive ``flock`` on a file, which the
kernel releases when the process that holds it ends, so a killed process leaves none behind.
Where there is no ``fcntl`` (not POSIX), nothing is locked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockHeld(RuntimeError):
    """Another process holds the lock (asked for without waiting)."""


@contextmanager
def file_lock(path: Path, *, wait: bool) -> Iterator[None]:
    """Hold the lock on ``path`` (the file is made if missing, and left: removing it would
    let two processes lock two files of one name). Without ``wait``, :class:`LockHeld` at
    once if another process holds it; with it, wait for its turn."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockHeld(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
