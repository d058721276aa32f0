"""The encoder worker: the side that owns the writers, in a thread or in a process of its own.

:class:`Worker` handles one request at a time (open a video, encode a frame, end a video) and
replies with freed slots and each video's :class:`~rlvideo.recording._messages.VideoResult`.
The thread transport calls it directly; :func:`serve_fd` is the encoder process's entry point,
serving the same loop over a socket (:mod:`rlvideo.recording._transport` starts it).

If the caller's process dies, the worker process sees its socket close and keeps every open
video as ``<name>.incomplete.<ext>``. It unlinks each shared-memory ring it is done with.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
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

__all__ = ["Worker", "serve_fd"]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)


class Worker:
    """Owns the writers; handles one request at a time. Replies through ``reply``."""

    def __init__(self, reply: Callable[[Reply], None]) -> None:
        from rlvideo.io.writer import VideoWriter  # the worker is where PyAV is needed

        self._writer_class = VideoWriter
        self._reply = reply
        self._writers: dict[int, VideoWriter] = {}
        self._failed: dict[int, BaseException] = {}
        self._kept: dict[int, tuple[Path | None, int]] = {}  # a failed video: kept as, frames
        self._ring: SharedMemory | None = None
        self._slot_bytes = 0
        self.reply_every = 1
        """How many freed slots the process worker gathers before it reports them."""

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
        elif isinstance(message, AttachRing):
            self._attach(message.name, message.slot_bytes)
            self.reply_every = message.reply_every
        elif isinstance(message, Stop):
            return False
        return True

    def abort_all(self) -> None:
        for video_id in list(self._writers):
            self._finish("abort", video_id)
        self._release_ring()

    def _write(self, message: WriteFrame) -> None:
        array = message.pixels
        try:
            if array is None:  # process: the pixels are in shared memory
                if self._ring is None:
                    raise RLVideoError("a frame arrived before its shared memory")
                offset = message.slot * self._slot_bytes
                array = np.ndarray(message.shape, np.uint8, self._ring.buf, offset)
            writer = self._writers.get(message.video_id)
            if writer is not None:  # converted by the caller already: not checked again
                writer.write_converted(array, duration=message.duration)
        except BaseException as exc:  # reported with the video's result
            self._fail(message.video_id, exc)
        finally:
            del array
            self._reply(SlotFree((message.slot,)))

    def _finish(self, how: Ending, video_id: int) -> None:
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

    def _attach(self, name: str, slot_bytes: int) -> None:
        """Read frames from the shared block ``name`` from now on (the one before is done)."""
        self._release_ring()
        self._slot_bytes = slot_bytes
        try:
            self._ring = SharedMemory(name=name)
        except OSError as exc:  # its frames fail, each reported with its video
            logger.error("cannot attach the encoder's shared memory %s: %s", name, exc)

    def _release_ring(self) -> None:
        """Close and unlink the shared block: every frame in it was encoded.

        The worker unlinks it (the caller may be gone; it does so too once the worker is, and
        the shared resource tracker if both were killed).
        """
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.close()
            with contextlib.suppress(FileNotFoundError):
                ring.unlink()


def serve_fd(fd: int, tracker: int | None = None) -> None:
    """Entry point of the encoder process (see :class:`ProcessTransport`).

    ``tracker``: the caller's resource tracker, shared as :mod:`multiprocessing` shares it
    with its children (the same private attribute): it unlinks the shared blocks left behind
    only once both processes are gone.
    """
    if tracker is not None:
        resource_tracker._resource_tracker._fd = tracker  # type: ignore[attr-defined]
    _serve(socket.socket(fileno=fd))


def _serve(connection: socket.socket) -> None:
    """The encoder process: serve messages until told to stop or until the parent is gone.

    Freed slots are gathered and reported ``reply_every`` at a time, and whenever the worker has
    read everything it was sent (before it waits for more): one message for many frames.
    """
    # Ctrl-C is the parent's to handle. SIGTERM too: sent to the whole process group (`timeout`,
    # a scheduler's preemption, `docker stop` with an init), the parent dies and this worker,
    # left running, sees its socket close and keeps the video as `.incomplete` by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    slots: list[int] = []

    def send(data: bytes) -> None:
        with contextlib.suppress(OSError):  # a dead parent cannot hear it; the files remain
            connection.sendall(data)

    def report_freed() -> None:
        if slots:
            send(freed(slots))
            slots.clear()

    def reply(message: Reply) -> None:
        if isinstance(message, SlotFree):
            slots.extend(message.slots)
            if len(slots) >= worker.reply_every:
                report_freed()
        else:
            report_freed()
            send(encode(message))

    worker = Worker(reply)
    inbox = bytearray()
    try:
        running = True
        while running:
            report_freed()  # everything read was handled: give the slots back before waiting
            try:
                data = connection.recv(1 << 16)
            except OSError:  # the parent died: keep what was recorded
                break
            if not data:
                break
            inbox += data
            for message in parse(inbox):
                if not worker.handle(message):
                    running = False
                    break
    finally:
        worker.abort_all()
