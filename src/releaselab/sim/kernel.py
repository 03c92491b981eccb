"""The simulator's kernel: a virtual clock and one ordered event queue.

As in SimPy, nothing happens between events, and events at the same instant
run in the order they were scheduled (a sequence number breaks ties), so the
same inputs always give the same run.  Between two events the cluster's state
is constant; the traffic generator uses that to produce every request that
falls in the gap without putting each one on the queue.
"""

from __future__ import annotations

import heapq
from typing import Callable, Optional


class Kernel:
    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list = []
        self._seq = 0
        #: events run so far: what a wait cost, without timing anything
        self.processed = 0
        #: called as fill(start, end) before time advances past ``start``
        self.gap_fillers: list[Callable[[float, float], None]] = []

    def at(self, t: float, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` at virtual time ``t`` (never in the past)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(t, self.now), self._seq, fn, args))

    def after(self, delay: float, fn: Callable, *args) -> None:
        self.at(self.now + delay, fn, *args)

    def next_time(self) -> Optional[float]:
        return self._queue[0][0] if self._queue else None

    def run_until(self, end: float, stop: Optional[Callable[[], bool]] = None) -> bool:
        """Advance to ``end`` or until ``stop()`` is true after an event; True if it stopped."""
        if stop is not None and stop():
            return True
        while self._queue and self._queue[0][0] <= end:
            t = self._queue[0][0]
            self._fill(t)
            self.now = t
            # Run every event of this instant before checking the condition:
            # a half-applied instant is not a state the cluster is ever seen in.
            while self._queue and self._queue[0][0] == t:
                _, _, fn, args = heapq.heappop(self._queue)
                self.processed += 1
                fn(*args)
            if stop is not None and stop():
                return True
        self._fill(end)
        self.now = max(self.now, end)
        return False

    def _fill(self, until: float) -> None:
        if until > self.now:
            for fill in self.gap_fillers:
                fill(self.now, until)
