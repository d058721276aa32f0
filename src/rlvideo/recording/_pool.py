"""Several background encoders for a recorder whose videos one worker cannot keep up with.

A per-env vector recording (eight CartPole videos at once) or several overlapping step clips
hand one worker more frames than one core encodes. An :class:`EncoderPool` has the API of
:class:`~rlvideo.recording._encoder.BackgroundEncoder` and spreads videos over up to
``workers`` of them: a video stays with the encoder that opened it; a new video goes to an idle
encoder, else to a new one while fewer than ``workers`` run, else to the one with the fewest
open videos. With ``workers=1`` it is one encoder, as before (the recorder then uses a
:class:`~rlvideo.recording._encoder.BackgroundEncoder` itself, as on a 2-core machine).

The worker count (:func:`worker_count`): ``min(4, usable cores - 1)``, at least 1, for process
encoders (a thread encoder shares the caller's process: one). The env keeps a core; so on a
2-core machine one worker serves every video, and more workers start only where cores are
left for them. Workers start as videos open, so never more than the videos open at once.

The pool asks for FFmpeg's threads (``spec.threads=None``) for a video alone on a machine with
cores to spare as it opens (:func:`spare_cores` >= 2: the 1-minute load average, which counts
the env, leaves a core for the encoder and one for its threads), and ``threads=1`` for every
other. The worker does not honour the ask yet: it encodes every video on one thread
(``recording/_worker.py``). On 2 cores threads cost 1.15x the CPU a 600x400 frame for 0.79x the
wall time, and at 210x160 and below 1.1-2x the CPU for no gain
(``benchmarks/bench_encoder_settings.py``); a machine with idle cores has not been measured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvideo._core.spec import WriterSpec
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._worker import usable_cores

__all__ = ["MAX_WORKERS", "EncoderPool", "spare_cores", "usable_cores", "worker_count"]

MAX_WORKERS = 4
"""The most encoder processes one recorder runs."""


def spare_cores() -> float:
    """Cores nobody is using: usable cores less the 1-minute load average (cheap: no sampling)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # unavailable: assume busy
        return 0.0
    return usable_cores() - load


def worker_count(kind: str, cores: int | None = None) -> int:
    """How many encoders a recorder may run: ``min(4, cores - 1)``, at least 1; 1 for threads.

    Example:
        >>> worker_count("process", cores=2), worker_count("process", cores=16)
        (1, 4)
        >>> worker_count("thread", cores=16)
        1
    """
    if kind != "process":
        return 1
    cores = usable_cores() if cores is None else cores
    return max(1, min(MAX_WORKERS, cores - 1))


class EncoderPool:
    """Up to ``workers`` background encoders behind the API of one.

    Args:
        make: Makes one encoder (with the caller's kind, ``on_done`` and options).
        workers: The most encoders started; each starts when a video needs it.

    Example:
        >>> import numpy as np
        >>> from rlvideo._core.spec import WriterSpec
        >>> done = []
        >>> pool = EncoderPool(lambda: BackgroundEncoder(kind="thread", on_done=done.append), 2)
        >>> spec = WriterSpec.build(format="mp4", fps=30)
        >>> for k in range(3):
        ...     pool.open_video(k, f"pool-{k}.mp4", spec)
        >>> for k in range(3):
        ...     pool.write(k, np.zeros((16, 16, 3), np.uint8))
        ...     pool.close_video(k)
        >>> len(pool.encoders), pool.shutdown(), sorted(r.path.name for r in done)
        (2, None, ['pool-0.mp4', 'pool-1.mp4', 'pool-2.mp4'])
    """

    def __init__(
        self,
        make: Callable[[], BackgroundEncoder],
        workers: int = 1,
        *,
        spare: Callable[[], float] = spare_cores,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidArgumentError(f"workers must be an int >= 1, got {workers!r}")
        self._make = make
        self.workers = workers
        """The most encoders this pool starts."""
        self.encoders: list[BackgroundEncoder] = []
        """The encoders started so far, in order."""
        self._open: list[set[int]] = []  # the videos open on each encoder
        self._of: dict[int, int] = {}  # video id -> index of its encoder
        self._spare = spare
        self._first()  # made now: a bad kind or option raises where the recorder is built

    def _first(self) -> BackgroundEncoder:
        if not self.encoders:
            self.encoders.append(self._make())
            self._open.append(set())
        return self.encoders[0]

    def start(self) -> None:
        """Start the first encoder's worker now (the others start as videos need them)."""
        self._first().start()

    def open_video(self, video_id: int, path: str | Path, spec: WriterSpec) -> None:
        """Open a video on an idle encoder, a new one, or the least busy one.

        Its spec asks for FFmpeg's threads (``threads=None``) if it is the only video open and
        the machine has at least 2 cores to spare, else for one thread (the worker encodes on
        one thread today: see the module docstring).
        """
        alone = not self._of and spec.threads is None
        spec = spec.replace(threads=None if alone and self._spare() >= 2 else 1)
        self._first()
        index = min(range(len(self.encoders)), key=lambda i: len(self._open[i]))
        if self._open[index] and len(self.encoders) < self.workers:
            self.encoders.append(self._make())
            self._open.append(set())
            index = len(self.encoders) - 1
        self.encoders[index].open_video(video_id, path, spec)
        self._open[index].add(video_id)
        self._of[video_id] = index

    def _encoder(self, video_id: int) -> BackgroundEncoder:
        index = self._of.get(video_id)
        if index is None:  # not open: the first encoder says so in its own words
            return self._first()
        return self.encoders[index]

    def write(self, video_id: int, frame: Any, *, duration: float | None = None) -> None:
        """Queue a frame of ``video_id`` with its encoder."""
        self._encoder(video_id).write(video_id, frame, duration=duration)

    def flush(self) -> None:
        """Hand every frame written so far to the workers now."""
        for encoder in self.encoders:
            encoder.flush()

    def _end(self, video_id: int, end: Callable[[BackgroundEncoder], None]) -> None:
        end(self._encoder(video_id))
        index = self._of.pop(video_id, None)  # ended: its encoder takes new videos again
        if index is not None:
            self._open[index].discard(video_id)

    def close_video(self, video_id: int) -> None:
        """Finish a video (asynchronously)."""
        self._end(video_id, lambda encoder: encoder.close_video(video_id))

    def abort_video(self, video_id: int) -> None:
        """Stop a video early, keeping its frames as ``<name>.incomplete.<ext>``."""
        self._end(video_id, lambda encoder: encoder.abort_video(video_id))

    def discard_video(self, video_id: int) -> None:
        """Stop a video and delete it."""
        self._end(video_id, lambda encoder: encoder.discard_video(video_id))

    def poll(self) -> None:
        """Handle whatever every worker reported so far, without waiting."""
        for encoder in self.encoders:
            encoder.poll()

    def wait(self) -> None:
        """Block until every ended video is finished."""
        for encoder in self.encoders:  # every worker drains at once, not one after another
            encoder.hurry()
        for encoder in self.encoders:
            encoder.wait()

    def shutdown(self, *, abort: bool = False) -> None:
        """Finish every open video (``abort``: as incomplete) and stop every worker.

        Each encoder is shut down even if one before it failed; the first error is re-raised.
        Interrupted (Ctrl-C), it can be called again: each encoder goes on where it stopped.
        """
        error: Exception | None = None
        for encoder in self.encoders:  # every worker drains at once, not one after another
            try:
                encoder.hurry()
            except Exception:  # its own shutdown below meets the same error and reports it
                continue
        for encoder in self.encoders:
            try:
                encoder.shutdown(abort=abort)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error
