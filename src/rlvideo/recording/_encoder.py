"""Encode videos off the caller's thread, so an env loop never waits for the encoder.

A :class:`BackgroundEncoder` runs :class:`~rlvideo.VideoWriter` objects in a worker: by default a
separate **process** fed through shared memory, or a **thread** (``kind="thread"``). The caller
checks and converts each frame (errors surface where the frame was given), copies it into one of
a fixed number of slots and moves on. The process worker copies each frame out of its slot at
once, frees the slot and keeps the frame in a private backlog that the encoder drains at its own
pace: the caller waits only when ``backlog`` bytes (:data:`DEFAULT_BACKLOG`) are taken (the
frames in the ring and in the worker's backlog, and each open video's encoder buffers) and every
slot is taken, so the encoder may fall behind while the env records and catch up
between recorded episodes and in :meth:`~BackgroundEncoder.shutdown`. The thread worker frees
a slot once its frame is encoded. Memory is bounded whatever the speed of the encoder.

The hand-off costs a few microseconds per frame (``benchmarks/bench_record_video.py``): frames
are not messages. The process worker reads the slots of one shared-memory ring; the caller tells
it which slots hold which frames in fixed 24-byte records, sent in batches (a quarter of the
ring, at most :data:`MAX_BATCH`, sent as the next frame comes; or whatever is pending when the
caller must wait, sends a command, or polls with frames older than :data:`STALE_SECONDS`), and
the worker gives slots back in batches too. A frame is copied twice: into its slot by the
caller, and out of it into the backlog by the worker's reader thread; nothing is pickled per
frame, and one system call carries many records each way. The ring holds :data:`RING_BYTES` of
frames, at least 8 and at most 256 slots (249 Atari frames, 34 CartPole
frames, 9 of 1280x720). The ring is only the hand-off: the backlog lives in the worker's private
memory, so /dev/shm (64 MB in Docker by default) holds 24 MB whatever the budget; where even the
ring does not fit, it has fewer slots (down to :data:`MIN_SLOTS`) before it is an error.

The worker process is started with the encoder's first video, or earlier by :meth:`start`
(the wrappers call it when they are built): ``Popen`` returns at once, and the worker's
start-up (~0.3 s of imports) overlaps the env's own instead of stalling its first frames.

Why a process by default: measured under a Python-heavy env loop and a light one
(``benchmarks/bench_record_video.py``), thread and process were within 3% of each other: PyAV
holds the GIL little enough that no convoy formed here. The process wins on safety: it outlives
a training process that is killed outright and keeps its video, at ~50 MB more memory (a
second interpreter with NumPy and PyAV). The worker encodes on one thread (``threads=1``): it
shares the machine with the env, so the least CPU per frame is what keeps the env fast.

Finishing a video is asynchronous too: :meth:`BackgroundEncoder.close_video` returns at once,
and the outcome (the path, or the error) arrives through :meth:`BackgroundEncoder.poll` and the
``on_done`` callback, which always runs in the caller's thread. If the caller's process dies,
the worker process sees its pipe close and keeps every open video as ``<name>.incomplete.<ext>``.

Ctrl-C: every step of the hand-off is whole or not done (:mod:`rlvideo.recording._interrupts`).
A frame whose ``write`` raises KeyboardInterrupt was not handed over; every frame before it
reaches the worker once: a send cut short is resumed where it stopped, never repeated, and no
reply is lost.

Shared memory: the worker shares the caller's :mod:`multiprocessing` resource tracker and
unlinks each ring when it is done with it, so a ring outlives a caller killed before the worker
attached it (its frames are kept), and is unlinked in every ending: by the worker, by the caller
once the worker is gone, or by the tracker once both were killed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo._core.frames import FrameConverter
from rlvideo._core.spec import WriterSpec, check_duration
from rlvideo.errors import InvalidArgumentError, RLVideoError, StorageError
from rlvideo.io._files import check_target
from rlvideo.recording._interrupts import deferred_interrupts
from rlvideo.recording._messages import (
    AttachRing,
    EncoderKind,
    Ending,
    EndVideo,
    Hurry,
    OpenVideo,
    Reply,
    SlotFree,
    VideoResult,
    WriteFrame,
)
from rlvideo.recording._transport import (
    ProcessTransport,
    ThreadTransport,
    Transport,
    reserve_shared_memory,
)

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_SLOTS",
    "MAX_BATCH",
    "MAX_SLOTS",
    "MIN_SLOTS",
    "RING_BYTES",
    "STALE_SECONDS",
    "BackgroundEncoder",
]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)
_INTERRUPTS = deferred_interrupts()  # the process's one Ctrl-C gate

DEFAULT_SLOTS = 8
"""The thread worker's slots, and the fewest the process worker's ring has."""
MAX_SLOTS = 256
"""The most slots the process worker's ring has (small frames)."""
RING_BYTES = 24 * 2**20
"""How many bytes of frames the process worker's ring holds, within those slot counts.

The first frames of a run wait in the ring while the worker still imports NumPy and PyAV:
24 MiB holds ~250 Atari frames (Pong: the env blocked 0.02-0.07 s over 3000 steps, against
0.13-0.21 s with 6 MiB), and still fits Docker's 64 MB /dev/shm."""
MIN_SLOTS = 2
"""The fewest slots a ring has when /dev/shm cannot hold more."""
MAX_BATCH = 16
"""The most frame records sent (and slots given back) at a time: a quarter of the ring, at most
this many. A caller killed loses the frames of the batch not yet sent."""
DEFAULT_BACKLOG = 256 * 2**20
"""How many bytes of frames the process worker may hold waiting for the encoder (256 MiB)."""
STALE_SECONDS = 0.02
"""A frame waits at most this long for its batch when the caller polls (every env step)."""


class BackgroundEncoder:
    """Encode several videos at once off the caller's thread, with bounded memory.

    Args:
        kind: ``"process"`` (default: a worker process fed through shared memory) or
            ``"thread"``.
        slots: How many frames may wait for the encoder; the caller blocks beyond that. None:
            :data:`DEFAULT_SLOTS` for a thread; for a process, as many as fit in
            :data:`RING_BYTES`, from :data:`DEFAULT_SLOTS` to :data:`MAX_SLOTS`.
        on_done: Called with each :class:`VideoResult`, in the caller's thread, from whichever
            call (``write``, ``poll``, ``close_video``, ``wait``) learns of it.
        backlog: The most bytes the process worker holds for videos not yet encoded: the
            ring's frames, those waiting in its backlog and each open video's encoder buffers
            (:data:`~rlvideo.recording._worker.ENCODER_FRAMES` of its frames) together (None:
            :data:`DEFAULT_BACKLOG`); past it the caller waits for the encoder. 0: one frame.
            The thread worker holds ``slots`` frames instead.

    Example:
        >>> import numpy as np
        >>> from rlvideo._core.spec import WriterSpec
        >>> results = []
        >>> with BackgroundEncoder(kind="thread", on_done=results.append) as encoder:
        ...     encoder.open_video(1, "bg.mp4", WriterSpec.build(format="mp4", fps=30))
        ...     for i in range(10):
        ...         encoder.write(1, np.full((32, 32, 3), 20 * i, np.uint8))
        ...     encoder.close_video(1)
        >>> results[0].path.name, results[0].frames, results[0].error
        ('bg.mp4', 10, None)
    """

    def __init__(
        self,
        *,
        kind: EncoderKind = "process",
        slots: int | None = None,
        on_done: Callable[[VideoResult], None] | None = None,
        backlog: int | None = None,
    ) -> None:
        if kind not in ("process", "thread"):
            raise InvalidArgumentError(f'encoder kind must be "process" or "thread", got {kind!r}')
        if slots is not None and (
            isinstance(slots, bool) or not isinstance(slots, int) or slots < 1
        ):
            raise InvalidArgumentError(f"slots must be a positive int or None, got {slots!r}")
        if backlog is not None and (
            isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 0
        ):
            raise InvalidArgumentError(f"backlog must be an int >= 0 or None, got {backlog!r}")
        self.backlog = DEFAULT_BACKLOG if backlog is None else backlog
        """The most bytes of frames the process worker holds waiting for the encoder."""
        self.kind: EncoderKind = kind
        self._fixed_slots = slots
        self.slots = DEFAULT_SLOTS if slots is None else slots
        """How many frames may wait for the encoder now (a process's ring sizes it by frame)."""
        self.on_done = on_done
        self._converters: dict[int, FrameConverter] = {}
        self._pending: set[int] = set()
        self._results: deque[VideoResult] = deque()  # learnt, not yet given to on_done
        self._free = list(range(self.slots))
        self._ring: SharedMemory | None = None
        self._slot_bytes = 0
        self._closed = False
        self._transport: Transport | None = None  # started on the first video

    def __enter__(self) -> BackgroundEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(abort=exc_info[0] is not None)

    def start(self) -> None:
        """Start the worker now, without waiting for it (else the first video starts it).

        A process worker imports NumPy and PyAV (~0.3 s) while the caller goes on: started
        ahead of the first frame, it is ready by then.
        """
        self._start()

    # -- videos --------------------------------------------------------------------------
    # Each call commits its change to the worker (a frame, a command) in one step that a
    # Ctrl-C cannot split (see rlvideo.recording._interrupts): a Ctrl-C before the commit
    # stops the call with nothing handed over; waits before it let the Ctrl-C through; sends
    # and replies after it are noted exactly, so nothing is sent twice, torn, or lost.
    def open_video(self, video_id: int, path: str | Path, spec: WriterSpec) -> None:
        """Start a video written with ``spec`` (checked where it was built).

        The name is checked here, in the caller's thread: a taken one raises at once.
        """
        check_target(Path(path).absolute(), overwrite=spec.overwrite)
        converter = spec.frame_converter()
        transport = self._start()
        with _INTERRUPTS:
            _INTERRUPTS.checkpoint()
            self._converters[video_id] = converter
            self._pending.add(video_id)
            transport.queue(OpenVideo(video_id, str(path), spec))
        transport.flush()

    def write(self, video_id: int, frame: Any, *, duration: float | None = None) -> None:
        """Queue one frame; returns once it is copied (waits only when every slot is taken).

        The frame is checked and converted here, once: errors surface where it was given, and
        the worker encodes it as it is. If a Ctrl-C (KeyboardInterrupt) comes out of it, the
        frame was not handed over; the frames before it were, each once.
        """
        converter = self._converters.get(video_id)
        if converter is None:
            raise InvalidArgumentError(f"video {video_id} is not open; call open_video first")
        if duration is not None:  # checked here, where the frame was given, like the frame
            duration = check_duration(duration, converter.count)
        array = converter(frame)
        transport = self._start()
        with _INTERRUPTS:
            transport.make_room()  # a full batch goes out before this frame starts the next
            slot = self._take_slot(array.nbytes)
            try:
                message = self._fill(video_id, slot, array, duration)
                _INTERRUPTS.checkpoint()  # a Ctrl-C so far: this frame is not handed over
            except BaseException:
                self._free.append(slot)
                raise
            transport.queue(message)  # the commit: sent once, with its batch

    def flush(self) -> None:
        """Hand every frame written so far to the worker now (else they go in batches).

        A caller that may die soon (a kill it expects) keeps every frame this way.
        """
        if self._transport is not None:
            self._transport.flush()

    def close_video(self, video_id: int) -> None:
        """Finish a video (asynchronously): flush, finalize, move to its final name."""
        self._end(video_id, "close")

    def abort_video(self, video_id: int) -> None:
        """Stop a video early, keeping its frames as ``<name>.incomplete.<ext>``."""
        self._end(video_id, "abort")

    def discard_video(self, video_id: int) -> None:
        """Stop a video and delete it: nothing is left behind."""
        self._end(video_id, "discard")

    def poll(self) -> None:
        """Handle whatever the worker reported so far, without waiting.

        Frames waiting for their batch longer than :data:`STALE_SECONDS` are sent on.
        """
        if self._transport is not None:
            self._transport.flush(older_than=STALE_SECONDS)
            while self._receive(block=False):
                pass
        self._report()

    def hurry(self) -> None:
        """Tell the worker the caller is about to wait for its videos: it drains at full pace.

        That lasts until the next frame is written. Nothing is sent when no video is pending.
        """
        transport = self._transport
        if transport is None or not self._pending:
            return
        with _INTERRUPTS:
            transport.queue(Hurry())
        transport.flush()

    def wait(self) -> None:
        """Block until every video that was closed, aborted or discarded is finished."""
        self._report()
        if self._pending - set(self._converters) and self._transport is not None:
            self.hurry()
        while self._pending - set(self._converters) and self._transport is not None:
            self._receive(block=True)

    def shutdown(self, *, abort: bool = False) -> None:
        """Finish every open video (``abort``: as incomplete), wait, and stop the worker.

        Interrupted (Ctrl-C), it can be called again: it goes on where it stopped.
        """
        if self._closed:
            return
        for video_id in list(self._converters):
            self._end(video_id, "abort" if abort else "close")
        self.wait()
        self._closed = True
        if self._transport is not None:
            self._transport.stop()  # frees the shared slots too
        self._ring = None

    # -- internals -----------------------------------------------------------------------
    def _end(self, video_id: int, how: Ending) -> None:
        if video_id not in self._converters:
            raise InvalidArgumentError(f"video {video_id} is not open")
        transport = self._transport
        if transport is None:
            raise RLVideoError(f"video {video_id} has no worker")  # opened videos started it
        with _INTERRUPTS:
            _INTERRUPTS.checkpoint()  # a Ctrl-C so far: the video stays open
            del self._converters[video_id]
            transport.queue(EndVideo(video_id, how))
        transport.flush()
        self.poll()

    def _start(self) -> Transport:
        if self._closed:
            raise RLVideoError("this BackgroundEncoder was shut down; create a new one")
        if self._transport is None:
            with _INTERRUPTS:  # started whole, or not at all
                self._transport = (
                    ProcessTransport() if self.kind == "process" else ThreadTransport()
                )
        return self._transport

    def _fill(
        self, video_id: int, slot: int, array: npt.NDArray[np.uint8], duration: float | None
    ) -> WriteFrame:
        """Put the frame where the worker reads it: ``slot`` of the ring, or a private copy."""
        if self._ring is None:  # thread: hand over a private copy
            return WriteFrame(video_id, slot, array.shape, duration, array.copy())
        target = np.ndarray(array.shape, np.uint8, self._ring.buf, slot * self._slot_bytes)
        np.copyto(target, array)
        del target
        return WriteFrame(video_id, slot, array.shape, duration)  # batched: no syscall

    def _take_slot(self, nbytes: int) -> int:
        if self.kind == "process" and nbytes > self._slot_bytes:
            self._grow_ring(nbytes)
        while not self._free:
            self._receive(block=True)
        return self._free.pop()

    def _grow_ring(self, nbytes: int) -> None:
        """(Re)allocate the shared slots for frames of ``nbytes``, once every slot is free.

        The worker unlinks the ring it replaces (it may still be reading it); the transport
        unlinks whatever is left once the worker is gone.
        """
        assert self._transport is not None
        while len(self._free) < self.slots:
            self._receive(block=True)
        if self._ring is not None:
            self._ring.close()
            self._ring, self._slot_bytes = None, 0
        slots = self._fixed_slots or min(MAX_SLOTS, max(DEFAULT_SLOTS, RING_BYTES // nbytes))
        ring, slots = _reserve_ring(nbytes, slots)
        self._free, self.slots = list(range(slots)), slots
        self._transport.rings.append(ring)
        self._ring, self._slot_bytes = ring, nbytes
        batch = max(1, min(slots // 4, MAX_BATCH))
        self._transport.batch = batch
        backlog = max(0, self.backlog - slots * nbytes)  # the ring's frames count too
        self._transport.queue(AttachRing(ring.name, nbytes, reply_every=batch, backlog=backlog))
        self._transport.flush()  # the worker attaches while the slots fill

    def _receive(self, *, block: bool) -> bool:
        """Take one reply from the worker and act on it; False if none came (not blocking).

        Taking and acting are one step (a Ctrl-C cannot lose the reply between them); a wait
        for the reply lets a Ctrl-C through. Results reach ``on_done`` after the step.
        """
        transport = self._transport
        assert transport is not None
        if not block and not transport.ready():  # the common case, with no block to enter
            return False
        with _INTERRUPTS:
            reply = transport.receive(block=block)
            if reply is None:
                return False
            self._apply(reply)
        self._report()
        return True

    def _handle(self, reply: Reply | None) -> None:
        """Act on a reply taken from the transport (by hand: tests that stage a death)."""
        if reply is not None:
            self._apply(reply)
        self._report()

    def _apply(self, reply: Reply) -> None:
        if isinstance(reply, SlotFree):
            self._free.extend(reply.slots)
            return
        self._pending.discard(reply.video_id)
        if reply.error is not None:
            logger.error("video %s failed: %s", reply.video_id, reply.error)
        self._results.append(reply)

    def _report(self) -> None:
        """Give each result learnt to ``on_done``, in order, once.

        A Ctrl-C held back is raised before a result leaves the queue; once it left, ``on_done``
        runs with Ctrl-C held back too (the video's files are finished whole), and a Ctrl-C is
        raised after it. ``on_done`` lets one through where it waits or runs the user's code
        (``let_through`` of :func:`~rlvideo.recording._interrupts.deferred_interrupts`).
        """
        on_done = self.on_done
        while self._results:
            with _INTERRUPTS:
                _INTERRUPTS.checkpoint()
                result = self._results.popleft()
                if on_done is not None:
                    on_done(result)


def _reserve_ring(nbytes: int, slots: int) -> tuple[SharedMemory, int]:
    """A shared ring of ``slots`` slots of ``nbytes``, or of fewer where /dev/shm is short.

    The slots are halved down to :data:`MIN_SLOTS` (the backlog, in the worker's private
    memory, keeps the caller from waiting on a small ring); if even those do not fit, the
    first error is raised (its message says how much was asked and what to do).
    """
    first: StorageError | None = None
    while True:
        try:
            return reserve_shared_memory(nbytes * slots), slots
        except StorageError as exc:
            first = first or exc
            if slots <= MIN_SLOTS:
                raise first from first.__cause__
            logger.debug("no room in /dev/shm for %d slots of %d bytes: fewer", slots, nbytes)
            slots = max(MIN_SLOTS, slots // 2)
