"""Where finished files go: a local folder, or an fsspec URL (``s3://``, ``gs://``, ``memory://``).

Every writer in rlvideo writes a local file (a hidden partial, renamed when final: see
:mod:`rlvideo.io.writer`). A :class:`Destination` decides where that file is written and where it
ends up:

- :class:`LocalDestination`, for a plain path (or a ``file://`` URL): the file is written in the
  folder itself, exactly as rlvideo always did, and publishing it is a no-op.
- :class:`RemoteDestination`, for any other fsspec URL: the file is written to a local
  *staging* folder (``rlvideo-staging-*`` under :func:`tempfile.gettempdir`, so ``TMPDIR``
  moves it) and uploaded only once it is final. On object stores (S3, GCS, Azure) a PUT is
  atomic, so it goes straight to the final key: no reader ever sees half an object. On other
  filesystems it is uploaded under a hidden temporary name and renamed. A key that exists is
  replaced by default (``overwrite=None``, said once per folder, as for a local folder) or with
  ``overwrite=True`` (quietly), and its sidecar, data track and poster are removed after the
  upload. With ``overwrite=False`` it is never replaced: ``save_video`` raises
  :class:`~rlvideo.errors.VideoExistsError` before it writes anything; the wrappers, whose env
  loop never waits for the network, ask the store in the background when a video starts (a
  warning if it is taken), and every upload asks again first, keeping the video locally and
  raising ``VideoExistsError`` for a taken key. If an upload fails, the local file is kept and the
  :class:`~rlvideo.errors.StorageError` names it; after a successful upload it is deleted
  (by the wrappers, once ``on_video_saved`` has returned: see :func:`local_file`).

Credentials and endpoints are fsspec's ``storage_options``, e.g.
``{"key": ..., "secret": ..., "client_kwargs": {"endpoint_url": ...}}`` for S3; without them
each filesystem finds its credentials as usual (environment, config files, instance roles).
fsspec (``pip install "rlvideo[cloud]"``) and the filesystem's package (``s3fs``, ``gcsfs``,
``adlfs``, ...) are imported on first use.

Example:
    >>> import numpy as np
    >>> from rlvideo import save_video
    >>> frames = np.zeros((5, 32, 32, 3), np.uint8)
    >>> save_video(frames, "memory://doctest/videos", fps=10)
    ['memory://doctest/videos/rl-video-episode-0.mp4']
    >>> videos = open_destination("memory://doctest/videos")
    >>> videos.list_names(), videos.exists("rl-video-episode-0.mp4")
    (['rl-video-episode-0.mp4'], True)
    >>> videos.remove("rl-video-episode-0.mp4")
    >>> videos.list_names()
    []
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import secrets
import shutil
import tempfile
import threading
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rlvideo._core.metadata import SavedPath
from rlvideo._core.naming import VIDEO_SUFFIXES
from rlvideo._core.optional import import_optional
from rlvideo.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    RLVideoError,
    StorageError,
    VideoExistsError,
)
from rlvideo.io._files import (
    POSTER_FOLDER,
    check_target,
    companion_names,
    publish,
    publish_video,
    say_replacing,
    told_replacing,
    write_file,
)

__all__ = [
    "Destination",
    "LocalDestination",
    "RemoteDestination",
    "SavedPath",
    "Uploader",
    "check_storage_options",
    "is_url",
    "lend_local_file",
    "local_file",
    "open_destination",
    "publish_all",
    "resolve_location",
]

logger = logging.getLogger(__name__)


# Protocols whose PUT is atomic and whose "rename" is a copy: upload straight to the final key.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "oci"})
_LOCAL = frozenset({"file", "local"})
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


_LENT: dict[str, Path] = {}  # URL -> its local copy, while on_video_saved runs


def local_file(where: SavedPath) -> Path | None:
    """A readable local file holding the video saved at ``where``, or None if there is none here.

    For a local folder that is ``where`` itself. For a URL (``video_folder="s3://..."``), the
    wrappers upload the video from a local staging file; they keep that file until
    ``on_video_saved`` returns, and while it runs this returns it, so a hand-off (a tracker,
    :mod:`rlvideo.loggers`) reads the video without downloading it. Afterwards, and for a URL
    rlvideo did not just upload (one ``save_video`` returned), it returns None: download the
    URL instead.

    Example:
        >>> local_file(Path("videos/rl-video-episode-0.mp4")).as_posix()
        'videos/rl-video-episode-0.mp4'
        >>> local_file("file:///tmp/videos/a.mp4").as_posix()
        '/tmp/videos/a.mp4'
        >>> with lend_local_file("s3://bucket/v/a.mp4", Path("/tmp/staging/a.mp4")):
        ...     local_file("s3://bucket/v/a.mp4").as_posix()
        '/tmp/staging/a.mp4'
        >>> local_file("s3://bucket/v/a.mp4") is None  # after the callback: gone
        True
    """
    text = os.fspath(where)
    if isinstance(where, Path) or not is_url(text) or text.startswith("file://"):
        return Path(_local_path(text))
    return _LENT.get(text)


@contextlib.contextmanager
def lend_local_file(where: SavedPath, local: Path | None) -> Iterator[None]:
    """Make :func:`local_file` return ``local`` for the URL ``where`` inside the ``with`` block.

    The recorder wraps each ``on_video_saved`` call in it, for remote destinations; ``local``
    None (or a local ``where``) lends nothing. The caller deletes ``local`` afterwards.
    """
    text = os.fspath(where)
    if local is None or not is_url(text) or text.startswith("file://"):
        yield
        return
    _LENT[text] = local
    try:
        yield
    finally:
        _LENT.pop(text, None)


def _strip_slashes(url: str) -> str:
    head, separator, tail = url.partition("://")
    return head + separator + tail.rstrip("/")


def _local_path(location: str) -> str:
    """A plain path, or the path of a ``file://`` URL, percent-decoded (``%20`` is a space).

    Example:
        >>> _local_path("file:///tmp/my%20videos"), _local_path("file://localhost/tmp/v")
        ('/tmp/my videos', '/tmp/v')
        >>> _local_path("runs/my%20videos")  # a plain path is taken as written
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
        return _strip_slashes(text)
    return os.path.abspath(_local_path(text))


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


def open_destination(
    location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> Destination:
    """The :class:`Destination` for a folder: local for a path, remote for an fsspec URL.

    Nothing is created or contacted yet (see :meth:`Destination.prepare`).

    Args:
        location: A local folder, a ``file://`` URL (treated as its path), or any fsspec URL
            such as ``s3://bucket/prefix``, ``gs://bucket/prefix`` or ``memory://runs``.
        storage_options: fsspec options for the filesystem (credentials, endpoint, ...). Only
            for URLs: with a local folder they are an error, since they would be ignored.

    Returns:
        A :class:`LocalDestination` or a :class:`RemoteDestination`.

    Raises:
        InvalidArgumentError: For bad ``storage_options`` or an unknown URL protocol.
        MissingDependencyError: If fsspec, or the filesystem's package (s3fs, gcsfs, ...), is
            not installed.

    Example:
        >>> open_destination("videos")
        <LocalDestination '.../videos'>
        >>> open_destination("memory://runs")
        <RemoteDestination 'memory://runs'>
    """
    options = check_storage_options(storage_options)
    text = os.fspath(location)
    if not is_url(text) or text.startswith("file://"):
        if options:
            raise InvalidArgumentError(
                f"storage_options apply to fsspec URLs such as s3://bucket/videos; {text!r} is a "
                "local folder. Drop storage_options, or give a URL."
            )
        return LocalDestination(_local_path(text))
    fsspec = import_optional("fsspec", "cloud", feature=f"video_folder {text!r}")
    try:
        fs, root = fsspec.core.url_to_fs(text, **(options or {}))
    except ImportError as exc:  # fsspec knows the protocol, its package is missing
        raise MissingDependencyError(
            f"{text} needs a filesystem package that is not installed ({exc}); "
            'pip install "rlvideo[cloud]" and the package for this protocol (s3fs, gcsfs, ...)'
        ) from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"cannot open {text}: {exc}") from exc
    except Exception as exc:  # a filesystem rejecting its options
        raise InvalidArgumentError(
            f"cannot open {text} with storage_options keys {sorted(options or {})}: {exc}"
        ) from exc
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if protocols & _LOCAL:
        return LocalDestination(root)
    return RemoteDestination(
        _strip_slashes(text), fs, root, atomic_put=bool(protocols & _ATOMIC_PUT)
    )


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


class LocalDestination(Destination):
    """A local folder: files are written in place, as rlvideo always did.

    Args:
        folder: The folder (made absolute; created by :meth:`prepare`).
    """

    remote = False

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).absolute()
        self.location = str(self.folder)

    def prepare(self) -> None:
        """Create the folder (and its parents)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                "cannot create ",
                StorageError.Term("video_folder"),
                f" {self.folder}: {exc.strerror or exc}",
                path=self.folder,
            ) from exc

    def final(self, name: str) -> Path:
        """``folder/name``."""
        return self.folder / name

    def staging_path(self, name: str, *, unique: str | None = None) -> Path:
        """``folder/name``: the writer's own partial-then-rename makes it atomic."""
        return self.folder / name

    def check_free(self, name: str, *, overwrite: bool | None, wait: bool = False) -> bool:
        """Raise unless ``folder/name`` may be written (:func:`~rlvideo.io._files.check_target`)."""
        return check_target(self.final(name), overwrite=overwrite)

    def publish(
        self, local: Path, name: str, *, overwrite: bool | None, keep_local: bool = False
    ) -> Path:
        """Nothing to do when ``local`` is ``folder/name`` already; else move it there.

        A replaced file's sidecar, data track and poster are removed (the writer removed them
        when ``local`` is ``folder/name``).
        """
        target = self.final(name)
        if Path(local).absolute() == target:
            return target
        try:
            move = publish_video if name.endswith(VIDEO_SUFFIXES) else publish
            move(local, target, overwrite=overwrite)
        except FileExistsError:
            raise VideoExistsError.for_path(target, kept_at=local) from None
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write to a hidden temporary file, then rename it over ``folder/name``."""
        return write_file(self.final(name), text)

    def read_text(self, name: str) -> str | None:
        """The file's text, or None if there is no such file."""
        path = self.final(name)
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def exists(self, name: str) -> bool:
        """Whether ``folder/name`` exists."""
        return self.final(name).exists()

    def remove(self, name: str) -> None:
        """Delete ``folder/name`` if it exists."""
        self.final(name).unlink(missing_ok=True)

    def list_names(self) -> list[str]:
        """The files directly in the folder."""
        if not self.folder.is_dir():
            return []
        return sorted(path.name for path in self.folder.iterdir() if path.is_file())


class RemoteDestination(Destination):
    """An fsspec URL: files are staged locally and uploaded once final.

    Args:
        url: The folder's URL, as the user gave it (used for every URL returned).
        fs: The fsspec filesystem.
        root: The folder's path on ``fs`` (the URL without its protocol).
        atomic_put: Upload straight to the final key (object stores, where a PUT is atomic
            and a rename is a copy); otherwise upload under a hidden name and rename.
    """

    remote = True

    def __init__(self, url: str, fs: Any, root: str, *, atomic_put: bool) -> None:
        self.location = url
        self.fs = fs
        self.root = root.rstrip("/")
        self.atomic_put = atomic_put
        self._staging: Path | None = None
        self._checks: _BackgroundChecks | None = None

    # -- names -----------------------------------------------------------------------------------
    def key(self, name: str) -> str:
        """The path of ``name`` on the filesystem."""
        return f"{self.root}/{name}"

    def final(self, name: str) -> str:
        """The URL of ``name``: ``<url>/<name>``."""
        return f"{self.location}/{name}"

    @property
    def staging(self) -> Path:
        """The local staging folder (created on first use)."""
        if self._staging is None:
            try:
                self._staging = Path(tempfile.mkdtemp(prefix="rlvideo-staging-"))
            except OSError as exc:
                raise StorageError(
                    f"cannot create a local staging folder for {self.location} in "
                    f"{tempfile.gettempdir()} (set TMPDIR to move it): {exc.strerror or exc}"
                ) from exc
        return self._staging

    def staging_path(self, name: str, *, unique: str | None = None) -> Path:
        """``<staging>/[unique/]name``."""
        folder = self.staging if unique is None else self.staging / unique
        folder.mkdir(exist_ok=True)
        return folder / name

    # -- checks and transfers ------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folder on filesystems that have folders (never a bucket)."""
        if self.atomic_put:
            return  # object stores have no folders; creating the bucket is not ours to do
        self._call(f"cannot create {self.location}", self.fs.makedirs, self.root, exist_ok=True)

    def check_free(self, name: str, *, overwrite: bool | None, wait: bool = False) -> bool:
        """Raise :class:`VideoExistsError` if the key exists and ``overwrite`` is False.

        With ``overwrite=None`` a taken key is said once per folder (it will be replaced); with
        True nothing is asked. Without ``wait`` the store is asked on a background thread and
        this returns at once: a store that hangs never stalls the caller (the env loop). A key
        found taken there is logged at once; with ``overwrite=False`` the video is recorded all
        the same, never uploaded over the key (:meth:`publish` asks again), and kept in the
        staging folder, named by the :class:`VideoExistsError` that :meth:`publish` raises.
        """
        if overwrite is True:
            return False  # not asked
        if not wait:
            if self._checks is None:
                self._checks = _BackgroundChecks(self)
            self._checks.ask(name, overwrite)
            return False
        if self.exists(name):
            self.taken(name, overwrite)
            return True
        return False

    def taken(self, name: str, overwrite: bool | None) -> None:
        """The key ``name`` exists: say it will be replaced (None), or raise (False).

        Raises:
            VideoExistsError: If ``overwrite`` is False.
        """
        if overwrite is None:
            if told_replacing(self.location):  # said once: no listing of the store again
                return
            try:
                files: int | None = len(self.list_names())
            except StorageError:  # a key may be readable in a folder that cannot be listed
                files = None
            say_replacing(self.location, files)
        else:
            raise VideoExistsError.for_path(self.final(name))

    def publish(
        self, local: Path, name: str, *, overwrite: bool | None, keep_local: bool = False
    ) -> str:
        """Check the key again, upload ``local``, then delete it (and its staging sub-folder).

        With ``keep_local`` the staged file stays, for :meth:`remove_staged` to delete later.
        A replaced key's sidecar, data track and poster are removed after the upload (the new
        ones are written after this returns).
        """
        video = name.endswith(VIDEO_SUFFIXES)  # a data track is published here too
        replacing = (video or overwrite is False) and self.exists(name)
        if replacing and overwrite is False:
            raise VideoExistsError.for_path(self.final(name), kept_at=local)
        url = self.upload(local, name)
        logger.info("uploaded %s (%d bytes)", url, local.stat().st_size)
        if replacing and video:  # the new video is up: a stale companion left is only logged
            for companion in [*companion_names(name), f"{POSTER_FOLDER}/{name}.png"]:
                try:
                    self.remove(companion)
                except StorageError as exc:  # e.g. a bucket that allows writes, not deletes
                    logger.warning("%s; it may describe the video it replaced", exc)
        if not keep_local:
            self.remove_staged(local)
        return url

    def remove_staged(self, local: Path) -> None:
        """Delete an uploaded staging file, and its unique sub-folder once empty."""
        local.unlink(missing_ok=True)
        if self._staging is not None and local.parent != self._staging:
            with contextlib.suppress(OSError):  # a unique sub-folder, empty now
                local.parent.rmdir()

    def upload(self, local: Path, name: str) -> str:
        """Copy ``local`` to ``name`` (replacing it), keeping ``local``; return the URL.

        Raises:
            StorageError: If the upload fails; ``local`` is untouched and the message names it.
        """
        try:
            self._put(lambda key: self.fs.put_file(str(local), key), name)
        except Exception as exc:
            raise StorageError(
                f"could not upload {local} to {self.final(name)}: {_reason(exc)}. The file is "
                f"kept at {local}."
            ) from exc
        return self.final(name)

    def download(self, name: str, local: Path) -> Path:
        """Copy the file ``name`` to ``local``."""
        self._call(
            f"cannot download {self.final(name)}", self.fs.get_file, self.key(name), str(local)
        )
        return local

    def write_text(self, name: str, text: str) -> str:
        """Write ``text`` to ``name`` in one PUT (or upload-then-rename)."""
        data = text.encode("utf-8")
        try:
            self._put(lambda key: self.fs.pipe_file(key, data), name)
        except Exception as exc:
            raise StorageError(f"could not write {self.final(name)}: {_reason(exc)}") from exc
        return self.final(name)

    def read_text(self, name: str) -> str | None:
        """The object's text, or None if there is none."""
        try:
            data: bytes = self.fs.cat_file(self.key(name))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(f"cannot read {self.final(name)}: {_reason(exc)}") from exc
        return data.decode("utf-8")

    def exists(self, name: str) -> bool:
        """Whether the key exists, asked of the store (never of fsspec's listing cache)."""
        key = self.key(name)
        self.fs.invalidate_cache(key)
        return bool(
            self._call(f"cannot check whether {self.final(name)} exists", self.fs.exists, key)
        )

    def remove(self, name: str) -> None:
        """Delete the key, if it exists."""
        try:
            self.fs.rm_file(self.key(name))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise StorageError(f"cannot delete {self.final(name)}: {_reason(exc)}") from exc

    def list_names(self) -> list[str]:
        """The files directly under the URL."""
        self.fs.invalidate_cache(self.root)
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise StorageError(f"cannot list {self.location}: {_reason(exc)}") from exc
        return sorted(
            str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            for entry in entries
            if entry.get("type") == "file"
        )

    def close(self) -> None:
        """Delete the staging folder if uploads emptied it; otherwise say what it still holds.

        Background checks of keys (see :meth:`check_free`) are waited for first.
        """
        checks, self._checks = self._checks, None
        if checks is not None:
            checks.stop()
        staging, self._staging = self._staging, None
        if staging is None or not staging.exists():
            return
        for folder in sorted((p for p in staging.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty ones go
        left = sorted(p for p in staging.rglob("*") if p.is_file())
        if not left:
            shutil.rmtree(staging, ignore_errors=True)
            return
        logger.warning(
            "%d file(s) for %s were not uploaded and are kept in %s: %s",
            len(left), self.location, staging, ", ".join(str(p.relative_to(staging)) for p in left),
        )  # fmt: skip

    # -- internals -------------------------------------------------------------------------------
    def _put(self, put: Any, name: str) -> None:
        """Run ``put(key)`` atomically: to the key itself, or to a hidden name then renamed."""
        key = self.key(name)
        if self.atomic_put:
            put(key)
            return
        parent, _, base = key.rpartition("/")
        self.fs.makedirs(parent or "/", exist_ok=True)
        temporary = f"{parent}/.{base}.{secrets.token_hex(4)}.uploading"
        put(temporary)
        try:
            self.fs.mv(temporary, key)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(temporary)
            raise

    def _call(self, what: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a filesystem call, turning its errors into :class:`StorageError`."""
        try:
            return action(*args, **kwargs)
        except RLVideoError:
            raise
        except Exception as exc:
            raise StorageError(f"{what}: {_reason(exc)}") from exc


class _BackgroundChecks:
    """Asks a store whether keys exist, one at a time, on a daemon thread of its own.

    A store that hangs holds up this thread only: never the caller, nor the interpreter's exit.
    """

    _STOP: tuple[str, bool | None] = ("", None)

    def __init__(self, destination: RemoteDestination) -> None:
        self._destination = destination
        self._names: queue.SimpleQueue[tuple[str, bool | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="rlvideo-check", daemon=True)
        self._thread.start()

    def ask(self, name: str, overwrite: bool | None) -> None:
        """Check ``name`` when the thread gets to it; a taken key is logged as a warning."""
        self._names.put((name, overwrite))

    def stop(self) -> None:
        """End the thread once the checks asked for are done, and wait for it.

        Called by :meth:`RemoteDestination.close`, after the uploads, which ask the same store:
        their answers came, so these did too (a hung store holds up both).
        """
        self._names.put(self._STOP)
        self._thread.join()

    def _run(self) -> None:
        while (asked := self._names.get()) != self._STOP:
            name, overwrite = asked
            url = self._destination.final(name)
            try:
                taken = self._destination.exists(name)
                if taken and overwrite is None:
                    self._destination.taken(name, overwrite)
                    continue
            except StorageError as exc:
                logger.warning("%s; it is checked again before the upload", exc)
                continue
            if taken:
                logger.warning(
                    "%s already exists: the video being recorded under that name will not "
                    "replace it. When it ends it is kept in the local staging folder and "
                    "VideoExistsError names it. Pass overwrite=True to replace it, or choose "
                    "another name_prefix.",
                    url,
                )


def _reason(exc: BaseException) -> str:
    """An exception as one line: its type and message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Uploader:
    """Moves finished files to their :class:`Destination`: the one way rlvideo publishes them.

    On a local destination a file is published at once (a rename at most) and its future is
    done when :meth:`submit` returns. On a remote one it is uploaded by one background thread,
    in the order submitted, so a caller that must not wait (the recorder under the wrappers)
    collects the futures later, and ``save_video`` waits for them (:func:`publish_all`). A
    file's sidecar, when given, is written after the file.

    Args:
        destination: Where the files go.
    """

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self._pool: ThreadPoolExecutor | None = None

    def submit(
        self,
        local: Path,
        *,
        overwrite: bool | None,
        sidecar: tuple[str, str] | None = None,
        keep_local: bool = False,
    ) -> Future[SavedPath]:
        """Publish ``local`` under its own name; ``sidecar`` is ``(name, text)`` to write after.

        The future holds where the file ended up, or the :class:`StorageError` (or
        :class:`VideoExistsError`) that kept it from getting there; the local file is then kept.
        ``keep_local`` keeps an uploaded file too (see :meth:`Destination.publish`).
        """
        if not self.destination.remote:
            done: Future[SavedPath] = Future()
            try:
                done.set_result(self._publish(local, overwrite, sidecar, keep_local))
            except Exception as exc:
                done.set_exception(exc)
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlvideo-upload")
        return self._pool.submit(self._publish, local, overwrite, sidecar, keep_local)

    def close(self) -> None:
        """Wait for every upload and stop the upload thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _publish(
        self, local: Path, overwrite: bool | None, sidecar: tuple[str, str] | None, keep_local: bool
    ) -> SavedPath:
        where = self.destination.publish(
            local, local.name, overwrite=overwrite, keep_local=keep_local
        )
        if sidecar is not None:
            self.destination.write_text(*sidecar)
        return where


def publish_all(
    destination: Destination, files: list[Path], *, overwrite: bool | None
) -> list[SavedPath]:
    """Publish every file, waiting; raise the first failure once all were tried.

    A failed upload does not stop the others: every file that can reach the destination does,
    and the ones that cannot stay in the local staging folder, named in the error.

    Raises:
        StorageError: If a file could not be published (one error names it; several: a count).
    """
    uploader = Uploader(destination)
    try:
        futures = [uploader.submit(path, overwrite=overwrite) for path in files]
        saved: list[SavedPath] = []
        errors: list[StorageError] = []
        for future in futures:
            try:
                saved.append(future.result())
            except StorageError as exc:  # VideoExistsError too
                logger.error("%s", exc)
                errors.append(exc)
    finally:
        uploader.close()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise StorageError(
            f"{len(errors)} of {len(files)} videos could not be uploaded; the first: {errors[0]}"
        ) from errors[0]
    return saved
