"""The encoder worker: the side that owns the writers, in a thread or in a process of its own.

:class:`Worker` handles one request at a time (open a video, encode a frame, end a video) and
replies with freed slots and each video's :class:`~rlvideo.recording._messages.VideoResult`.
The thread transport calls it directly; :func:`serve_fd` is the encoder process's entry point
(:mod:`rlvideo.recording._transport` starts it).

The encoder process runs two threads. A reader takes each frame out of its shared-memory slot
(a memory copy), gives the slots back in batches and queues the frames in a private
:class:`Backlog`, which the encoder (the main thread) drains at its own pace: the caller waits
only when the backlog's budget of bytes is spent and the ring is full. PyAV releases the GIL
while it converts and encodes, so the reader runs while x264 works. While the env waits on the
encoder (the caller in ``close()``, or out of room) or is gone (:attr:`Backlog.drain`) on a
machine with a core to spare, a third thread encodes while the main one converts the next
frame: 1.35-1.57x the pace for 1.08-1.27x the CPU on Pong's frames (benchmarks/bench_drain.py).
Not on a busy machine (the pacer's verdict): there the hand-offs between the two threads wait
on the scheduler, and the drain ran at 0.7-1.09x the pace of one thread.

If the caller's process dies, the worker process sees its socket close, encodes every frame
of its backlog and keeps every open video as ``<name>.incomplete.<ext>``. It unlinks each
shared-memory ring it is done with.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np

from rlvideo.errors import RLVideoError
from rlvideo.recording._messages import (
    AttachRing,
    Ending,
    EndVideo,
    Hurry,
    OpenVideo,
    Reply,
    Request,
    SlotFree,
    Stop,
    VideoResult,
    WriteFrame,
    encode,
    freed,
    parse,
)
from rlvideo.recording._pacing import Pacer, enabled_by_environment

__all__ = [
    "DRAIN_LINGER",
    "ENCODER_FRAMES",
    "Backlog",
    "Worker",
    "make_pacer",
    "serve_fd",
    "usable_cores",
]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)

ENCODER_FRAMES = 40
"""How many of its raw frames an open video's encoder buffers count as, against the budget.

Measured (x264 at rlvideo's settings, one thread): 34 frames at 600x400 (23 MB), 44 at 210x160
(4 MB), 15 at 84x84."""


DRAIN_LINGER = 0.25
"""Seconds the encoder stays on two threads after the env last waited on it.

An env out of room waits for one frame's room at a time, so the drain flickers on and off;
each switch back to one thread waits for the other thread's frames."""


class Worker:
    """Owns the writers; handles one request at a time. Replies through ``reply``."""

    def __init__(self, reply: Callable[[Reply], None]) -> None:
        from rlvideo.io.writer import VideoWriter  # the worker is where PyAV is needed

        self._writer_class = VideoWriter
        self._reply = reply
        self._writers: dict[int, VideoWriter] = {}
        self._failed: dict[int, BaseException] = {}
        self._kept: dict[int, tuple[Path | None, int]] = {}  # a failed video: kept as, frames
        self.pipelined = False
        """Convert and encode on two threads (the env waits: a second core is worth taking)."""
        self._lane: int | None = None  # the one video whose writer has the second thread

    def handle(self, message: Request) -> bool:
        """Act on one request; False means stop."""
        if isinstance(message, WriteFrame):
            self._write(message)
        elif isinstance(message, OpenVideo):
            try:  # one thread: the CPU is shared with the env loop, so spend as little as possible
                spec = message.spec.replace(threads=1)
                self._writers[message.video_id] = self._writer_class.from_spec(message.path, spec)
            except BaseException as exc:
                self._failed[message.video_id] = exc
        elif isinstance(message, EndVideo):
            self._finish(message.how, message.video_id)
        elif isinstance(message, (AttachRing, Hurry)):
            pass  # the process worker's reader takes these (a thread worker has no backlog)
        elif isinstance(message, Stop):
            return False
        return True

    def abort_all(self) -> None:
        for video_id in list(self._writers):
            self._finish("abort", video_id)

    def _write(self, message: WriteFrame) -> None:
        array = message.pixels
        try:
            if array is None:  # process: the reader could not take it out of shared memory
                raise RLVideoError("a frame arrived before its shared memory")
            writer = self._writers.get(message.video_id)
            if writer is not None:  # converted by the caller already: not checked again
                pipelined = self.pipelined and self._lane in (None, message.video_id)
                if pipelined:  # one writer at a time: two threads, not one per open video
                    self._lane = message.video_id
                writer.write_converted(array, duration=message.duration, pipelined=pipelined)
        except BaseException as exc:  # reported with the video's result
            self._fail(message.video_id, exc)
        finally:
            del array
            self._reply(SlotFree((message.slot,)))

    def _finish(self, how: Ending, video_id: int) -> None:
        if self._lane == video_id:
            self._lane = None
        writer = self._writers.pop(video_id, None)
        error = self._failed.pop(video_id, None)
        path: Path | None = None
        kept_as, frames = self._kept.pop(video_id, (None, 0))
        try:
            if writer is not None:
                frames = writer.frames_written
                if how == "close" and error is None:
                    path = writer.close()
                elif how == "discard":
                    writer.discard()
                else:
                    path = writer.abort()
        except BaseException as exc:
            error = exc
            kept_as = writer.kept_as if writer is not None else None
        self._reply(VideoResult(video_id, path, frames, error, kept_as))

    def _fail(self, video_id: int, exc: BaseException) -> None:
        if self._lane == video_id:
            self._lane = None
        writer = self._writers.pop(video_id, None)
        self._failed[video_id] = exc
        if writer is not None:
            try:
                kept = writer.abort()
                logger.error(
                    "video %s failed (%s); kept what was recorded as %s", video_id, exc, kept
                )
            except BaseException:
                logger.exception("video %s failed and could not be kept", video_id)
            self._kept[video_id] = (writer.kept_as, writer.frames_written)


def serve_fd(fd: int, tracker: int | None = None) -> None:
    """Entry point of the encoder process (see :class:`ProcessTransport`).

    ``tracker``: the caller's resource tracker, shared as :mod:`multiprocessing` shares it
    with its children (the same private attribute): it unlinks the shared blocks left behind
    only once both processes are gone.
    """
    if tracker is not None:
        resource_tracker._resource_tracker._fd = tracker  # type: ignore[attr-defined]
    _serve(socket.socket(fileno=fd))


class Backlog:
    """Requests on their way to the encoder, holding at most ``budget`` bytes of frames.

    The reader :meth:`put` s requests in order; a frame waits in :meth:`wait_for_room` until the
    frames before it leave ``budget`` bytes for it (one frame is let in whatever its size, so a
    budget of 0 holds one frame). The encoder :meth:`take` s them and says when each frame is
    :meth:`done`: its bytes count until it is encoded. Each open video's encoder buffers count
    too (:meth:`reserve`, :data:`ENCODER_FRAMES` of its frames, until :meth:`release`), so the
    budget bounds what recording holds in the worker, not only the frames waiting.

    Example:
        >>> backlog = Backlog(budget=100)
        >>> backlog.put("frame", 80)
        >>> backlog.has_room(30), backlog.has_room(20)
        (False, True)
        >>> backlog.take(), backlog.bytes
        (('frame', 80), 80)
        >>> backlog.done(80)
        >>> backlog.bytes, backlog.peak
        (0, 80)
        >>> backlog.reserve(video_id=1, nbytes=60)  # an open video's encoder
        >>> backlog.put("frame", 20)
        >>> backlog.has_room(20), backlog.has_room(21), backlog.held
        (True, False, 80)
        >>> backlog.release(video_id=1)
        >>> backlog.held
        20
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.bytes = 0
        """Bytes of frames taken out of the ring and not yet encoded."""
        self.peak = 0
        """The most :attr:`bytes` ever held."""
        self.ended = False
        """The end was put: the caller stopped or is gone."""
        self.waiting = False
        """The reader waits for room."""
        self.hurry = False
        """The caller waits for its videos (:class:`Hurry`), until its next frame comes."""
        self.reserved = 0
        """Bytes counted for the open videos' encoder buffers (:meth:`reserve`)."""
        self._reservations: dict[int, int] = {}
        self._items: deque[tuple[Request | None, int]] = deque()
        lock = threading.Lock()
        self._changed = threading.Condition(lock)
        self._held = threading.Condition(lock)  # the encoder holding back (see hold)
        self._wake_above = math.inf

    @property
    def held(self) -> int:
        """Bytes counted against the budget: frames waiting and encoder buffers."""
        return self.bytes + self.reserved

    def has_room(self, nbytes: int) -> bool:
        return self.bytes == 0 or self.bytes + self.reserved + nbytes <= self.budget

    def reserve(self, video_id: int, nbytes: int) -> None:
        """Count ``nbytes`` for ``video_id``'s encoder buffers until :meth:`release` (once)."""
        with self._changed:
            if video_id not in self._reservations:
                self._reservations[video_id] = nbytes
                self.reserved += nbytes

    def release(self, video_id: int) -> None:
        """``video_id`` ended: its encoder buffers are freed."""
        with self._changed:
            self.reserved -= self._reservations.pop(video_id, 0)
            self._changed.notify_all()

    def wait_for_room(self, nbytes: int) -> None:
        with self._changed:
            if self.has_room(nbytes):
                return
            self.waiting = True
            self._held.notify_all()  # an encoder holding back must make room now
            try:
                while not self.has_room(nbytes):
                    self._changed.wait()
            finally:
                self.waiting = False

    def put(self, message: Request | None, nbytes: int = 0) -> None:
        """Queue ``message`` (None: the end) holding ``nbytes`` of frame."""
        with self._changed:
            self._items.append((message, nbytes))
            self.bytes += nbytes
            self.peak = max(self.peak, self.bytes + self.reserved)
            self._changed.notify_all()
            if message is None:
                self.ended = True
            if message is None or self.held > self._wake_above:
                self._held.notify_all()

    @property
    def drain(self) -> bool:
        """The env waits on the encoder, or is done: encode at full pace, on two threads.

        The caller stopped or is gone (:attr:`ended`), waits for its videos (:attr:`hurry`) or
        for room (:attr:`waiting`).
        """
        return self.ended or self.hurry or self.waiting

    def hurry_up(self, hurry: bool = True) -> None:
        """Set :attr:`hurry` (the reader: a :class:`Hurry` came; False when a frame comes)."""
        if hurry == self.hurry:
            return
        with self._held:
            self.hurry = hurry
            if hurry:
                self._held.notify_all()

    def hold(self, seconds: float, wake_above: float = math.inf) -> None:
        """The encoder holds back: wait up to ``seconds`` at most.

        The caller's end or :class:`Hurry`, the reader waiting for room, or more than
        ``wake_above`` bytes held wake it sooner; a frame put does not (the encoder checks
        again after the wait).
        """
        with self._held:
            if self.drain or self.held > wake_above:
                return
            self._wake_above = wake_above
            try:
                self._held.wait(seconds)
            finally:
                self._wake_above = math.inf

    def take(self) -> tuple[Request | None, int]:
        """The oldest request and its bytes (waits for one)."""
        with self._changed:
            while not self._items:
                self._changed.wait()
            return self._items.popleft()

    def done(self, nbytes: int) -> None:
        """A frame of ``nbytes`` taken was encoded: its room is free again."""
        if nbytes:
            with self._changed:
                self.bytes -= nbytes
                self._changed.notify_all()


class _Reader:
    """The encoder process's reader thread: frames out of the ring into the backlog.

    It owns the shared-memory rings (attaches each, unlinks it once replaced or at the end) and
    reports freed slots ``reply_every`` at a time, and whenever it has handled everything it
    read: one notice per batch, which the caller reads when it polls, never waiting for it.
    """

    def __init__(
        self,
        connection: socket.socket,
        backlog: Backlog,
        send: Callable[[bytes], None],
        pacer: Pacer | None = None,
    ) -> None:
        self._connection = connection
        self._backlog = backlog
        self._pacer = pacer
        self._send = send
        self._ring: SharedMemory | None = None
        self._slot_bytes = 0
        self._reply_every = 1
        self._freed: list[int] = []
        self.copied = 0
        """Frames copied out of the ring so far."""

    def run(self) -> None:
        """Read until the caller says stop or is gone; the backlog then ends."""
        inbox = bytearray()
        try:
            running = True
            while running:
                self._report_freed()  # all read was handled: give the slots back before waiting
                try:
                    data = self._connection.recv(1 << 16)
                except OSError:  # the parent died: the backlog is encoded and kept
                    break
                if not data:
                    break
                inbox += data
                for message in parse(inbox):
                    if isinstance(message, Stop):
                        running = False
                        break
                    self._take(message)
        except BaseException:  # pragma: no cover - a bug here must not lose the backlog
            logger.exception("the rlvideo encoder's reader failed")
        finally:
            self._report_freed()
            self._release_ring()
            self._backlog.put(None)  # the end: the encoder keeps what it has

    def _take(self, message: Request) -> None:
        if isinstance(message, AttachRing):
            self._attach(message.name, message.slot_bytes)
            self._reply_every = message.reply_every
            self._backlog.budget = message.backlog
            return
        if isinstance(message, Hurry):
            self._backlog.hurry_up()
            return
        if not isinstance(message, WriteFrame) or message.pixels is not None:
            self._backlog.put(message)
            return
        self._backlog.hurry_up(False)  # the env records again: training comes first
        if self._pacer is not None:
            self._pacer.arrived()  # the env records
        nbytes = math.prod(message.shape)
        self._backlog.reserve(message.video_id, ENCODER_FRAMES * nbytes)
        self._backlog.wait_for_room(nbytes)  # freed slots go back reply_every at a time
        pixels = None
        if self._ring is not None:
            offset = message.slot * self._slot_bytes
            view = np.ndarray(message.shape, np.uint8, self._ring.buf, offset)
            pixels = view.copy()
            del view
            self.copied += 1
        self._backlog.put(
            WriteFrame(message.video_id, message.slot, message.shape, message.duration, pixels),
            nbytes if pixels is not None else 0,
        )
        self._freed.append(message.slot)
        if len(self._freed) >= self._reply_every:
            self._report_freed()

    def _report_freed(self) -> None:
        if self._freed:
            self._send(freed(self._freed))
            self._freed.clear()

    def _attach(self, name: str, slot_bytes: int) -> None:
        """Read frames from the shared block ``name`` from now on (the one before is done)."""
        self._release_ring()
        self._slot_bytes = slot_bytes
        try:
            self._ring = SharedMemory(name=name)
        except OSError as exc:  # its frames fail, each reported with its video
            logger.error("cannot attach the encoder's shared memory %s: %s", name, exc)

    def _release_ring(self) -> None:
        """Close and unlink the shared block: every frame in it was copied out.

        The worker unlinks it (the caller may be gone; it does so too once the worker is, and
        the shared resource tracker if both were killed).
        """
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.close()
            with contextlib.suppress(FileNotFoundError):
                ring.unlink()


def _serve(connection: socket.socket) -> None:
    """The encoder process: serve messages until told to stop or until the parent is gone.

    The reader thread (:class:`_Reader`) fills the backlog; this thread encodes what it holds,
    in order, to its end (the caller's Stop, or its socket closed: every frame read is encoded
    first), then keeps open videos as incomplete.
    """
    # Ctrl-C is the parent's to handle. SIGTERM too: sent to the whole process group (`timeout`,
    # a scheduler's preemption, `docker stop` with an init), the parent dies and this worker,
    # left running, sees its socket close and keeps the video as `.incomplete` by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sending = threading.Lock()  # the reader's freed slots and this thread's results

    def send(data: bytes) -> None:
        with sending, contextlib.suppress(OSError):  # a dead parent cannot hear it
            connection.sendall(data)

    def reply(message: Reply) -> None:
        if not isinstance(message, SlotFree):  # the reader gave the slot back when it copied
            send(encode(message))

    backlog = Backlog(budget=0)  # AttachRing, before any frame, sets the caller's budget
    pacer = make_pacer()
    reader = threading.Thread(
        target=_Reader(connection, backlog, send, pacer).run, name="rlvideo-reader", daemon=True
    )
    reader.start()  # frames are taken out of the ring while PyAV is imported, too
    worker = Worker(reply)
    drained_at = -math.inf
    two_cores = usable_cores() >= 2
    try:
        while True:
            message, nbytes = backlog.take()
            if message is None:
                break
            try:
                if nbytes and pacer.enabled:
                    _pace(pacer, backlog, nbytes)
                now = time.monotonic()  # once a frame
                if backlog.drain and two_cores and not pacer.contended:  # a core is free
                    drained_at = now
                worker.pipelined = now - drained_at < DRAIN_LINGER
                worker.handle(message)
            finally:
                backlog.done(nbytes)
                if isinstance(message, EndVideo):  # its encoder's buffers are gone
                    backlog.release(message.video_id)
        reader.join()  # it ended the backlog: it is done
    finally:
        worker.abort_all()


def usable_cores() -> int:
    """The cores this process may run on (its affinity; ``os.cpu_count()`` where unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def make_pacer() -> Pacer:
    """The encoder process's :class:`Pacer` (tests replace this to force a verdict)."""
    return Pacer(enabled=enabled_by_environment())


def _pace(pacer: Pacer, backlog: Backlog, nbytes: int) -> None:
    """Before encoding a frame of ``nbytes``: hold back while :class:`Pacer` says so."""
    if not pacer.measure():  # an idle machine: encode at once (the usual case)
        return
    while True:
        seconds = pacer.wait(
            backlog.held,
            nbytes,
            backlog.budget,
            ended=backlog.ended or backlog.hurry,
            reader_waiting=backlog.waiting,
        )
        if seconds <= 0:
            return
        backlog.hold(seconds, wake_above=pacer.high_water * backlog.budget - nbytes)
