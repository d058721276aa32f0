"""The exceptions rlvideo raises.

Every class is an :class:`RLVideoError` *and* the builtin exception a caller would
naturally catch, so ``except ValueError`` keeps working for code written against gym::

    RLVideoError(Exception)
     +-- InvalidFrameError        (+ ValueError)   a frame rlvideo cannot turn into video
     +-- InvalidArgumentError     (+ ValueError)   an argument out of range or of the wrong kind
     +-- RenderModeError          (+ ValueError)   an env whose render mode yields no image
     +-- VideoExistsError         (+ FileExistsError)  the target name is taken
     +-- StorageError             (+ OSError)      the folder or file cannot be written
     +-- EncoderError             (+ RuntimeError) FFmpeg refused or failed
     +-- MissingDependencyError   (+ ImportError)  an optional extra is not installed
     +-- WriterClosedError        (+ ValueError)   write() after close()

Messages say what was given, what was expected, and how to fix it.
"""

from __future__ import annotations

import errno
import os

__all__ = [
    "EncoderError",
    "InvalidArgumentError",
    "InvalidFrameError",
    "MissingDependencyError",
    "RLVideoError",
    "RenderModeError",
    "StorageError",
    "VideoExistsError",
    "WriterClosedError",
]


class RLVideoError(Exception):
    """Base class of every error rlvideo raises on purpose."""


class InvalidFrameError(RLVideoError, ValueError):
    """A frame has a shape, dtype or value range that cannot become video."""


class InvalidArgumentError(RLVideoError, ValueError):
    """An argument (fps, video_length, format, trigger, ...) is out of range or of a wrong kind."""


class RenderModeError(RLVideoError, ValueError):
    """The environment's render mode yields no RGB image (None, "human", "ansi")."""


class VideoExistsError(RLVideoError, FileExistsError):
    """The video's file name is already taken and ``overwrite`` is False."""


class StorageError(RLVideoError, OSError):
    """The destination folder or file cannot be created, written or renamed."""

    @classmethod
    def from_os_error(cls, exc: OSError, path: str | os.PathLike[str]) -> StorageError:
        """The error to raise when writing the video ``path`` failed with ``exc``.

        A full disk, an exhausted quota and a file size limit (``EFBIG``, ``ulimit -f``) say
        so and how to fix it; other failures give the system's reason.

        Example:
            >>> StorageError.from_os_error(OSError(errno.ENOSPC, "No space left on device"), "v/a.mp4")
            StorageError('no space left: the disk is full or the file is too large while writing v/a.mp4 (No space left on device). Free some space, raise the quota or file size limit, or record to another folder.')
        """  # noqa: E501 (doctest output stays on one line)
        reason = exc.strerror or str(exc)
        if exc.errno in _FULL:
            error = cls(
                f"no space left: the disk is full or the file is too large while writing "
                f"{os.fspath(path)} ({reason}). Free some space, raise the quota or file size "
                "limit, or record to another folder."
            )
        else:
            error = cls(f"cannot write {os.fspath(path)}: {reason}")
        error.errno = exc.errno  # for callers that test it, like any OSError
        return error


_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class EncoderError(RLVideoError, RuntimeError):
    """FFmpeg (through PyAV) refused the settings or failed while encoding."""


class MissingDependencyError(RLVideoError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class WriterClosedError(RLVideoError, ValueError):
    """A :class:`~rlvideo.VideoWriter` was used after ``close()`` (like I/O on a closed file)."""
