"""Ctrl-C held back while the hand-off to the encoder changes its state, let through while it waits.

Every step of the hand-off is whole or not done (:class:`_Interrupts`). A frame whose ``write``
raises KeyboardInterrupt was not handed over; every frame before it reaches the worker once: a
send cut short is resumed where it stopped, never repeated, and no reply is lost.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TypeVar

__all__ = ["deferred_interrupts"]

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
