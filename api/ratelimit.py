"""A per-key request budget in a fixed window (in memory, one process)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class WindowLimiter:
    """At most ``limit`` requests per key in each window of ``seconds``.

    Counts live for the current window only: when a new window starts the old counts are
    dropped, so memory is bounded by the keys seen in one window.
    """

    def __init__(
        self, limit: int, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def allow(self, key: str) -> float | None:
        """None if the request may go ahead (and count it); else the seconds to wait."""
        now = self._clock()
        window = int(now // self.seconds)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0)
        if count >= self.limit:
            return max(1.0, math.ceil((window + 1) * self.seconds - now))
        self._counts[key] = count + 1
        return None
