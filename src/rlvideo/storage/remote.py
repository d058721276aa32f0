"""An fsspec URL as a destination: files staged locally, uploaded once final.

On object stores (S3, GCS, Azure) a PUT is atomic, so a file goes straight to its final key;
on other filesystems it is uploaded under a hidden temporary name and renamed. Whether a key is
taken is asked in the background when a video starts (:class:`_BackgroundChecks`), and again
before each upload. :func:`open_destination` turns any location into its destination.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlvideo._core.naming import VIDEO_SUFFIXES
from rlvideo._core.optional import import_optional
from rlvideo.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    RLVideoError,
    StorageError,
    VideoExistsError,
)
from rlvideo.io._files import POSTER_FOLDER, companion_names, say_replacing, told_replacing
from rlvideo.storage.destination import (
    Destination,
    check_storage_options,
    is_url,
    local_path,
    strip_slashes,
)
from rlvideo.storage.local import LocalDestination

__all__ = ["RemoteDestination", "open_destination"]

logger = logging.getLogger("rlvideo.storage")

# Protocols whose PUT is atomic and whose "rename" is a copy: upload straight to the final key.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "oci"})
_LOCAL = frozenset({"file", "local"})


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
        return LocalDestination(local_path(text))
    feature = (MissingDependencyError.Term("video_folder"), f" {text!r}")  # --out in the CLI
    fsspec = import_optional("fsspec", "cloud", feature=feature)
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
        strip_slashes(text), fs, root, atomic_put=bool(protocols & _ATOMIC_PUT)
    )


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
