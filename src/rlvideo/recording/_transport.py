"""How messages reach the encoder worker: a socket to a process, or a queue to a thread.

The process worker reads frames from the slots of one shared-memory ring; the caller tells it
which slots hold which frames in fixed 24-byte records (:mod:`rlvideo.recording._messages`),
sent in batches (a quarter of the ring, sent as the next frame comes; or whatever is pending
when the caller must wait, sends a command, or polls with frames older than
:data:`~rlvideo.recording._encoder.STALE_SECONDS`), and the worker gives slots back in batches
too. The process is started as ``python -c``, so training scripts need no ``__main__`` guard.

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
import queue
import select
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

from rlvideo.errors import RLVideoError, StorageError
from rlvideo.recording._interrupts import deferred_interrupts
from rlvideo.recording._messages import Reply, Request, Stop, WriteFrame, encode, parse
from rlvideo.recording._worker import Worker

__all__ = [
    "ProcessTransport",
    "ThreadTransport",
    "Transport",
    "package_root",
    "reserve_shared_memory",
]

logger = logging.getLogger("rlvideo.background")  # the documented name (README, Logging)
_INTERRUPTS = deferred_interrupts()  # the process's one Ctrl-C gate

LOOK_EVERY = 0.005
"""How often (seconds) a poll that must not wait asks the worker's socket for replies."""


def reserve_shared_memory(size: int) -> SharedMemory:
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


class Transport:
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


def package_root() -> str:
    """The folder that holds this very ``rlvideo`` package: first on the worker's path.

    The worker must import the caller's rlvideo, even one put on ``sys.path`` by hand or a
    checkout beside an installed one (``rlvideo/recording/_transport.py``: three levels up).
    """
    return str(Path(__file__).resolve().parents[2])


def _worker_command(connection: int, tracker: int | None) -> list[str]:
    """The command line of the encoder process, serving the socket ``connection``."""
    code = f"from rlvideo.recording._worker import serve_fd; serve_fd({connection}, {tracker})"
    return [sys.executable, "-c", code]


class ProcessTransport(Transport):
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
        paths = [package_root(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
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
        self._next_look = 0.0  # ready() asks the socket again only from this time on
        self._used = False  # whether anything was queued for the worker (see _stop)
        _LIVE.add(self)

    def queue(self, message: Request) -> None:
        self._used = True
        if isinstance(message, WriteFrame) and message.pixels is None:
            if not self._gathered:
                self._since = time.monotonic()
            self._gathered += 1
        self._outbox += encode(message)

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
        """Whether a reply came; the socket is asked at most every :data:`LOOK_EVERY` seconds.

        The wrappers poll on every env step: a system call each time would cost the loop more
        than the rest of a frame's hand-off. Freed slots are read when the caller needs them
        (a blocking :meth:`receive`); a finished video is learnt within :data:`LOOK_EVERY`.
        """
        if self._replies:
            return True
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + LOOK_EVERY
        return bool(self._readable.poll(0))

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
        self._replies.extend(parse(self._inbox))

    def _died(self) -> RLVideoError:
        return RLVideoError(
            f"the rlvideo encoder process died (exit code {self._process.poll()}); "
            "the videos it held were kept as .incomplete files where possible"
        )

    def _stop(self) -> None:
        if not self._used:  # started ahead (BackgroundEncoder.start), never given anything:
            self._process.kill()  # nothing to keep, and no wait for its imports to finish
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


class ThreadTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self._inbox: queue.Queue[Request] = queue.Queue()
        self._replies: deque[Reply] = deque()
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="rlvideo-encoder", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def _run(self) -> None:
        worker = Worker(self._reply)
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


_LIVE: set[Transport] = set()


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
