"""What every destination is: :class:`Destination`, and how a folder is told from a URL.

A location is an fsspec URL (``s3://bucket/videos``, ``memory://runs``,
``simplecache::s3://...``) or a local path; a ``file://`` URL is its path. The two
implementations are :class:`~rlvideo.storage.local.LocalDestination` and
:class:`~rlvideo.storage.remote.RemoteDestination`;
:func:`~rlvideo.storage.remote.open_destination` picks one.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlvideo._core.metadata import SavedPath
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "Destination",
    "check_storage_options",
    "is_url",
    "local_path",
    "resolve_location",
    "strip_slashes",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*(://|::)")


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for an fsspec URL (``s3://bucket/videos``, ``simplecache::s3://...``), False for a path.

    Example:
        >>> is_url("s3://bucket/videos"), is_url("memory://runs"), is_url("runs/videos")
        (True, True, False)
        >>> is_url("C:/videos"), is_url("file:///tmp/videos")
        (False, True)
    """
    return bool(_URL.match(os.fspath(location)))


def strip_slashes(url: str) -> str:
    """The URL without trailing slashes (``s3://`` itself keeps its own).

    Example:
        >>> strip_slashes("s3://bucket/videos/")
        's3://bucket/videos'
    """
    head, separator, tail = url.partition("://")
    return head + separator + tail.rstrip("/")


def local_path(location: str) -> str:
    """A plain path, or the path of a ``file://`` URL, percent-decoded (``%20`` is a space).

    Example:
        >>> local_path("file:///tmp/my%20videos"), local_path("file://localhost/tmp/v")
        ('/tmp/my videos', '/tmp/v')
        >>> local_path("runs/my%20videos")  # a plain path is taken as written
        'runs/my%20videos'
    """
    if not location.startswith("file://"):
        return location
    parts = urllib.parse.urlsplit(location)
    if parts.netloc not in ("", "localhost"):
        raise InvalidArgumentError(
            f"{location} names the host {parts.netloc!r}; a file:// URL must be local "
            "(file:///path or file://localhost/path)"
        )
    return urllib.request.url2pathname(parts.path)


def resolve_location(video_folder: str | os.PathLike[str]) -> str:
    """The folder as the wrappers report it: an absolute path, or the URL as given.

    Example:
        >>> resolve_location("s3://bucket/videos/")
        's3://bucket/videos'
        >>> resolve_location("file:///tmp/videos")
        '/tmp/videos'
    """
    text = os.fspath(video_folder)
    if is_url(text) and not text.startswith("file://"):
        return strip_slashes(text)
    return os.path.abspath(local_path(text))


def check_storage_options(storage_options: Any) -> dict[str, Any] | None:
    """Return ``storage_options`` as a dict (None stays None), or raise a clear error.

    Example:
        >>> check_storage_options({"anon": True})
        {'anon': True}
        >>> check_storage_options("anon")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: storage_options must be a dict of fsspec options such as {"key": ..., "secret": ...}, or None; got a str
    """  # noqa: E501 (doctest output stays on one line)
    if storage_options is None:
        return None
    if not isinstance(storage_options, Mapping) or not all(
        isinstance(key, str) for key in storage_options
    ):
        raise InvalidArgumentError(
            'storage_options must be a dict of fsspec options such as {"key": ..., '
            f'"secret": ...}}, or None; got a {type(storage_options).__name__}'
        )  # the value itself may hold credentials: never echo it
    return dict(storage_options)


class Destination(ABC):
    """A folder that receives finished files, addressed by plain file names.

    Writers write to :meth:`staging_path`; :meth:`publish` moves the finished file to
    :meth:`final`. Use it as a context manager, or call :meth:`close`, to clean the staging
    folder.
    """

    location: str
    """The folder: an absolute path, or the URL as given (without a trailing slash)."""
    remote: bool
    """Whether files are uploaded (True) or written in place (False)."""

    @abstractmethod
    def prepare(self) -> None:
        """Create the folder if the filesystem has folders.

        Raises:
            StorageError: If it cannot be created.
        """

    @abstractmethod
    def final(self, name: str) -> SavedPath:
        """Where the file ``name`` ends up: a Path when local, a URL when remote."""

    def final_text(self, name: str) -> str:
        """:meth:`final` as text (a local destination skips making a Path)."""
        return os.fspath(self.final(name))

    @abstractmethod
    def staging_path(self, name: str, *, unique: str | None = None) -> Path:
        """The local file a writer should write for ``name``.

        Args:
            name: The file name.
            unique: A key that keeps files of the same name apart while they wait for upload
                (remote only; a local destination writes in place).
        """

    @abstractmethod
    def check_free(self, name: str, *, overwrite: bool | None, wait: bool = False) -> bool:
        """Raise unless a file ``name`` may be written; return whether it is taken.

        True means the file is there and, since ``overwrite`` is not False, will be replaced
        (False also when a remote store is asked in the background).

        Args:
            name: The file name.
            overwrite: What an existing file gets: None replaced (said once per folder), True
                replaced (then nothing is checked), False an error.
            wait: Ask a remote store now, waiting for its answer. By default (the wrappers,
                from the env loop, which never waits for the network) a remote store is asked
                in the background, and :meth:`publish` asks again before the upload.

        Raises:
            VideoExistsError: If it exists and ``overwrite`` is False.
            StorageError: If it cannot be checked, or is a folder.
        """

    @abstractmethod
    def publish(
        self, local: Path, name: str, *, overwrite: bool | None, keep_local: bool = False
    ) -> SavedPath:
        """Move the finished local file to its final place; return :meth:`final` of ``name``.

        ``keep_local`` (remote only) keeps the staged file after its upload, for a hand-off to
        read; :meth:`RemoteDestination.remove_staged` deletes it then.

        Raises:
            VideoExistsError: If the name was taken meanwhile and ``overwrite`` is False
                (the local file is kept; the message says where).
            StorageError: If it cannot be moved or uploaded (the local file is kept).
        """

    @abstractmethod
    def write_text(self, name: str, text: str) -> SavedPath:
        """Write a small text file (a sidecar, a manifest) atomically, replacing any."""

    @abstractmethod
    def read_text(self, name: str) -> str | None:
        """The text of the file ``name``, or None if there is none."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether the file ``name`` exists."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete the file ``name``, if it exists."""

    @abstractmethod
    def list_names(self) -> list[str]:
        """The names of the files directly in the folder, sorted (none if it does not exist)."""

    def remove_staged(self, local: Path) -> None:  # noqa: B027 (local: nothing is staged)
        """Delete a file published with ``keep_local=True``, once its hand-off is done."""

    def close(self) -> None:  # noqa: B027 (a local destination has nothing to clean)
        """Remove what staging left behind, if it is empty (failed uploads are kept)."""

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location!r}>"
