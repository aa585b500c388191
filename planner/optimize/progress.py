"""The optimizer's clock: one deadline for the whole call, a stop that Ctrl-C pulls, and progress by stage.

`optimize(..., time_limit=T)` bounds the whole call, not each HiGHS run: the deadline is fixed once, at the
start, and every stage (the LP relaxation, the accounts' MILPs, the repair, the whole model, the frontier, the
diagnosis) gets what is left of it. HiGHS is told the time left as its `time_limit`, and a callback on its
simplex, interior-point and MILP interrupt points stops it as soon as the deadline passes or the stop is pulled
(HiGHS solves in C++, in threads of its own and in the account split's threads, where Python's signal handling
does not reach; its interrupt callbacks are the way in: highspy's `cbSimplexInterrupt`, `cbIpmInterrupt`,
`cbMipInterrupt`, and `HighsCallbackEvent.interrupt()`). A run stopped that way keeps its best plan, as one
stopped by its own time limit does.

Ctrl-C (SIGINT) pulls the stop rather than raising `KeyboardInterrupt` in the middle of a solve: while
`optimize` runs, `catch_interrupt` installs a handler that only sets the stop, so every stage winds down,
the best plan found so far is re-checked and returned, marked `interrupted`. A second Ctrl-C raises
`KeyboardInterrupt` at once (the default behaviour again), for a user who does not want to wait.

Progress: one line per stage for people (`planner optimize` prints them on stderr), e.g. "build: 40,458
columns, 24,651 rows (2.6 s)" or "accounts solved 7/14: best bound 28,168,749, gap 0.012 %". The callback is
called from the thread that called `optimize` only, never from a solver's thread; a `KeyboardInterrupt` it
raises is taken as Ctrl-C.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import highspy

Progress = Callable[[str], None]
"""Receives one line of progress for people, by stage."""


@dataclass
class Stop:
    """Pulled to stop every stage of one optimisation; shared by its clocks."""

    event: threading.Event = field(default_factory=threading.Event)
    interrupted: bool = False
    """True when Ctrl-C (or a KeyboardInterrupt from the progress callback) pulled it."""

    def pull(self, interrupted: bool = False) -> None:
        self.interrupted = self.interrupted or interrupted
        self.event.set()

    @property
    def pulled(self) -> bool:
        return self.event.is_set()


@dataclass(frozen=True)
class Clock:
    """A deadline (`time.perf_counter()` seconds; None: no limit), the stop, and where progress goes."""

    deadline: float | None = None
    stop: Stop = field(default_factory=Stop)
    progress: Progress | None = None

    @classmethod
    def start(cls, time_limit: float | None, progress: Progress | None = None) -> Clock:
        return cls(None, progress=progress).within(time_limit)

    def within(self, seconds: float | None) -> Clock:
        """This clock, with its deadline moved to `seconds` from now if that is sooner (None: no change)."""
        if seconds is None or not math.isfinite(seconds):
            return self
        deadline = time.perf_counter() + max(0.0, seconds)
        return self if self.deadline is not None and self.deadline <= deadline else \
            Clock(deadline, self.stop, self.progress)

    def earlier(self, seconds: float) -> Clock:
        """This clock with `seconds` kept back from its deadline (for stages after it that cannot be cut)."""
        return self if self.deadline is None else Clock(self.deadline - max(0.0, seconds), self.stop, self.progress)

    def at_least(self, seconds: float) -> Clock:
        """This clock with its deadline no sooner than `seconds` from now."""
        if self.deadline is None:
            return self
        return Clock(max(self.deadline, time.perf_counter() + seconds), self.stop, self.progress)

    def left(self) -> float | None:
        """Seconds left (0 once stopped or past the deadline; None: no limit)."""
        if self.stop.pulled:
            return 0.0
        return None if self.deadline is None else max(0.0, self.deadline - time.perf_counter())

    @property
    def over(self) -> bool:
        left = self.left()
        return left is not None and left <= 0.0

    def say(self, message: str) -> None:
        """Send one line of progress. A KeyboardInterrupt from the callback pulls the stop (as Ctrl-C does)."""
        if self.progress is None:
            return
        try:
            self.progress(message)
        except KeyboardInterrupt:
            self.stop.pull(interrupted=True)

    @contextmanager
    def watching(self, h: highspy.Highs) -> Iterator[None]:
        """While inside, HiGHS can be stopped by this clock: at its interrupt points it asks whether the deadline
        has passed or the stop was pulled (also without a deadline: Ctrl-C)."""

        def ask(event: highspy.HighsCallbackEvent) -> None:
            if self.over:
                event.interrupt()

        callbacks = (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt)
        for callback in callbacks:
            callback.subscribe(ask)
        try:
            yield
        finally:
            for callback in callbacks:
                callback.unsubscribe(ask)


def seconds(value: float) -> str:
    return f"{value:.1f} s"


@contextmanager
def catch_interrupt(stop: Stop) -> Iterator[None]:
    """While inside: the first Ctrl-C (SIGINT) pulls `stop` instead of raising KeyboardInterrupt; a second one
    raises it. Outside the main thread signals cannot be caught, and nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def pull(signum: int, frame: FrameType | None) -> None:
        if stop.interrupted:
            raise KeyboardInterrupt
        stop.pull(interrupted=True)

    previous = signal.signal(signal.SIGINT, pull)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
