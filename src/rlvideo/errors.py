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

Messages say what was given, what was expected, and how to fix it. Each error also carries
them as data, for code (and the ``rlvideo`` command) that words them its own way:

- ``path``: the file or URL concerned, or None;
- ``argument``: the Python argument at fault (``"fps"``, ``"overwrite"``), or None;
- ``value``: the value it had;
- ``fix_argument``: the argument to change to fix it (``"overwrite"`` for a taken name);
- ``parts``: the message in pieces, where each :class:`RLVideoError.Term` names an
  argument, so that :meth:`RLVideoError.worded` says it with another front end's names
  (``--fps``).

Example:
    >>> error = InvalidArgumentError(RLVideoError.Term("fps"), " must be above 0, got 0", value=0)
    >>> str(error), error.argument, error.value
    ('fps must be above 0, got 0', 'fps', 0)
    >>> error.worded({"fps": "--fps"})
    '--fps must be above 0, got 0'
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping

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
    """Base class of every error rlvideo raises on purpose.

    Args:
        *parts: The message, in one piece or several; :class:`Term` pieces name arguments.
        path: The file or URL concerned.
        argument: The Python argument at fault; by default the first :class:`Term` of
            ``parts``.
        value: The value ``argument`` had.
        fix_argument: The argument to change to fix it; by default ``argument``.
    """

    path: str | None
    argument: str | None
    value: object
    fix_argument: str | None
    parts: tuple[str, ...]

    class Term(str):
        """A piece of a message naming a Python argument or setting: ``fps``, ``overwrite=True``.

        It reads as itself in ``str(error)``; :meth:`RLVideoError.worded` replaces it by
        another front end's word for it (the ``rlvideo`` command's ``--fps``).
        """

        __slots__ = ()

    def __init__(
        self,
        *parts: str,
        path: str | os.PathLike[str] | None = None,
        argument: str | None = None,
        value: object = None,
        fix_argument: str | None = None,
    ) -> None:
        if parts:
            super().__init__("".join(parts))
        else:
            super().__init__()
        self.parts = parts
        self.path = None if path is None else os.fspath(path)
        if argument is None:
            argument = next((str(part) for part in parts if isinstance(part, self.Term)), None)
        self.argument = argument
        self.value = value
        self.fix_argument = argument if fix_argument is None else fix_argument

    def worded(self, terms: Mapping[str, str]) -> str:
        """The message with each :class:`Term` found in ``terms`` replaced by its word there.

        Example:
            >>> error = InvalidArgumentError(
            ...     RLVideoError.Term("name_prefix"), " 'a/b' is not a plain name (put folders in ",
            ...     RLVideoError.Term("video_folder"), ")")
            >>> error.worded({"name_prefix": "--name-prefix", "video_folder": "--out"})
            "--name-prefix 'a/b' is not a plain name (put folders in --out)"
        """
        return "".join(
            terms.get(part, part) if isinstance(part, self.Term) else part for part in self.parts
        )


class InvalidFrameError(RLVideoError, ValueError):
    """A frame has a shape, dtype or value range that cannot become video."""


class InvalidArgumentError(RLVideoError, ValueError):
    """An argument (fps, video_length, format, trigger, ...) is out of range or of a wrong kind."""


class RenderModeError(RLVideoError, ValueError):
    """The environment's render mode yields no RGB image (None, "human", "ansi")."""


class VideoExistsError(RLVideoError, FileExistsError):
    """The video's file name is already taken and ``overwrite`` is False.

    ``path`` is the taken file (or URL), ``argument`` and ``fix_argument`` are ``"overwrite"``
    (``value`` False), and ``kept`` is where the new video went instead, or None.
    """

    kept: str | None = None

    @classmethod
    def for_path(
        cls,
        path: str | os.PathLike[str],
        *,
        kept_as: str | os.PathLike[str] | None = None,
        kept_at: str | os.PathLike[str] | None = None,
    ) -> VideoExistsError:
        """The error for the taken ``path``, saying how to fix it and where the new file went.

        Args:
            path: The file or URL that exists.
            kept_as: The name the new video was renamed to instead (``<name>.incomplete``).
            kept_at: Where the new file stays, not moved (a staging folder).

        Example:
            >>> error = VideoExistsError.for_path("v/a.mp4", kept_at="staging/a.mp4")
            >>> str(error)
            'v/a.mp4 already exists. Pass overwrite=True to replace it, or choose another name. The new file is kept at staging/a.mp4.'
            >>> error.path, error.argument, error.kept
            ('v/a.mp4', 'overwrite', 'staging/a.mp4')
        """  # noqa: E501 (doctest output stays on one line)
        parts = [
            f"{os.fspath(path)} already exists. Pass ",
            cls.Term("overwrite=True"),
            " to replace it, or choose another ",
            cls.Term("name"),
            ".",
        ]
        if kept_as is not None:
            parts.append(f" The new video was kept as {os.fspath(kept_as)}.")
        if kept_at is not None:
            parts.append(f" The new file is kept at {os.fspath(kept_at)}.")
        error = cls(*parts, path=path, argument="overwrite", value=False)
        kept = kept_as if kept_as is not None else kept_at
        error.kept = None if kept is None else os.fspath(kept)
        return error


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
                "limit, or record to another folder.",
                path=path,
            )
        else:
            error = cls(f"cannot write {os.fspath(path)}: {reason}", path=path)
        error.errno = exc.errno  # for callers that test it, like any OSError
        return error


_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class EncoderError(RLVideoError, RuntimeError):
    """FFmpeg (through PyAV) refused the settings or failed while encoding."""


class MissingDependencyError(RLVideoError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class WriterClosedError(RLVideoError, ValueError):
    """A :class:`~rlvideo.VideoWriter` was used after ``close()`` (like I/O on a closed file)."""
