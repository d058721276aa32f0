"""Encode videos off the caller's thread, so an env loop never waits for the encoder.

A :class:`BackgroundEncoder` runs :class:`~rlvideo.VideoWriter` objects in a worker: by default a
separate **process** fed through shared memory, or a **thread** (``kind="thread"``). The caller
checks and converts each frame (errors surface where the frame was given), copies it into one of
a fixed number of slots and moves on; the worker encodes it and frees the slot. When every slot
is taken the caller waits for one: memory is bounded whatever the speed of the encoder.

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
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import multiprocessing.connection
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rlvideo._files import check_target
from rlvideo.errors import InvalidArgumentError, RLVideoError, StorageError
from rlvideo.frames import FrameConverter
from rlvideo.spec import WriterSpec, check_duration

__all__ = [
    "AttachRing",
    "BackgroundEncoder",
    "EncoderKind",
    "EndVideo",
    "OpenVideo",
    "Reply",
    "Request",
    "SlotFree",
    "Stop",
    "VideoResult",
    "WriteFrame",
]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)

EncoderKind = Literal["process", "thread"]
Ending = Literal["close", "abort", "discard"]
DEFAULT_SLOTS = 8


@dataclass(frozen=True)
class VideoResult:
    """How one background video ended.

    Attributes:
        video_id: The id given to :meth:`BackgroundEncoder.open_video`.
        path: The final file; the ``.incomplete`` file when aborted; None when discarded or failed.
        frames: Frames the worker encoded.
        error: What went wrong, or None.
    """

    video_id: int
    path: Path | None
    frames: int
    error: BaseException | None = None


# -- the messages between caller and worker (they pickle: a process gets the same objects) ----
@dataclass(frozen=True)
class OpenVideo:
    """Start writing ``path`` with ``spec`` (checked by the caller)."""

    video_id: int
    path: str
    spec: WriterSpec


@dataclass(frozen=True)
class WriteFrame:
    """Encode the converted frame in ``slot`` (in shared memory; or ``pixels``, for a thread)."""

    video_id: int
    slot: int
    shape: tuple[int, ...]
    duration: float | None
    pixels: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class EndVideo:
    """Finish a video: ``"close"`` (final name), ``"abort"`` (incomplete) or ``"discard"``."""

    video_id: int
    how: Ending


@dataclass(frozen=True)
class AttachRing:
    """Frames now travel in the shared block ``name``, in slots of ``slot_bytes``."""

    name: str
    slot_bytes: int


@dataclass(frozen=True)
class Stop:
    """Keep every open video as incomplete and stop."""


@dataclass(frozen=True)
class SlotFree:
    """The worker is done with ``slot``: the caller may fill it again."""

    slot: int


Request = OpenVideo | WriteFrame | EndVideo | AttachRing | Stop
"""What the caller sends the worker."""
Reply = SlotFree | VideoResult
"""What the worker sends back."""


# -- the worker side: the same loop serves a thread or a process -------------------------------
class _Worker:
    """Owns the writers; handles one request at a time. Replies through ``reply``."""

    def __init__(self, reply: Callable[[Reply], None]) -> None:
        from rlvideo.encoder import VideoWriter  # the worker is where PyAV is needed

        self._writer_class = VideoWriter
        self._reply = reply
        self._writers: dict[int, VideoWriter] = {}
        self._failed: dict[int, BaseException] = {}
        self._ring: SharedMemory | None = None
        self._slot_bytes = 0

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
        elif isinstance(message, Stop):
            return False
        return True

    def abort_all(self) -> None:
        for video_id in list(self._writers):
            self._finish("abort", video_id)
        if self._ring is not None:
            self._ring.close()

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
            self._reply(SlotFree(message.slot))

    def _finish(self, how: Ending, video_id: int) -> None:
        writer = self._writers.pop(video_id, None)
        error = self._failed.pop(video_id, None)
        path: Path | None = None
        frames = writer.frames_written if writer is not None else 0
        try:
            if writer is not None:
                if how == "close" and error is None:
                    path = writer.close()
                elif how == "discard":
                    writer.discard()
                else:
                    path = writer.abort()
        except BaseException as exc:
            error = exc
        self._reply(VideoResult(video_id, path, frames, error))

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

    def _attach(self, name: str, slot_bytes: int) -> None:
        if self._ring is not None:
            self._ring.close()
        self._ring = SharedMemory(name=name)
        # the creator owns the block: this process must not unlink it when it exits
        resource_tracker.unregister(self._ring._name, "shared_memory")  # type: ignore[attr-defined]
        self._slot_bytes = slot_bytes


def _serve_fd(fd: int) -> None:
    """Entry point of the encoder process (see :class:`_ProcessTransport`)."""
    _serve(multiprocessing.connection.Connection(fd))


def _serve(connection: multiprocessing.connection.Connection) -> None:
    """The encoder process: serve messages until told to stop or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle

    def reply(message: Reply) -> None:
        with contextlib.suppress(OSError):  # a dead parent cannot hear it; the files remain
            connection.send(message)

    worker = _Worker(reply)
    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):  # the parent died: keep what was recorded
                break
            if not worker.handle(message):
                break
    finally:
        worker.abort_all()


# -- the caller side ---------------------------------------------------------------------------
class BackgroundEncoder:
    """Encode several videos at once off the caller's thread, with bounded memory.

    Args:
        kind: ``"process"`` (default: a worker process fed through shared memory) or
            ``"thread"``.
        slots: How many frames may wait for the encoder; the caller blocks beyond that.
        on_done: Called with each :class:`VideoResult`, in the caller's thread, from whichever
            call (``write``, ``poll``, ``close_video``, ``wait``) learns of it.

    Example:
        >>> import numpy as np
        >>> from rlvideo.spec import WriterSpec
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
        slots: int = DEFAULT_SLOTS,
        on_done: Callable[[VideoResult], None] | None = None,
    ) -> None:
        if kind not in ("process", "thread"):
            raise InvalidArgumentError(f'encoder kind must be "process" or "thread", got {kind!r}')
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise InvalidArgumentError(f"slots must be a positive int, got {slots!r}")
        self.kind: EncoderKind = kind
        self.slots = slots
        self.on_done = on_done
        self._converters: dict[int, FrameConverter] = {}
        self._pending: set[int] = set()
        self._free = list(range(slots))
        self._ring: SharedMemory | None = None
        self._slot_bytes = 0
        self._closed = False
        self._transport: _Transport | None = None  # started on the first video

    def __enter__(self) -> BackgroundEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(abort=exc_info[0] is not None)

    # -- videos --------------------------------------------------------------------------
    def open_video(self, video_id: int, path: str | Path, spec: WriterSpec) -> None:
        """Start a video written with ``spec`` (checked where it was built).

        The name is checked here, in the caller's thread: a taken one raises at once.
        """
        check_target(Path(path).absolute(), overwrite=spec.overwrite)
        transport = self._start()
        self._converters[video_id] = spec.frame_converter()
        self._pending.add(video_id)
        transport.send(OpenVideo(video_id, str(path), spec))

    def write(self, video_id: int, frame: Any, *, duration: float | None = None) -> None:
        """Queue one frame; returns once it is copied (waits only when every slot is taken).

        The frame is checked and converted here, once: errors surface where it was given, and
        the worker encodes it as it is.
        """
        converter = self._converters.get(video_id)
        if converter is None:
            raise InvalidArgumentError(f"video {video_id} is not open; call open_video first")
        if duration is not None:  # checked here, where the frame was given, like the frame
            duration = check_duration(duration, converter.count)
        array = converter(frame)
        transport = self._start()
        slot = self._take_slot(array.nbytes)
        if self._ring is None:  # thread: hand over a private copy
            transport.send(WriteFrame(video_id, slot, array.shape, duration, array.copy()))
            return
        target = np.ndarray(array.shape, np.uint8, self._ring.buf, slot * self._slot_bytes)
        np.copyto(target, array)
        del target
        transport.send(WriteFrame(video_id, slot, array.shape, duration))

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
        """Handle whatever the worker reported so far, without waiting."""
        if self._transport is not None:
            while (reply := self._transport.receive(block=False)) is not None:
                self._handle(reply)

    def wait(self) -> None:
        """Block until every video that was closed, aborted or discarded is finished."""
        while self._pending - set(self._converters) and self._transport is not None:
            self._handle(self._transport.receive(block=True))

    def shutdown(self, *, abort: bool = False) -> None:
        """Finish every open video (``abort``: as incomplete), wait, and stop the worker."""
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
        if self._converters.pop(video_id, None) is None:
            raise InvalidArgumentError(f"video {video_id} is not open")
        if self._transport is None:
            raise RLVideoError(f"video {video_id} has no worker")  # opened videos started it
        self._transport.send(EndVideo(video_id, how))
        self.poll()

    def _start(self) -> _Transport:
        if self._closed:
            raise RLVideoError("this BackgroundEncoder was shut down; create a new one")
        if self._transport is None:
            self._transport = _ProcessTransport() if self.kind == "process" else _ThreadTransport()
        return self._transport

    def _take_slot(self, nbytes: int) -> int:
        assert self._transport is not None
        if self.kind == "process" and nbytes > self._slot_bytes:
            self._grow_ring(nbytes)
        while not self._free:
            self._handle(self._transport.receive(block=True))
        return self._free.pop()

    def _grow_ring(self, nbytes: int) -> None:
        """(Re)allocate the shared slots for frames of ``nbytes``, once every slot is free."""
        assert self._transport is not None
        while len(self._free) < self.slots:
            self._handle(self._transport.receive(block=True))
        if self._ring is not None:
            self._ring.close()
            self._ring.unlink()
            self._transport.rings.remove(self._ring)
            self._ring, self._slot_bytes = None, 0
        ring = _reserve_shared_memory(nbytes * self.slots)
        self._ring, self._slot_bytes = ring, nbytes
        self._transport.rings.append(ring)
        self._transport.send(AttachRing(ring.name, nbytes))

    def _handle(self, reply: Reply | None) -> None:
        if reply is None:
            return
        if isinstance(reply, SlotFree):
            self._free.append(reply.slot)
            return
        self._pending.discard(reply.video_id)
        if reply.error is not None:
            logger.error("video %s failed: %s", reply.video_id, reply.error)
        if self.on_done is not None:
            self.on_done(reply)


def _reserve_shared_memory(size: int) -> SharedMemory:
    """A shared block of ``size`` bytes whose pages are all allocated now.

    Shared memory lives in a RAM file system (``/dev/shm``, 64 MB by default in Docker) and is
    allocated lazily: a block larger than the room left would be created fine, and the process
    killed by SIGBUS at the first frame copied into its missing pages. Reserving the pages up
    front turns that into an error, raised here.

    Raises:
        StorageError: If the block cannot be created or its pages reserved.
    """
    advice = (
        f"cannot reserve {size / 2**20:.1f} MB of shared memory for the encoder process's "
        "frame slots ({reason}). Free space in /dev/shm (Docker: --shm-size), or pass "
        'encoder="thread"'
    )
    try:
        ring = SharedMemory(create=True, size=size)
    except OSError as exc:
        raise StorageError(advice.format(reason=exc.strerror or exc)) from exc
    fd = getattr(ring, "_fd", -1)  # CPython's POSIX SharedMemory keeps its descriptor here
    if fd >= 0 and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):  # cannot tell: go on unreserved
                return ring
            ring.close()
            ring.unlink()
            raise StorageError(advice.format(reason=exc.strerror or exc)) from exc
    return ring


class _Transport:
    """How messages reach the worker: a pipe to a process, or queues to a thread."""

    def __init__(self) -> None:
        self.rings: list[SharedMemory] = []  # shared blocks to free when the worker stops
        _LIVE.add(self)

    def send(self, message: Request) -> None:
        raise NotImplementedError

    def receive(self, *, block: bool) -> Reply | None:
        raise NotImplementedError

    def stop(self) -> None:
        """Tell the worker to stop (it keeps open videos as incomplete) and wait for it."""
        _LIVE.discard(self)
        try:
            self._stop()
        finally:
            for ring in self.rings:
                ring.close()
                with contextlib.suppress(FileNotFoundError):
                    ring.unlink()
            self.rings.clear()

    def _stop(self) -> None:
        raise NotImplementedError


class _ProcessTransport(_Transport):
    """A worker process started as ``python -c``, talking over a socket pair.

    Unlike :mod:`multiprocessing`'s spawn, it never re-imports the caller's ``__main__``, so
    training scripts need no ``if __name__ == "__main__"`` guard.
    """

    def __init__(self) -> None:
        super().__init__()
        ours, theirs = socket.socketpair()
        code = f"from rlvideo._background import _serve_fd; _serve_fd({theirs.fileno()})"
        # the worker must import this very rlvideo, even one put on sys.path by hand
        package_root = str(Path(__file__).resolve().parent.parent)
        paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        self._process = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=[theirs.fileno()],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        )
        theirs.close()
        self._connection = multiprocessing.connection.Connection(ours.detach())

    def send(self, message: Request) -> None:
        try:
            self._connection.send(message)
        except OSError as exc:
            raise self._died() from exc

    def receive(self, *, block: bool) -> Reply | None:
        try:
            if not block and not self._connection.poll():
                return None
            reply: Reply = self._connection.recv()
        except (EOFError, OSError) as exc:
            raise self._died() from exc
        return reply

    def _died(self) -> RLVideoError:
        return RLVideoError(
            f"the rlvideo encoder process died (exit code {self._process.poll()}); "
            "the videos it held were kept as .incomplete files where possible"
        )

    def _stop(self) -> None:
        with contextlib.suppress(OSError):  # the process may be gone already
            self._connection.send(Stop())
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            logger.error("the rlvideo encoder process did not stop in 60 s; killing it")
            self._process.kill()
        self._connection.close()


class _ThreadTransport(_Transport):
    def __init__(self) -> None:
        super().__init__()
        self._inbox: queue.Queue[Request] = queue.Queue()
        self._outbox: queue.Queue[Reply] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="rlvideo-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        worker = _Worker(self._outbox.put)
        try:
            while worker.handle(self._inbox.get()):
                pass
        finally:
            worker.abort_all()

    def send(self, message: Request) -> None:
        self._inbox.put(message)

    def receive(self, *, block: bool) -> Reply | None:
        try:
            return self._outbox.get(block=block)
        except queue.Empty:
            return None

    def _stop(self) -> None:
        self._inbox.put(Stop())
        self._thread.join(timeout=60)


_LIVE: set[_Transport] = set()


@atexit.register
def _stop_workers_at_exit() -> None:
    """At interpreter exit, stop every worker: each keeps its open videos as incomplete files.

    A worker that outlives its parent anyway (the parent was killed) sees its socket close and
    does the same.
    """
    for transport in list(_LIVE):
        try:
            transport.stop()
        except Exception:
            logger.exception("could not stop an rlvideo encoder cleanly at exit")
