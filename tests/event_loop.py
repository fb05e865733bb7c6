"""Running a coroutine from a synchronous test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

T = TypeVar("T")


def run_async(function: Callable[[], Awaitable[T]]) -> T:
    """``anyio.run`` in a thread of its own: Playwright's sync API (the browser tests,
    session-scoped) keeps an event loop running in the main thread, where ``anyio.run``
    refuses to start another ("Already running asyncio in this thread") whatever order the
    tests run in."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function).result()
