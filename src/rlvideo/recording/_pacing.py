"""When the encoder process holds back: training comes first on a busy machine.

On a machine whose cores are all taken (other jobs beside the training), the env and the
encoder share what is left: every frame the encoder encodes while the env records is CPU the
env's loop does not get. There, while the env records, the encoder lets the frames wait in its
backlog and encodes them when the env stops sending (between recorded episodes, while the
caller waits on a result, in ``close()``), or when the backlog nears its budget. On an idle
machine the env and the encoder each have a core: holding back would only make the whole run
longer, so the encoder never does.

:class:`Pacer` makes the decision from two readings, both injected so tests drive it
deterministically:

- **contention**: the encoder thread's own time waiting on a run queue against its time on a
  CPU (:func:`thread_times`, from ``/proc/thread-self/schedstat``). Where that file cannot be
  read (not Linux), the machine is never contended: the encoder never holds back.
- **the env records**: a frame arrived within the last ``quiet`` seconds (:meth:`Pacer.arrived`).

The encoder never lowers its OS priority (``nice``): it could not raise it again to drain at
full pace in ``close()``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["Pacer", "enabled_by_environment", "thread_times"]

Times = tuple[int, int]
"""Nanoseconds on a CPU, nanoseconds runnable but waiting for one."""

SCHEDSTAT = "/proc/thread-self/schedstat"


def thread_times() -> Times | None:
    """The calling thread's CPU time and run-queue wait in ns; None where unknown."""
    try:
        with open(SCHEDSTAT, "rb") as file:
            fields = file.read().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


class Pacer:
    """Says whether the encoder waits before its next frame, and for how long.

    The encoder holds back when the machine is contended, the env records and the backlog
    has room below ``high_water`` (a share of its budget) for one more such frame; never with
    a budget of 0, never once the caller stopped or is gone, never while the reader waits for
    room.

    Contention is judged over windows of ``window`` seconds of the encoder's CPU time: the
    machine is contended when the thread waited on a run queue more than ``threshold`` times
    its time on a CPU. Between windows the last verdict stands, but a "contended" one only for
    ``verdict_for`` seconds: then the encoder encodes a window again to judge anew. Without
    that expiry one unlucky window (the worker's own reader thread, a burst of the env's) would
    hold the encoder back until the backlog is nearly full, since a held-back encoder hardly
    runs and so never measures again: on an idle 2-core machine it did (issue 22's benchmark,
    Pong: 359 MB held, the whole run 0.58x instead of 0.72x).

    Example:
        >>> now = [0.0]
        >>> pacer = Pacer(times=lambda: (0, 0), clock=lambda: now[0])
        >>> pacer.contended = True  # as a window would find it
        >>> pacer.arrived()  # the reader got a frame
        >>> pacer.wait(held=1000, nbytes=1000, budget=10_000)  # seconds to hold back
        0.05
        >>> now[0] = 0.2  # no frame for 0.2 s: the env is not recording
        >>> pacer.wait(held=1000, nbytes=1000, budget=10_000)
        0.0
    """

    def __init__(
        self,
        *,
        times: Callable[[], Times | None] = thread_times,
        clock: Callable[[], float] = time.monotonic,
        threshold: float = 0.5,
        window: float = 0.2,
        verdict_for: float = 1.0,
        quiet: float = 0.05,
        high_water: float = 0.9,
        enabled: bool = True,
    ) -> None:
        self._times = times
        self._clock = clock
        self.threshold = threshold
        self.window_ns = int(window * 1e9)
        self.verdict_for = verdict_for
        self.quiet = quiet
        self.high_water = high_water
        self.enabled = enabled
        self.contended = False
        """The last window's verdict (False until a window ends)."""
        self.last_ratio: float | None = None
        """The last window's run-queue wait per CPU time."""
        self._start: Times | None = None
        self._next_read = -float("inf")
        self._last_frame = -float("inf")
        self._verdict_until = float("inf")  # when a measured "contended" expires

    def arrived(self) -> None:
        """A frame came from the env (the reader thread calls this)."""
        self._last_frame = self._clock()

    def measure(self) -> bool:
        """Update :attr:`contended` from the encoder thread's times (call it from that thread)."""
        if not self.enabled:
            return False
        clock = self._clock()
        if self.contended and clock >= self._verdict_until:  # judge anew: encode a window
            self.contended = False
            self._start = None
            self._next_read = -float("inf")
        if clock < self._next_read:  # the file is read a few times a window, not per frame
            return self.contended
        self._next_read = clock + self.window_ns / 4e9
        now = self._times()
        if now is None:  # unknown: never contended, as before pacing existed
            self.enabled = False
            self.contended = False
            return False
        if self._start is None:
            self._start = now
            return self.contended
        ran, waited = now[0] - self._start[0], now[1] - self._start[1]
        if ran >= self.window_ns:
            self.last_ratio = waited / ran
            self.contended = waited > self.threshold * ran
            self._verdict_until = clock + self.verdict_for
            self._start = now
        return self.contended

    def wait(
        self,
        held: int,
        nbytes: int,
        budget: int,
        *,
        ended: bool = False,
        reader_waiting: bool = False,
    ) -> float:
        """Seconds to hold back before encoding a frame of ``nbytes`` (0: encode now).

        ``held``: bytes in the backlog, this frame's included; ``ended``: the caller stopped
        or is gone (everything left is encoded at full pace); ``reader_waiting``: the reader
        waits for room in the backlog.
        """
        if not (self.enabled and self.contended) or ended or reader_waiting or budget <= 0:
            return 0.0
        if held + nbytes > self.high_water * budget:
            return 0.0
        left = self._last_frame + self.quiet - self._clock()
        return max(0.0, min(left, self.quiet))


def enabled_by_environment() -> bool:
    """False when ``RLVIDEO_PACING=0`` (a switch for benchmarks that compare both)."""
    return os.environ.get("RLVIDEO_PACING", "1") != "0"
