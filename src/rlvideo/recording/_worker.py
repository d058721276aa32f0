"""Encode videos off the caller's thread, so an env loop never waits for the encoder.

A :class:`BackgroundEncoder` runs :class:`~rlvideo.VideoWriter` objects in a worker: by default a
separate **process** fed through shared memory, or a **thread** (``kind="thread"``). The caller
checks and converts each frame (errors surface where the frame was given), copies it into one of
a fixed number of slots and moves on; the worker encodes it and frees the slot. When every slot
is taken the caller waits for one: memory is bounded whatever the speed of the encoder.

The hand-off costs a few microseconds per frame (``benchmarks/bench_record_video.py``): frames
are not messages. The process worker reads the slots of one shared-memory ring; the caller tells
it which slots hold which frames in fixed 24-byte records, sent in batches (a quarter of the
ring, sent as the next frame comes; or whatever is pending when the caller must wait, sends a
command, or polls with frames older than :data:`STALE_SECONDS`), and the worker gives slots
back in batches too. A frame is
copied once, into its slot; nothing is pickled per frame, and one system call carries many
records each way. The ring holds :data:`RING_BYTES` of frames, at least 8 and at most 64 slots
(64 Atari frames, 8 CartPole or 1280x720 frames): small frames get more slots, so bigger
batches, and memory stays bounded (/dev/shm is 64 MB in Docker by default).

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

Ctrl-C: every step of the hand-off is whole or not done (:class:`_Interrupts`). A frame whose
``write`` raises KeyboardInterrupt was not handed over; every frame before it reaches the worker
once: a send cut short is resumed where it stopped, never repeated, and no reply is lost.

Shared memory: the worker shares the caller's :mod:`multiprocessing` resource tracker and
unlinks each ring when it is done with it, so a ring outlives a caller killed before the worker
attached it (its frames are kept), and is unlinked in every ending: by the worker, by the caller
once the worker is gone, or by the tracker once both were killed.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import pickle
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from rlvideo._core.frames import FrameConverter
from rlvideo._core.spec import WriterSpec, check_duration
from rlvideo.errors import InvalidArgumentError, RLVideoError, StorageError
from rlvideo.io._files import check_target

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
    "deferred_interrupts",
]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)

EncoderKind = Literal["process", "thread"]
Ending = Literal["close", "abort", "discard"]
DEFAULT_SLOTS = 8
"""The thread worker's slots, and the fewest the process worker's ring has."""
MAX_SLOTS = 64
"""The most slots the process worker's ring has (small frames)."""
RING_BYTES = 6 * 2**20
"""How many bytes of frames the process worker's ring holds, within those slot counts."""
STALE_SECONDS = 0.02
"""A frame waits at most this long for its batch when the caller polls (every env step)."""


@dataclass(frozen=True)
class VideoResult:
    """How one background video ended.

    Attributes:
        video_id: The id given to :meth:`BackgroundEncoder.open_video`.
        path: The final file; the ``.incomplete`` file when aborted; None when discarded or failed.
        frames: Frames the worker encoded.
        error: What went wrong, or None.
        kept_as: Where a failed video's frames were kept (``.incomplete``), or None.
    """

    video_id: int
    path: Path | None
    frames: int
    error: BaseException | None = None
    kept_as: Path | None = None


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
    """Frames now travel in the shared block ``name``, in slots of ``slot_bytes``.

    The worker gives slots back ``reply_every`` at a time, or as soon as it has nothing to do.
    """

    name: str
    slot_bytes: int
    reply_every: int = 1


@dataclass(frozen=True)
class Stop:
    """Keep every open video as incomplete and stop."""


@dataclass(frozen=True)
class SlotFree:
    """The worker is done with ``slots``: the caller may fill them again."""

    slots: tuple[int, ...]


Request = OpenVideo | WriteFrame | EndVideo | AttachRing | Stop
"""What the caller sends the worker."""
Reply = SlotFree | VideoResult
"""What the worker sends back."""


# -- the worker side: the same loop serves a thread or a process -------------------------------
class _Worker:
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


def _serve_fd(fd: int, tracker: int | None = None) -> None:
    """Entry point of the encoder process (see :class:`_ProcessTransport`).

    ``tracker``: the caller's resource tracker, shared as :mod:`multiprocessing` shares it
    with its children (the same private attribute): it unlinks the shared blocks left behind
    only once both processes are gone.
    """
    if tracker is not None:
        resource_tracker._resource_tracker._fd = tracker  # type: ignore[attr-defined]
    _serve(socket.socket(fileno=fd))


# The wire between caller and worker: each message is a 5-byte header (kind, payload length) and
# its payload. Frames are fixed records, freed slots an array of uint32: neither is pickled.
_HEADER = struct.Struct("<BI")
_FRAME = struct.Struct("<IIIIId")  # video_id, slot, height, width, channels (0: gray), duration
_PICKLED, _FRAME_RECORD, _FREED = 1, 2, 3
_NO_DURATION = float("nan")


def _frame_record(message: WriteFrame) -> bytes:
    height, width, *channels = message.shape
    duration = _NO_DURATION if message.duration is None else message.duration
    record = _FRAME.pack(
        message.video_id, message.slot, height, width, channels[0] if channels else 0, duration
    )
    return _HEADER.pack(_FRAME_RECORD, _FRAME.size) + record


def _pickled(message: Request | Reply) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(_PICKLED, len(data)) + data


def _freed(slots: list[int]) -> bytes:
    return _HEADER.pack(_FREED, 4 * len(slots)) + struct.pack(f"<{len(slots)}I", *slots)


def _messages(buffer: bytearray) -> list[Any]:
    """Take every complete message off the front of ``buffer``."""
    found: list[Any] = []
    offset = 0
    while len(buffer) - offset >= _HEADER.size:
        kind, size = _HEADER.unpack_from(buffer, offset)
        start = offset + _HEADER.size
        if len(buffer) - start < size:
            break
        if kind == _FRAME_RECORD:
            video_id, slot, height, width, channels, duration = _FRAME.unpack_from(buffer, start)
            shape = (height, width, channels) if channels else (height, width)
            found.append(
                WriteFrame(video_id, slot, shape, None if duration != duration else duration)
            )
        elif kind == _FREED:
            found.append(SlotFree(struct.unpack_from(f"<{size // 4}I", buffer, start)))
        else:
            found.append(pickle.loads(buffer[start : start + size]))
        offset = start + size
    del buffer[:offset]
    return found


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
    freed: list[int] = []

    def send(data: bytes) -> None:
        with contextlib.suppress(OSError):  # a dead parent cannot hear it; the files remain
            connection.sendall(data)

    def report_freed() -> None:
        if freed:
            send(_freed(freed))
            freed.clear()

    def reply(message: Reply) -> None:
        if isinstance(message, SlotFree):
            freed.extend(message.slots)
            if len(freed) >= worker.reply_every:
                report_freed()
        else:
            report_freed()
            send(_pickled(message))

    worker = _Worker(reply)
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
            for message in _messages(inbox):
                if not worker.handle(message):
                    running = False
                    break
    finally:
        worker.abort_all()


# -- Ctrl-C and the hand-off -------------------------------------------------------------------
_T = TypeVar("_T")
_SignalHandler = Callable[[int, FrameType | None], Any]


def _signal_functions() -> tuple[Callable[[int], object], Callable[[int, Any], object]]:
    """``getsignal`` and ``signal`` as C functions, without the Enum conversion of ``signal``.

    About 10x faster than ``signal``'s wrappers: a hand-off swaps the SIGINT handler twice.
    """
    try:
        import _signal  # type: ignore[import-not-found]  # CPython's, with no stub
    except ImportError:  # pragma: no cover - another Python
        return signal.getsignal, signal.signal
    return _signal.getsignal, _signal.signal


_getsignal, _setsignal = _signal_functions()


class _Interrupts:
    """Ctrl-C held back while the hand-off changes its state, and let through while it waits.

    A KeyboardInterrupt raised between a socket send and the note of what it sent would send
    the same bytes again, or tear a record in two; raised between taking a reply and acting on
    it, it would lose the reply (and its slots, or the video's result). So every step that
    moves data and notes it runs inside ``with _INTERRUPTS:``: SIGINT's handler is swapped for
    one that only notes the signal, and on the way out the original handler runs for each
    signal noted (the default one raises KeyboardInterrupt there, the state whole). Waits
    change nothing, so inside a block they let a Ctrl-C through at once
    (:meth:`let_through`): a blocked call stays interruptible. :meth:`checkpoint` raises a
    held Ctrl-C before a commit (a frame is then not handed over, and ``write`` says so by
    raising). Blocks nest: the outermost delivers, so a caller that keeps its own count of
    frames handed over can put its count in the same block (``with deferred_interrupts():``)
    and the two never disagree.

    Python runs signal handlers in the main thread only: other threads hold nothing back (no
    KeyboardInterrupt is raised in them).
    """

    def __init__(self) -> None:
        self._depth = 0
        self._handler: _SignalHandler | None = None  # the handler held back; None: not holding
        self._caught: list[FrameType | None] = []
        self._waiting = False  # inside let_through: a Ctrl-C goes through at once
        self._outer_waiting: list[bool] = []  # the flag of each enclosing block
        self._hold_signal: _SignalHandler = self._hold  # one object: what is installed

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._depth += 1
        if self._depth > 1:  # a block inside a wait (a callback's) holds Ctrl-C back again
            self._outer_waiting.append(self._waiting)
            self._waiting = False
            return
        handler = _getsignal(signal.SIGINT)
        if not callable(handler):  # ignored, the default action, or set outside Python
            return
        try:  # raises a Ctrl-C that came before this block: nothing was done yet
            _setsignal(signal.SIGINT, self._hold_signal)
        except ValueError:  # not the main interpreter: signals are not ours to hold
            return
        except BaseException:
            self._depth = 0
            raise
        self._handler = handler

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._depth -= 1
        if self._depth:
            self._waiting = self._outer_waiting.pop()
            return
        handler = self._handler
        if handler is None:
            return
        self._handler = None
        if _getsignal(signal.SIGINT) is self._hold_signal:  # else someone set theirs inside
            _setsignal(signal.SIGINT, handler)
        self._deliver(handler)

    def checkpoint(self) -> None:
        """Raise (deliver) a Ctrl-C held back so far: before a commit, it stops the commit."""
        handler = self._handler
        if handler is not None and self._caught and self._in_main_thread():
            self._deliver(handler)

    def let_through(self, wait: Callable[[], _T], *, held_first: bool = True) -> _T:
        """Call ``wait``, which changes nothing, with Ctrl-C delivered at once as outside.

        ``held_first``: a Ctrl-C held back so far is delivered first (no waiting with one
        pending); False leaves it for the end of the block (``wait`` must run: a callback).
        """
        handler = self._handler
        if handler is None or not self._in_main_thread():
            return wait()
        waiting, self._waiting = self._waiting, True
        try:
            if held_first:
                self._deliver(handler)
            return wait()
        finally:
            self._waiting = waiting

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        handler = self._handler
        if self._waiting and handler is not None:
            handler(signum, frame)
        else:
            self._caught.append(frame)

    def _deliver(self, handler: _SignalHandler) -> None:
        caught, self._caught = self._caught, []
        for frame in caught:
            handler(signal.SIGINT, frame)

    @staticmethod
    def _in_main_thread() -> bool:
        return threading.current_thread() is threading.main_thread()


_INTERRUPTS = _Interrupts()


def deferred_interrupts() -> _Interrupts:
    """A ``with`` block in which Ctrl-C waits until the block is done (blocked waits excepted).

    The encoder's own steps run in one; a caller that counts the frames it handed over puts
    the ``write`` and its count in one too, so a Ctrl-C cannot fall between them.

    Example:
        >>> with deferred_interrupts():
        ...     counted = 1  # e.g. encoder.write(...) and the caller's count of it
    """
    return _INTERRUPTS


# -- the caller side ---------------------------------------------------------------------------
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
    ) -> None:
        if kind not in ("process", "thread"):
            raise InvalidArgumentError(f'encoder kind must be "process" or "thread", got {kind!r}')
        if slots is not None and (
            isinstance(slots, bool) or not isinstance(slots, int) or slots < 1
        ):
            raise InvalidArgumentError(f"slots must be a positive int or None, got {slots!r}")
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
        self._transport: _Transport | None = None  # started on the first video

    def __enter__(self) -> BackgroundEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(abort=exc_info[0] is not None)

    # -- videos --------------------------------------------------------------------------
    # Each call commits its change to the worker (a frame, a command) in one step that a
    # Ctrl-C cannot split (see _Interrupts): a Ctrl-C before the commit stops the call with
    # nothing handed over; waits before it let the Ctrl-C through; sends and replies after it
    # are noted exactly, so nothing is sent twice, torn, or lost.
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

    def wait(self) -> None:
        """Block until every video that was closed, aborted or discarded is finished."""
        self._report()
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

    def _start(self) -> _Transport:
        if self._closed:
            raise RLVideoError("this BackgroundEncoder was shut down; create a new one")
        if self._transport is None:
            with _INTERRUPTS:  # started whole, or not at all
                self._transport = (
                    _ProcessTransport() if self.kind == "process" else _ThreadTransport()
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
        self._free, self.slots = list(range(slots)), slots
        ring = _reserve_shared_memory(nbytes * slots)
        self._transport.rings.append(ring)
        self._ring, self._slot_bytes = ring, nbytes
        self._transport.batch = max(1, slots // 4)
        self._transport.queue(AttachRing(ring.name, nbytes, reply_every=max(1, slots // 4)))
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
        (:meth:`_Interrupts.let_through`).
        """
        on_done = self.on_done
        while self._results:
            with _INTERRUPTS:
                _INTERRUPTS.checkpoint()
                result = self._results.popleft()
                if on_done is not None:
                    on_done(result)


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
    """How messages reach the worker: a socket to a process, or a queue to a thread.

    :meth:`queue` commits a message (the caller holds a hand-off block, :class:`_Interrupts`);
    :meth:`flush` sends what was committed, each byte once; :meth:`receive` takes one reply
    (inside a block too: once returned, it is gone from here). Their waits let Ctrl-C through.
    """

    def __init__(self) -> None:
        self.rings: list[SharedMemory] = []  # shared blocks to free when the worker is gone
        self.batch = 1  # frames gathered before they are sent on

    def send(self, message: Request) -> None:
        """Commit ``message`` and send it now."""
        with _INTERRUPTS:
            self.queue(message)
        self.flush()

    def queue(self, message: Request) -> None:
        """Commit ``message``: it reaches the worker, once, with the next :meth:`flush`."""
        self.send(message)

    def make_room(self) -> None:
        """Send the batch gathered, if it is full."""

    def flush(self, *, older_than: float = 0.0) -> None:
        """Send what was committed (only if the oldest frame waited ``older_than``)."""

    def ready(self) -> bool:
        """Whether :meth:`receive` may have a reply without waiting (True: cannot tell)."""
        return True

    def receive(self, *, block: bool) -> Reply | None:
        raise NotImplementedError

    def stop(self) -> None:
        """Tell the worker to stop (it keeps open videos as incomplete) and wait for it.

        The shared blocks are unlinked once the worker is gone (it unlinks those it used
        itself). If the wait is cut short (Ctrl-C), they are left to the worker, which may
        still need them: it unlinks them when done, or the resource tracker when both
        processes are gone.
        """
        _LIVE.discard(self)
        stopped = False
        try:
            self._stop()
            stopped = True
        finally:
            for ring in self.rings:
                ring.close()
                if stopped:
                    with contextlib.suppress(FileNotFoundError):
                        ring.unlink()
            self.rings.clear()

    def _stop(self) -> None:
        raise NotImplementedError


def _worker_command(connection: int, tracker: int | None) -> list[str]:
    """The command line of the encoder process, serving the socket ``connection``."""
    code = f"from rlvideo.recording._worker import _serve_fd; _serve_fd({connection}, {tracker})"
    return [sys.executable, "-c", code]


class _ProcessTransport(_Transport):
    """A worker process started as ``python -c``, talking over a socket pair.

    Unlike :mod:`multiprocessing`'s spawn, it never re-imports the caller's ``__main__``, so
    training scripts need no ``if __name__ == "__main__"`` guard. Frame records are gathered
    :attr:`batch` at a time and sent with the next frame once the batch is full, a command,
    a wait or a stale poll (see the module's docstring).

    The worker shares the caller's :mod:`multiprocessing` resource tracker (as the children
    of :mod:`multiprocessing` do): the tracker unlinks a shared block left behind only once
    both processes are gone, so a caller killed while the worker still starts (the ring
    created and filled, not yet attached) loses no frame, and a worker killed too leaks no
    block in ``/dev/shm``.
    """

    def __init__(self) -> None:
        super().__init__()
        ours, theirs = socket.socketpair()
        tracker = resource_tracker.getfd()
        fds = [theirs.fileno()] if tracker is None else [theirs.fileno(), tracker]
        # the worker must import this very rlvideo, even one put on sys.path by hand
        package_root = str(Path(__file__).resolve().parent.parent)
        paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        try:
            self._process = subprocess.Popen(
                _worker_command(theirs.fileno(), tracker),
                pass_fds=fds,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._socket = ours
        self._readable = select.poll()
        self._readable.register(ours, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(ours, select.POLLOUT)
        self._outbox = bytearray()  # committed, not yet sent (a record may be sent in part)
        self._gathered = 0  # frame records committed since the outbox was last empty
        self._since = 0.0  # when the oldest of them was committed
        self._inbox = bytearray()
        self._replies: deque[Reply] = deque()
        _LIVE.add(self)

    def queue(self, message: Request) -> None:
        if isinstance(message, WriteFrame) and message.pixels is None:
            record = _frame_record(message)
            if not self._gathered:
                self._since = time.monotonic()
            self._outbox += record
            self._gathered += 1
        else:
            self._outbox += _pickled(message)

    def make_room(self) -> None:
        if self._gathered >= self.batch:
            self.flush()

    def flush(self, *, older_than: float = 0.0) -> None:
        if not self._outbox or (older_than and time.monotonic() - self._since < older_than):
            return
        with _INTERRUPTS:  # what went out is noted before a Ctrl-C is raised
            while self._outbox:
                try:
                    sent = self._socket.send(self._outbox, socket.MSG_DONTWAIT)
                except BlockingIOError:  # the worker is behind: wait for room
                    _INTERRUPTS.let_through(self._writable.poll)
                    continue
                except OSError as exc:
                    raise self._died() from exc
                self._sent(sent)

    def _sent(self, count: int) -> None:
        """The first ``count`` bytes of the outbox went out (maybe part of a record)."""
        del self._outbox[:count]
        if not self._outbox:
            self._gathered = 0

    def ready(self) -> bool:
        return bool(self._replies) or bool(self._readable.poll(0))

    def receive(self, *, block: bool) -> Reply | None:
        if block:
            self.flush()  # the worker must have every frame before the caller waits on it
        while not self._replies:
            if block:
                _INTERRUPTS.let_through(self._readable.poll)
            elif not self._readable.poll(0):
                return None
            self._read()
            if not block:
                break
        return self._replies.popleft() if self._replies else None

    def _read(self) -> None:
        """Take whatever the worker sent so far (without waiting) into the replies."""
        try:
            data = self._socket.recv(1 << 16, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as exc:
            raise self._died() from exc
        if not data:
            raise self._died()
        self._inbox += data
        self._replies.extend(_messages(self._inbox))

    def _died(self) -> RLVideoError:
        return RLVideoError(
            f"the rlvideo encoder process died (exit code {self._process.poll()}); "
            "the videos it held were kept as .incomplete files where possible"
        )

    def _stop(self) -> None:
        try:
            with contextlib.suppress(RLVideoError):  # the process may be gone already
                self.send(Stop())
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.error("the rlvideo encoder process did not stop in 60 s; killing it")
                self._process.kill()
                self._process.wait()
        finally:
            self._socket.close()  # cut short: the worker sees the end and keeps what it has


class _ThreadTransport(_Transport):
    def __init__(self) -> None:
        super().__init__()
        self._inbox: queue.Queue[Request] = queue.Queue()
        self._replies: deque[Reply] = deque()
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="rlvideo-encoder", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def _run(self) -> None:
        worker = _Worker(self._reply)
        try:
            while worker.handle(self._inbox.get()):
                pass
        finally:
            worker.abort_all()

    def _reply(self, message: Reply) -> None:
        with self._arrived:
            self._replies.append(message)
            self._arrived.notify()

    def queue(self, message: Request) -> None:
        self._inbox.put(message)

    def ready(self) -> bool:
        return bool(self._replies)

    def receive(self, *, block: bool) -> Reply | None:
        if block and not self._replies:
            _INTERRUPTS.let_through(self._wait)
        return self._replies.popleft() if self._replies else None

    def _wait(self) -> None:
        with self._arrived:
            while not self._replies:
                self._arrived.wait()

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
